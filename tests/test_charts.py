"""Chart builders' shapes that users see: the signal plots fit the page's column."""
from __future__ import annotations

import numpy as np

from core.charts import PRINT_ORDER, twelve_lead_chart
from core.ecg.reader import LeadSignal
from core.ecg.reader.records import signals_frame

PAGE_COLUMN_PX = 800        # Streamlit's main column on a 1280 px screen with the sidebar open


def _row_width(row: dict) -> int:
    panels = row.get("hconcat", [row])
    return sum(p["width"] for p in panels) + row.get("spacing", 0) * (len(panels) - 1)


def test_the_twelve_lead_plot_fits_the_page_column():
    t = np.arange(1250) / 500
    leads = {name: LeadSignal(name, 2.5 * (i // 3), 500, np.sin(2 * np.pi * t)) for i, name in enumerate(PRINT_ORDER)}
    leads["II-rhythm"] = LeadSignal("II-rhythm", 0.0, 500, np.sin(2 * np.pi * np.arange(5000) / 500))
    spec = twelve_lead_chart(signals_frame(leads)).to_dict()
    widths = [_row_width(row) for row in spec["vconcat"]]
    assert len(widths) == 4 and max(widths) <= PAGE_COLUMN_PX, widths
