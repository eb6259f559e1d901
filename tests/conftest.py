"""Session-wide test setup: private data folders, quiet TensorFlow, Streamlit helpers.

The environment is set in ``pytest_configure`` (before any test module is imported), so every
subprocess, ``streamlit run`` server and AppTest started by a test inherits it and nothing
touches the user's ``.cache/`` or ``models/``.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lab_paths import APP_FILE, TINY_PAGE

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

_session_dirs: list[Path] = []


def pytest_configure(config: pytest.Config) -> None:
    for var, label in (("ECG_LAB_CACHE", "cache"), ("ECG_LAB_MODELS", "models")):
        path = Path(tempfile.mkdtemp(prefix=f"ecg-lab-test-{label}-"))
        _session_dirs.append(path)
        os.environ[var] = str(path)
    # The built-in synthetic set at a size that keeps page tests quick (the app's default is 100).
    os.environ.setdefault("ECG_LAB_SYNTH_PER_CLASS", "12")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Must be in place before TensorFlow is first imported; 2 cores on every machine we run on.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "2")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


def pytest_unconfigure(config: pytest.Config) -> None:
    for path in _session_dirs:
        shutil.rmtree(path, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Lets `-m "not mendeley"` deselect every test that needs the shared dataset.
    for item in items:
        if "mendeley_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mendeley)


@pytest.fixture
def mendeley_dir() -> Path:
    """The shared Mendeley ECG image folder; the test is skipped when it is absent."""
    from core.paths import SHARED_MENDELEY_DIR

    if not SHARED_MENDELEY_DIR.is_dir():
        pytest.skip(f"shared dataset not found at {SHARED_MENDELEY_DIR}")
    return SHARED_MENDELEY_DIR


@pytest.fixture(autouse=True)
def _clear_streamlit_caches() -> None:
    # st.cache_* outlive an AppTest within one process; importing streamlit just to clear
    # them would slow down every core test, so only clear when someone already imported it.
    streamlit = sys.modules.get("streamlit")
    if streamlit is not None:
        streamlit.cache_data.clear()
        streamlit.cache_resource.clear()


@pytest.fixture
def app_test() -> Callable[..., AppTest]:
    """Factory ``make(page=None)``: an AppTest of ``streamlit_app.py`` after its first run.

    With ``page`` (e.g. ``"pages/explore.py"``) it then switches to that page and runs it.
    """
    from streamlit.testing.v1 import AppTest

    def make(page: str | None = None) -> AppTest:
        app = AppTest.from_file(str(APP_FILE), default_timeout=120)
        app.run()
        if page is not None:
            app.switch_page(page).run()
        return app

    return make


@pytest.fixture
def tiny_train_page(app_test, tiny_dataset: Path) -> AppTest:
    """The Train page on the tiny folder dataset, Custom preset, compact CNN at 64×128."""
    at = app_test("pages/train.py")
    assert not at.exception
    at.radio(key="train_dataset_kind").set_value("A folder on this computer").run()
    at.text_input(key="train_folder").set_value(str(tiny_dataset)).run()
    at.radio(key="train_preset").set_value("custom").run()
    at.number_input(key="train_h_custom_compact").set_value(64)
    at.number_input(key="train_w_custom_compact").set_value(128).run()
    return at


@pytest.fixture
def models_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty models folder of this test only (``ECG_LAB_MODELS`` points at it)."""
    root = tmp_path / "models"
    root.mkdir()
    monkeypatch.setenv("ECG_LAB_MODELS", str(root))
    return root


@pytest.fixture(scope="session")
def builtin_set() -> Path:
    """The built-in set at the tests' size, made before a page asks for it: pages show its drawing
    progress until it is complete (``tests/e2e/test_first_minutes_e2e.py`` tests that on its own cache)."""
    from core.synth import builtin_dataset

    return builtin_dataset(per_class=int(os.environ["ECG_LAB_SYNTH_PER_CLASS"]))




@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six synthetic pages per class (all five classes), generated once per test session."""
    from core.synth import generate_dataset

    root = tmp_path_factory.mktemp("tiny-dataset")
    generate_dataset(root, per_class=6, seed=7, page_size=TINY_PAGE, workers=1)
    return root


@pytest.fixture(scope="session")
def tiny_bundle(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A compact CNN trained for two epochs on ``tiny_dataset`` at 64×128, saved as a bundle."""
    from core.data import folder_source, prepare_dataset
    from core.ecg import Preprocessing
    from core.learn import TrainConfig, save_outcome, train

    data = prepare_dataset(folder_source(tiny_dataset), seed=0)
    config = TrainConfig(epochs=2, batch_size=8, preprocessing=Preprocessing(64, 128), patience=0)
    outcome = train(data.index, config)
    return save_outcome(outcome, tmp_path_factory.mktemp("bundles") / "tiny",
                        dataset_info={"name": "tiny", "path": str(tiny_dataset), "kind": "synthetic"})


@pytest.fixture(scope="session")
def signal_bundle(tmp_path_factory) -> Path:
    """An untrained signalnet saved as the training script ships one (random weights: the plumbing,
    not the accuracy, is under test)."""
    import keras

    from core.bundles import save_bundle
    from core.classes import ECG_CLASSES
    from core.learn import SIGNAL_SPEC, build_signalnet

    keras.utils.set_random_seed(0)
    model = build_signalnet(len(ECG_CLASSES))
    metadata = {"classes": list(ECG_CLASSES), "input_size": SIGNAL_SPEC["tensors"]["leads"][:2],
                "architecture": "signalnet", "calibration": {"temperature": 1.5},
                "input": "signals", "signal_spec": SIGNAL_SPEC, "layouts": ["3x4+1", "3x4", "6x2", "12x1"]}
    return save_bundle(model, metadata, tmp_path_factory.mktemp("signal") / "signalnet")
