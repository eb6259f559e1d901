"""``python -m core predict``: one JSON object per image, bad files reported, exit codes, overlays."""
from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from core.cli import main


def _pages(tiny_dataset: Path) -> list[str]:
    return [str(sorted((tiny_dataset / cls).glob("*.jpg"))[0]) for cls in ("Myocardial Infarction", "Normal")]


def test_json_line_per_image_with_calibrated_probabilities(tiny_bundle, tiny_dataset, capsys):
    pages = _pages(tiny_dataset)
    assert main(["predict", "--model", str(tiny_bundle), *pages, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["file"] for r in rows] == pages
    classes = json.loads((tiny_bundle / "metadata.json").read_text())["classes"]
    for row in rows:
        assert set(row) >= {"file", "predicted", "confidence", "probabilities", "status", "risk"}
        assert list(row["probabilities"]) == classes
        assert abs(sum(row["probabilities"].values()) - 1) < 1e-3
        assert row["predicted"] == max(row["probabilities"], key=row["probabilities"].get)
        assert row["confidence"] == max(row["probabilities"].values())
        assert row["status"] in ("CONFIDENT", "UNCERTAIN", "NOT AN ECG")
        check = row["ecg_check"]
        assert check["outcome"] in ("not_ecg", "ecg_outside_domain", "ecg") and 0 <= check["score"] <= 1
        assert {"grid", "trace_rows", "beat_shape", "lead_laws"} <= set(check["evidence"])
        assert all(0 <= e["strength"] <= 1 and e["detail"] for e in check["evidence"].values())
        assert isinstance(row["readable"], bool)
        # No risk level for what is not an ECG, nor for an ECG the model does not know.
        assert (row["risk"] is None) == (row["status"] == "NOT AN ECG" or check["outcome"] == "ecg_outside_domain")
        assert (row["status"] == "NOT AN ECG") == (check["outcome"] == "not_ecg")


def test_bad_file_gets_an_error_object_and_the_others_still_run(tiny_bundle, tiny_dataset, tmp_path, capsys):
    broken = tmp_path / "notes.png"
    broken.write_text("this is not an image")
    missing = tmp_path / "missing.jpg"
    page = _pages(tiny_dataset)[0]
    assert main(["predict", "--model", str(tiny_bundle), str(broken), page, str(missing), "--json"]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["file"] for r in rows] == [str(broken), page, str(missing)]
    assert set(rows[0]) == {"file", "error"} and "notes.png" in rows[0]["error"]
    assert "predicted" in rows[1]
    assert set(rows[2]) == {"file", "error"} and "missing.jpg" in rows[2]["error"]


def test_cam_writes_an_overlay_of_the_original_size(tiny_bundle, tiny_dataset, tmp_path, capsys):
    page = _pages(tiny_dataset)[0]
    out = tmp_path / "cams"
    assert main(["predict", "--model", str(tiny_bundle), page, page, "--cam", str(out), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    paths = [Path(r["cam"]) for r in rows]
    assert paths[0] != paths[1] and all(p.parent == out and p.is_file() for p in paths)
    assert Image.open(paths[0]).size == Image.open(page).size


def test_plain_text_output_and_a_missing_model(tiny_bundle, tiny_dataset, tmp_path, capsys):
    page = _pages(tiny_dataset)[0]
    assert main(["predict", "--model", str(tiny_bundle), page]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{page}: ") and "%" in line and ("CONFIDENT" in line or "UNCERTAIN" in line or "NOT AN ECG" in line)
    assert main(["predict", "--model", str(tmp_path / "nope"), page]) == 2
    assert "error:" in capsys.readouterr().err
