"""Classroom mode (sidebar toggle: larger text, advanced controls hidden) and hand-out links
(query parameters that set page, dataset, model, preset and classroom mode)."""
from __future__ import annotations

import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP_FILE = Path(__file__).resolve().parents[2] / "streamlit_app.py"


def _has_classroom_css(at) -> bool:
    """Style-only HTML is delivered outside main and sidebar (Streamlit's event block): walk the whole tree."""
    def walk(node) -> bool:
        if "font-size: 22px" in str(getattr(node, "proto", "")):
            return True
        children = getattr(node, "children", None)
        return isinstance(children, dict) and any(walk(c) for c in children.values())
    return walk(at._tree)


def _expander_labels(at) -> list[str]:
    return [e.label for e in at.expander]


def test_classroom_toggle_enlarges_text_and_hides_advanced_train_controls(app_test) -> None:
    at = app_test()
    assert not _has_classroom_css(at)
    at.sidebar.toggle(key="classroom").set_value(True).run()
    assert not at.exception
    assert _has_classroom_css(at)

    at.switch_page("pages/train.py").run()
    assert not at.exception
    labels = _expander_labels(at)
    assert "Saved models" not in labels
    assert not any(label.startswith("Search") for label in labels)
    assert not any("Import" in label or "export" in label.lower() for label in labels)
    assert "Settings" in labels  # still there, collapsed, so the preset can be explained

    # (AppTest drops the entry script's sidebar on reruns of a switched page; the flag is the toggle's key)
    at.session_state["classroom"] = False
    at.run()
    labels = _expander_labels(at)
    assert "Saved models" in labels and any(label.startswith("Search") for label in labels)


def test_hand_out_link_sets_page_dataset_model_preset_and_classroom(tiny_bundle: Path, models_root: Path) -> None:
    shutil.copytree(tiny_bundle, models_root / "tiny")
    at = AppTest.from_file(str(APP_FILE), default_timeout=120)
    at.query_params.update({"page": "train", "dataset": "synthetic", "model": "tiny",
                            "preset": "original-notebook", "classroom": "1"})
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Train a model"
    assert at.radio(key="train_preset").value == "original-notebook"
    assert at.radio(key="train_dataset_kind").value == "Built-in synthetic pages"
    assert at.session_state["classroom"] is True
    assert at.session_state["model_name"] == "tiny"
    assert "Saved models" not in _expander_labels(at)


def test_hand_out_link_with_unknown_values_keeps_defaults(models_root: Path) -> None:
    at = AppTest.from_file(str(APP_FILE), default_timeout=120)
    at.query_params.update({"page": "nowhere", "preset": "turbo", "model": "missing"})
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value != "Train a model"
    assert not at.session_state["classroom"]
    assert "model_name" not in at.session_state


def test_quiz_link_opens_the_learn_page_on_its_quiz_view(tiny_bundle: Path, tiny_dataset: Path,
                                                         models_root: Path) -> None:
    shutil.copytree(tiny_bundle, models_root / "tiny")
    at = AppTest.from_file(str(APP_FILE), default_timeout=120)
    at.query_params.update({"page": "quiz", "dataset": str(tiny_dataset), "model": "tiny"})
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Inside the CNN"
    assert at.session_state["learn_tab"] == "Quiz"
    assert at.session_state["model_name"] == "tiny"
    assert Path(at.session_state["quiz_question"][1].path).is_relative_to(tiny_dataset)
    assert "Round 1" in [c.value for c in at.caption]
    assert at.button(key="quiz_check").disabled                     # the quiz waits for an answer
    assert {m.label: m.value for m in at.metric}["Your score"] == "0 / 0"
    assert not at.subheader                                          # the Inside view did not run
    assert "learn_source" not in [r.key for r in at.radio]
