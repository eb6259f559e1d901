"""The synthetic dataset: files and findings table, determinism, clinical placement, geometry."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.classes import ABNORMAL, CANONICAL_CLASSES, ECG_CLASSES, HISTORY_OF_MI, MI, NON_ECG, NORMAL
from core.synth import (GENERATOR_VERSION, LEADS, TERRITORIES, builtin_dataset, generate_dataset, render_example,
                        render_page, synthesize_ecg)
from core.synth.layout import se3_style
from core.synth.nonecg import KINDS, render_non_ecg

SMALL = (553, 393)
PER_CLASS = 2


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("synth") / "set"
    return root, generate_dataset(root, per_class=PER_CLASS, seed=7, page_size=SMALL, workers=1)


def test_writes_class_folders_pages_and_one_row_per_page(small_set):
    root, frame = small_set
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(CANONICAL_CLASSES)
    assert len(frame) == PER_CLASS * len(CANONICAL_CLASSES)
    for row in frame.itertuples():
        with Image.open(root / row.path) as image:
            assert image.format == "JPEG" and image.size == SMALL and image.mode == "RGB"
        assert Path(row.path).parent.name == row._2          # folder is the class name
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.jpg"))
    assert on_disk == sorted(frame["path"])
    csv = pd.read_csv(root / "findings.csv", keep_default_na=False)
    records = json.loads((root / "findings.json").read_text())
    assert list(csv["path"]) == [r["path"] for r in records] == list(frame["path"])
    assert list(csv.columns) == ["path", "class", "finding", "territory", "leads", "rhythm", "heart_rate",
                                 "layout", "photo", "grid_box", "lead_boxes", "seed"]


def test_same_seed_is_byte_identical_whatever_the_workers(small_set, tmp_path):
    root, _ = small_set
    again = tmp_path / "again"
    generate_dataset(again, per_class=PER_CLASS, seed=7, page_size=SMALL, workers=2)
    assert _hashes(again) == _hashes(root)


def test_different_seed_gives_different_pages(small_set, tmp_path):
    root, _ = small_set
    other = tmp_path / "other"
    generate_dataset(other, per_class=PER_CLASS, seed=8, page_size=SMALL, workers=1, classes=(MI,))
    mine, theirs = _hashes(root), _hashes(other)
    pages = [k for k in theirs if k.endswith(".jpg")]
    assert pages and all(mine[k] != theirs[k] for k in pages)


def test_rows_redraw_with_render_example(small_set):
    root, frame = small_set
    row = frame.iloc[-1]
    image, info = render_example(row["class"], int(row["seed"]), page_size=SMALL)
    assert info["layout"] == row["layout"] and image.size == SMALL


def test_findings_name_leads_of_one_territory_or_none(small_set):
    _, frame = small_set
    for row in frame.itertuples(index=False):
        leads = set(row.leads.split(";")) if row.leads else set()
        cls = getattr(row, "_1")
        if cls in (MI, HISTORY_OF_MI):
            assert leads == set(TERRITORIES[row.territory]), row
        elif cls == ABNORMAL:
            assert leads == set(LEADS) and row.rhythm != "sinus rhythm"
        else:
            assert leads == set() and row.territory == ""


def test_mi_and_old_mi_stay_in_one_territory_across_many_seeds():
    for seed in range(30):
        for cls in (MI, HISTORY_OF_MI):
            ecg = synthesize_ecg(cls, np.random.default_rng(seed))
            assert ecg.territory in TERRITORIES and ecg.finding_leads == TERRITORIES[ecg.territory]
        normal = synthesize_ecg(NORMAL, np.random.default_rng(seed))
        assert normal.finding_leads == () and 58 <= normal.heart_rate <= 102


def test_abnormal_rhythms_are_ones_a_student_can_see():
    # First-degree AV block is not drawn (a pixel or two of PR at demo sizes); rate disorders sit
    # well clear of the 60-100 bpm of normal pages.
    rhythms = set()
    for seed in range(60):
        ecg = synthesize_ecg(ABNORMAL, np.random.default_rng(seed))
        rhythms.add(ecg.rhythm.split(",")[0])
        assert "first-degree" not in ecg.rhythm
        if ecg.rhythm == "sinus bradycardia":
            assert ecg.heart_rate <= 50, ecg
        if ecg.rhythm == "sinus tachycardia":
            assert ecg.heart_rate >= 112, ecg
    assert rhythms == {"atrial fibrillation", "sinus rhythm with premature ventricular complexes",
                       "sinus bradycardia", "sinus tachycardia", "second-degree AV block"}


def test_lead_boxes_lie_inside_the_page_and_the_grid(small_set):
    _, frame = small_set
    ecg_rows = frame[frame["class"] != NON_ECG]
    for row in ecg_rows.itertuples(index=False):
        gx0, gy0, gx1, gy1 = json.loads(row.grid_box)
        boxes = json.loads(row.lead_boxes)
        assert set(LEADS) <= set(boxes)
        for x0, y0, x1, y1 in boxes.values():
            assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
            assert gx0 <= x0 and gy0 <= y0 and x1 <= gx1 and y1 <= gy1
    non_ecg = frame[frame["class"] == NON_ECG]
    assert (non_ecg["grid_box"] == "[]").all() and (non_ecg["lead_boxes"] == "{}").all()


def _trace_level_mm(image: Image.Image, boxes, leads) -> float:
    """Mean height of the printed trace above the lead's zero line, QRS extremes trimmed, in mm."""
    gray = np.asarray(image.convert("L"), np.float32)
    h, w = gray.shape
    mm = (boxes.grid_box[2] - boxes.grid_box[0]) * w / 267.5     # the layout's grid width in mm
    levels = []
    for lead in leads:
        x0, y0, x1, y1 = boxes.lead_boxes[lead]
        left, right = int((x0 + 0.1 * (x1 - x0)) * w), int(x1 * w) - 2    # skip the label
        top, bottom = int(y0 * h), int(y1 * h)
        ink = gray[top:bottom, left:right] < 100
        rows = np.arange(top, bottom)[:, None]
        count = ink.sum(0)
        trace_y = (ink * rows).sum(0)[count > 0] / count[count > 0]
        height = np.sort((y0 + 0.6 * (y1 - y0)) * h - trace_y)   # rows put 0 mV at 60% of their band
        cut = len(height) // 5
        levels.append(height[cut:-cut].mean() / mm)
    return float(np.mean(levels))


