"""``python -m core digitize``: one JSON object per image with the reading, signals written in three
formats, an image that is not an ECG answered with reasons, a file that is not an image reported."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli import main

KEYS = {"file", "readable", "reasons", "layout", "px_per_mm", "heart_rate_bpm", "leads", "qc"}


@pytest.fixture(scope="module")
def ecg_page(tmp_path_factory) -> Path:
    """A clean synthetic 3x4+1 page of a normal ECG (the generator's SE-3 template)."""
    from core.synth import render_example

    image, row = render_example("Normal", 0)
    assert row["layout"] == "se3" and not row["photo"]     # the SE-3 template prints 3x4+1
    path = tmp_path_factory.mktemp("pages") / "normal page.png"
    image.save(path)
    return path


def rows_of(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_page_a_blank_image_and_a_text_file(ecg_page, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (1106, 786), (250, 235, 235)).save(blank)
    notes = tmp_path / "notes.jpg"
    notes.write_text("minutes of the meeting")
    assert main(["digitize", str(ecg_page), str(blank), str(notes), "--json"]) == 1

    page, flat, text = rows_of(capsys)
    assert set(page) >= KEYS and page["file"] == str(ecg_page)
    assert page["readable"] is True and page["reasons"] == []
    assert page["layout"] == "3x4+1"
    assert {"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"} <= set(page["leads"])
    assert all(lead["fs"] == 500 and lead["coverage"] > 0.7 for lead in page["leads"].values())
    assert page["leads"]["aVR"]["start_s"] == pytest.approx(2.5, abs=0.1)
    assert page["qc"]["einthoven_ratio"] < 0.35        # 0.31: the page is printed 1.7° turned and squared back
    assert 30 < page["heart_rate_bpm"] < 200

    assert flat["readable"] is False and flat["reasons"] and flat["leads"] == {}
    assert set(text) == {"file", "error"} and "notes.jpg" in text["error"] and "not an image" in text["error"]


@pytest.mark.parametrize("fmt", ["csv", "wfdb", "json"])
def test_signals_are_written_in_each_format(ecg_page, tmp_path, capsys, fmt):
    out = tmp_path / "signals"
    assert main(["digitize", str(ecg_page), "--out", str(out), "--format", fmt, "--json"]) == 0
    (row,) = rows_of(capsys)
    written = Path(row["signals"])
    assert written.parent == out and written.exists()
    if fmt == "csv":
        with written.open() as f:
            header = next(csv.reader(f))
            n_rows = sum(1 for _ in f)
        assert header[0] == "time_s" and {"I", "V6"} <= set(header)
        assert n_rows == pytest.approx(10 * 500, rel=0.05)      # 10 s at 500 Hz on one time axis
    elif fmt == "wfdb":
        import wfdb

        record = wfdb.rdrecord(str(written.with_suffix("")))
        assert record.fs == 500 and "II" in record.sig_name and set(record.units) == {"mV"}
        ii = record.p_signal[:, record.sig_name.index("II")]
        assert np.nanmax(ii) - np.nanmin(ii) > 0.5                # a QRS of at least half a millivolt
    else:
        payload = json.loads(written.read_text())
        assert payload["reading"]["layout"] == "3x4+1" and len(payload["leads"]["V1"]["mv"]) > 1000


def test_two_images_with_one_name_do_not_overwrite_each_other(ecg_page, tmp_path, capsys):
    other = tmp_path / "copy" / ecg_page.name
    other.parent.mkdir()
    other.write_bytes(ecg_page.read_bytes())
    assert main(["digitize", str(ecg_page), str(other), "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["normal_page.csv", "normal_page2.csv"]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("3x4+1, 13 leads" in line or "3x4+1, 12 leads" in line for line in lines)
