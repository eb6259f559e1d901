"""Explore page (AppTest): the built-in synthetic set and a folder dataset."""
from __future__ import annotations

from pathlib import Path

from core.classes import CANONICAL_CLASSES
from pages.common import EXPLORE_TAB_KEY, escape


def metric_values(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_explore_opens_on_the_builtin_synthetic_set(app_test) -> None:
    at = app_test("pages/explore.py")
    assert not at.exception
    values = metric_values(at)
    assert values["Images"] == str(12 * 5)  # ECG_LAB_SYNTH_PER_CLASS=12 in tests
    assert values["Classes"] == "5"
    assert values["Skipped files"] == "0"
    assert len(at.get("vega_lite_chart")) == 1
    assert at.selectbox(key="explore_class").options == list(CANONICAL_CLASSES)
    assert len(at.image) == 8  # a gallery page of eight; the other tabs run only when opened
    assert any("Built-in synthetic" in c.value for c in at.caption)
    at.session_state[EXPLORE_TAB_KEY] = "Header crop"
    at.run()
    assert not at.exception
    assert len(at.image) == 2  # the crop before and after, and no gallery behind it


def test_explore_signals_tab_reads_a_page_of_the_dataset(app_test) -> None:
    at = app_test("pages/explore.py")
    at.session_state[EXPLORE_TAB_KEY] = "Signals"
    at.run()
    assert not at.exception
    page = at.selectbox(key="explore_signals_page")
    ecg_page = next(o for o in page.options if "non" not in o.lower())
    page.set_value(ecg_page).run()
    assert not at.exception
    values = metric_values(at)
    assert values["Leads read"] in {str(n) for n in range(12, 16)}   # 12 leads and its rhythm strips
    assert values["Layout"].startswith("3x4")
    assert len(at.image) == 1                                       # the traces over the page
    charts = [c.spec for c in at.get("vega_lite_chart")]
    assert any("vconcat" in spec for spec in charts)                # the twelve-lead plot
    assert len(at.dataframe) == 1 and "Einthoven residual" in at.dataframe[0].value["check"].tolist()


def test_explore_reads_a_folder_dataset_and_its_duplicates(app_test, tiny_dataset: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "ECG_DATA"
    shutil.copytree(tiny_dataset, root)
    original = next((root / "Normal").glob("*.jpg"))
    shutil.copy(original, root / "Normal" / f"{original.stem} - Copy.jpg")
    (root / "Normal" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")

    at = app_test("pages/explore.py")
    at.radio(key="explore_dataset_kind").set_value("A folder on this computer").run()
    at.text_input(key="explore_folder").set_value(str(root)).run()
    assert not at.exception
    values = metric_values(at)
    assert values["Images"] == str(6 * 5 + 1)
    assert values["Distinct pages"] == str(6 * 5)
    assert values["Duplicate groups"] == "1"
    assert values["Skipped files"] == "1"
    assert any(escape("ECG_DATA") in c.value for c in at.caption)  # markdown-escaped user data


def test_explore_explains_a_missing_folder(app_test, tmp_path: Path) -> None:
    at = app_test("pages/explore.py")
    at.radio(key="explore_dataset_kind").set_value("A folder on this computer").run()
    at.text_input(key="explore_folder").set_value(str(tmp_path / "missing")).run()
    assert not at.exception
    assert any("does not exist" in e.value for e in at.error)


class _Drawing:
    """A built-in set still being drawn: three pages of each class so far."""

    def __init__(self, pages: list[Path]) -> None:
        self._pages, self.finished, self.failed, self.error, self.paused = pages, False, False, None, False

    def progress(self) -> tuple[int, int]:
        return len(self._pages), 60

    def pages(self, cls: str | None = None) -> list[Path]:
        return [p for p in self._pages if cls is None or p.parent.name == cls]


def test_explore_shows_the_first_pages_while_the_set_is_drawn(app_test, tiny_dataset: Path,
                                                             monkeypatch) -> None:
    drawn = [p for cls in CANONICAL_CLASSES for p in sorted((tiny_dataset / cls).glob("*.jpg"))[:3]]
    monkeypatch.setattr("core.synth.background.builtin_generation", lambda *a, **k: _Drawing(drawn))
    at = app_test("pages/explore.py")
    assert not at.exception, [e.value for e in at.exception]
    assert "Drawing the built-in synthetic ECG pages (first run only): 15 of 60" in at.get("progress")[0].proto.text
    assert len(at.image) == 3 and not at.metric          # the first pages; counts and split wait for the set
    assert any(f"3 of 12 images of {CANONICAL_CLASSES[0]} drawn so far" in c.value for c in at.caption)
    at.selectbox(key="explore_class").set_value(CANONICAL_CLASSES[2]).run()
    assert [i.proto.imgs[0].caption for i in at.image] == [p.name for p in drawn[6:9]]


def test_a_drawing_held_for_a_training_says_so(app_test, tiny_dataset: Path, monkeypatch) -> None:
    drawn = sorted((tiny_dataset / CANONICAL_CLASSES[0]).glob("*.jpg"))[:2]
    held = _Drawing(drawn)
    held.paused = True
    monkeypatch.setattr("core.synth.background.builtin_generation", lambda *a, **k: held)
    at = app_test("pages/explore.py")
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("progress")[0].proto.text.startswith(
        "Drawing the built-in synthetic ECG pages (first run only): 2 of 60. Paused while a model trains")
