"""The signals view shared by Explore and Predict: what the page reader found on an image — its traces
drawn over the page, the twelve leads plotted as an ECG, and the reader's own quality checks
explained for students, with the signals to download."""
from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from core.charts import twelve_lead_chart
from core.errors import USER_ERRORS
from pages.common import escape, report_error


@st.cache_resource(max_entries=16, show_spinner="Reading the ECG: sheet, grid, traces, layout, signals…")
def _read(digest: str, _data: bytes):
    """One reading per image content, shared by every session (a class often opens the same page)."""
    from core.ecg.reader import read_page

    return read_page(_data)


def read_image(name: str, data: bytes):
    """The page reader's result for ``data``, or None after saying why the file could not be opened."""
    try:
        return _read(hashlib.sha1(data).hexdigest(), data)
    except USER_ERRORS as exc:
        st.error(f"Could not read **{escape(name)}**: {escape(exc)}")
    except Exception as exc:
        report_error(f"reading the ECG on {name}", exc)
    return None


def show_summary(reading) -> None:
    cols = st.columns(4)
    cols[0].metric("Layout", reading.layout if reading.layout != "none" else "—",
                   help="How the leads are arranged: 3x4 (+ rhythm strips), 6x2 or 12x1.")
    cols[1].metric("Leads read", len(reading.leads))
    rate = reading.heart_rate_bpm
    cols[2].metric("Heart rate", f"{rate:.0f} bpm" if rate else "—",
                   help="Median over the leads of the rate counted from their R peaks.")
    ratio = reading.qc.get("einthoven_ratio")
    cols[3].metric("Einthoven residual", f"{ratio:.2f}" if ratio is not None else "—",
                   help="How far I + III − II is from zero, over the size of the leads: near 0 for a good reading.")
    if reading.readable:
        st.success("The reader found a readable ECG and checked it against the laws the leads obey.",
                   icon=":material/check_circle:")
    else:
        st.warning("The reader could not read this page as a 12-lead ECG: "
                   + "; ".join(escape(r) for r in reading.reasons) + ".", icon=":material/warning:")


def show_downloads(reading, name: str, key: str) -> None:
    from core.ecg.reader import wfdb_zip_bytes
    from core.ecg.reader.records import signals_frame

    stem = Path(name).stem or "ecg"

    def csv() -> bytes:
        wide = signals_frame(reading.leads, every=1).pivot_table(index="time_s", columns="lead", values="mv",
                                                                 dropna=False)
        return wide.to_csv().encode("utf-8")

    # Both files are built on click, not on every rerun of every session that shows the signals.
    left, right = st.columns(2)
    left.download_button("Signals (CSV, mV at 500 Hz)", csv,
                         file_name=f"{stem}-signals.csv", mime="text/csv", on_click="ignore",
                         icon=":material/download:", key=f"{key}_csv")
    right.download_button("Signals (WFDB record, zip)", lambda: wfdb_zip_bytes(reading.leads, record_name=stem),
                          file_name=f"{stem}-wfdb.zip", mime="application/zip", on_click="ignore",
                          icon=":material/download:", key=f"{key}_wfdb",
                          help="A PhysioNet record (.hea + .dat) that ECG tools such as WFDB and LightWAVE open.")


def show_signals(name: str, data: bytes, *, key: str, downloads: bool = False, reading=None):
    """Show what the page reader found on ``data`` (read here unless ``reading`` is given, e.g. by
    a prediction that already read the page); returns the reading (None when the file cannot be opened)."""
    from core.ecg.reader.overlay import trace_overlay
    from core.ecg.reader.records import signals_frame
    from core.teach import quality_table

    reading = reading or read_image(name, data)
    if reading is None:
        return None
    show_summary(reading)
    picture = trace_overlay(reading)
    if picture is not None:
        st.image(picture, caption="The traces the reader followed, one colour per lead, over the page it "
                 "straightened (grey: ink it did not use — labels, pulses, separators).", width="stretch")
    if reading.leads:
        st.markdown("**The twelve leads as signals** (mV against time, on 0.2 s × 0.5 mV grid lines):")
        st.altair_chart(twelve_lead_chart(signals_frame(reading.leads)), width="content")
    with st.expander("How the reader checks itself", expanded=not reading.readable):
        st.markdown("No one told the reader what the signals should be. It checks them with the physics of "
                    "the ECG: leads recorded at the same moment must add up, and every lead must show the "
                    "same heart rate.")
        st.dataframe(quality_table(reading.qc), hide_index=True, width="stretch",
                     column_config={"what it means": st.column_config.TextColumn(width="large")})
    if downloads and reading.leads:
        show_downloads(reading, name, key)
    return reading
