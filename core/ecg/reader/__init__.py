"""The ECG page reader: from a photo, scan or render of a 12-lead ECG to per-lead signals in mV.

``read_page(image)`` runs the stages (sheet → grid → traces → layout → signals → quality), each of
which reports quality numbers and why it fell back; ``records`` writes the signals (CSV, WFDB,
JSON) and ``lead_snr`` scores a digitisation against known signals.
"""
from core.ecg.reader.cache import read_page_cached
from core.ecg.reader.grid import Grid, find_grid
from core.ecg.reader.layout import Layout, Segment, find_layout
from core.ecg.reader.quality import PageQuality, assess, law_ratio, lead_rate
from core.ecg.reader.reading import WORK_PX_PER_MM, PageReading, read_page, to_rgb
from core.ecg.reader.records import (
                                     signal_matrix,
                                     signals_json,
                                     wfdb_zip_bytes,
                                     write_csv,
                                     write_json,
                                     write_wfdb,
)
from core.ecg.reader.scoring import lead_snr
from core.ecg.reader.sheet import Sheet, find_sheet
from core.ecg.reader.signals import FS, LeadSignal, read_signals
from core.ecg.reader.traces import Traces, find_traces

__all__ = [
    "FS", "WORK_PX_PER_MM", "Grid", "Layout", "LeadSignal", "PageQuality", "PageReading", "Segment", "Sheet",
    "Traces", "assess", "find_grid", "find_layout", "find_sheet", "find_traces", "law_ratio", "lead_rate",
    "lead_snr", "read_page", "read_page_cached", "read_signals", "to_rgb", "signal_matrix", "signals_json", "wfdb_zip_bytes", "write_csv",
    "write_json", "write_wfdb",
]