def test_st_elevation_is_visible_in_the_printed_territory_leads():
    levels = {}
    for cls in (MI, NORMAL, HISTORY_OF_MI):
        levels[cls] = []
        for seed in range(8):
            rng = np.random.default_rng(seed)
            ecg = synthesize_ecg(cls, rng)
            territory = ecg.territory or sorted(TERRITORIES)[seed % 3]
            image, boxes = render_page(ecg, se3_style(), rng, SMALL)
            levels[cls].append(_trace_level_mm(image, boxes, TERRITORIES[territory]))
    normal = np.array(levels[NORMAL])
    # Textbook STEMI (3-6 mm): every MI page clearly above the normal ones.
    assert min(levels[MI]) > np.median(normal) + 1.0, levels
    assert np.mean(levels[MI]) > normal.mean() + 1.4, levels
    assert np.mean(levels[HISTORY_OF_MI]) < normal.mean() - 0.4, levels   # inverted T waves


def _thin_vertical_strokes(image: Image.Image) -> int:
    """Count short, thin, dark vertical strokes (3-25 mm at SMALL size): QRS complexes look like this."""
    gray = np.asarray(image.convert("L"), np.int16)
    thin = (gray[:, 2:-2] < gray[:, :-4] - 40) & (gray[:, 2:-2] < gray[:, 4:] - 40)
    edges = np.diff(np.pad(thin, ((1, 1), (0, 0))).astype(np.int8), axis=0)
    starts, ends = np.nonzero(edges.T == 1), np.nonzero(edges.T == -1)
    lengths = ends[1] - starts[1]                 # both come column by column, top to bottom
    return int(((lengths >= 6) & (lengths <= 50)).sum())


def test_non_ecg_images_differ_measurably_from_ecg_pages():
    ecg = np.array([_thin_vertical_strokes(render_example(ECG_CLASSES[s % 4], s, page_size=SMALL)[0]) for s in range(24)])
    other = np.array([_thin_vertical_strokes(render_example(NON_ECG, s, page_size=SMALL)[0]) for s in range(24)])
    assert np.median(ecg) > 10 * np.median(other), (ecg, other)
    assert (ecg > 40).mean() >= 0.85 and (other <= 40).mean() >= 0.65, (ecg, other)


def test_every_non_ecg_kind_can_be_drawn():
    seen = {render_non_ecg(np.random.default_rng(s), (200, 150))[1] for s in range(40)}
    assert seen == set(KINDS)


def test_builtin_dataset_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr("core.synth.dataset.generate_dataset", lambda path, **kw: calls.append(path) or path.mkdir(parents=True) or (path / "findings.csv").write_text("path\n"))
    first = builtin_dataset(per_class=1, seed=5)
    assert builtin_dataset(per_class=1, seed=5) == first and len(calls) == 1
    assert first.name == f"v{GENERATOR_VERSION}-seed5-n1" and first.parent == tmp_path / "synthetic"


def test_refuses_to_replace_a_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate_dataset(tmp_path, per_class=1, page_size=SMALL, workers=1)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_a_failed_run_leaves_nothing_behind(tmp_path, monkeypatch):
    def boom(job):
        raise RuntimeError("killed")
    monkeypatch.setattr("core.synth.dataset._write_page", boom)
    with pytest.raises(RuntimeError):
        generate_dataset(tmp_path / "set", per_class=1, page_size=SMALL, workers=1)
    assert list(tmp_path.iterdir()) == []


def test_workers_do_not_rerun_the_calling_script(tmp_path):
    """A script without a ``__main__`` guard (as the app's page scripts are, under Streamlit):
    spawned workers used to run it again before their first page, and this one would then try to
    generate again inside a worker, which multiprocessing refuses (the pool never finishes)."""
    import subprocess
    import sys

    from core.paths import PROJECT_ROOT

    script = tmp_path / "page_script.py"
    script.write_text("from core.synth import generate_dataset\n"
                      "print('script ran', flush=True)\n"
                      f"generate_dataset({str(tmp_path / 'out')!r}, per_class=1, seed=3, workers=2)\n")
    done = subprocess.run([sys.executable, str(script)], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=240, env={**__import__("os").environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("script ran") == 1
    assert len(list((tmp_path / "out").glob("*/*.jpg"))) == 5
