"""Model bundles: round trips, management, zip exchange, refusals and crash safety."""
from __future__ import annotations

import io
import json
import os
import random
import selectors
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core import bundles
from core.bundles import BundleError, BundleMetadata

REPO_ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["Normal", "Abnormal Heartbeat", "Myocardial Infarction"]


def tiny_model(n_classes: int = 3, *, channels: int = 1, lambda_layer: bool = False):
    import keras

    inputs = keras.Input((16, 16, channels))
    x = keras.layers.Conv2D(2, 3, name="last_conv")(inputs)
    if lambda_layer:
        x = keras.layers.Lambda(lambda t: t * 2.0)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def meta(classes=CLASSES, **changes) -> dict:
    return {"classes": list(classes), "input_size": [16, 16], "color_mode": "grayscale",
            "architecture": "tiny", **changes}


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def batch() -> np.ndarray:
    return np.random.default_rng(0).random((2, 16, 16, 1), dtype=np.float32)


# --- metadata and names -----------------------------------------------------------------------

def test_metadata_round_trip_keeps_unknown_keys():
    data = meta(future_field={"x": 1}, default=True)
    restored = BundleMetadata.from_dict(data).to_dict()
    assert restored["future_field"] == {"x": 1}
    assert restored["default"] is True
    assert restored["preprocessing"] == {"crop": "none", "resize": "stretch", "scale": "0-1"}
    assert "default" not in BundleMetadata.from_dict(meta()).to_dict()


@pytest.mark.parametrize("change, message", [
    ({"color_mode": "cmyk"}, "'color_mode' must be one of 'grayscale', 'ink', 'rgb'; got 'cmyk'"),
    ({"input_size": [16]}, "'input_size' must be [height, width]"),
    ({"classes": []}, "'classes' must be unique and non-empty"),
    ({"classes": ["a", "a"]}, "'classes' must be unique and non-empty"),
    ({"preprocessing": {"crop": "random"}}, "preprocessing 'crop' must be one of 'grid', 'none'; got 'random'"),
    ({"preprocessing": {"scale": "0-255"}}, "preprocessing 'scale' must be one of '0-1', 'in-model'"),
    ({"metrics": [1, 2]}, "'metrics' must be an object"),
])
def test_metadata_rejects_invalid_fields(change, message):
    with pytest.raises(BundleError) as info:
        BundleMetadata.from_dict(meta(**change))
    assert message in str(info.value)


def test_metadata_requires_classes():
    with pytest.raises(BundleError, match="metadata is missing 'classes'"):
        BundleMetadata.from_dict({"input_size": [16, 16]})


@pytest.mark.parametrize("name", ["ecg-cnn_v1.2", "a", "x" * 64])
def test_valid_names(name):
    assert bundles.validate_name(name) == name


@pytest.mark.parametrize("name", ["", ".hidden", "x" * 65, "a/b", "..", "with space", "é"])
def test_invalid_names(name):
    with pytest.raises(BundleError, match="invalid model name"):
        bundles.validate_name(name)


# --- save and load ----------------------------------------------------------------------------

def test_save_and_load_round_trip(models_root, model, batch):
    path = bundles.save_bundle(model, meta(metrics={"test_accuracy": np.float32(0.5)}), "cnn")

    assert path == models_root / "cnn"
    assert sorted(p.name for p in path.iterdir()) == ["metadata.json", "model.keras"]
    loaded = bundles.load_bundle("cnn")
    assert loaded.path == path
    assert loaded.metadata.name == "cnn"
    assert loaded.metadata.classes == CLASSES
    assert loaded.metadata.metrics == {"test_accuracy": 0.5}
    assert set(loaded.metadata.versions) == {"python", "tensorflow", "keras", "numpy", "app"}
    assert loaded.metadata.created.startswith("20")
    np.testing.assert_allclose(loaded.model.predict(batch, verbose=0), model.predict(batch, verbose=0),
                               rtol=1e-6)
    assert leftovers(models_root) == []


def test_update_metadata_sets_keys_and_keeps_the_model(models_root, model):
    path = bundles.save_bundle(model, meta(), "cnn")
    model_bytes = (path / "model.keras").read_bytes()
    updated = bundles.update_metadata("cnn", {"signal_features": {"kind": "logistic"}, "architecture": "tiny2"})
    assert updated.extra["signal_features"] == {"kind": "logistic"} and updated.architecture == "tiny2"
    assert bundles.read_metadata("cnn").extra["signal_features"] == {"kind": "logistic"}
    with pytest.raises(BundleError, match="'classes' must be unique"):
        bundles.update_metadata("cnn", {"classes": ["a", "a"]})
    assert bundles.read_metadata("cnn").classes == CLASSES          # the invalid change was not written
    assert (path / "model.keras").read_bytes() == model_bytes and leftovers(models_root) == []


def test_save_to_explicit_path(tmp_path, model):
    path = bundles.save_bundle(model, meta(), tmp_path / "elsewhere" / "cnn")
    assert bundles.load_bundle(path).metadata.name == "cnn"


def test_save_refuses_existing_name_unless_overwrite(models_root, model):
    bundles.save_bundle(model, meta(architecture="first"), "cnn")
    with pytest.raises(BundleError, match="a model named 'cnn' already exists"):
        bundles.save_bundle(model, meta(architecture="second"), "cnn")
    assert bundles.read_metadata("cnn").architecture == "first"

    bundles.save_bundle(tiny_model(4), meta([*CLASSES, "Non-ECG"], architecture="second"), "cnn",
                        overwrite=True)
    loaded = bundles.load_bundle("cnn")
    assert loaded.metadata.architecture == "second"
    assert loaded.model.output_shape == (None, 4)
    assert leftovers(models_root) == []


def test_save_refuses_model_that_disagrees_with_metadata(models_root, model):
    with pytest.raises(BundleError, match="has 3 output units but its metadata lists 2 classes"):
        bundles.save_bundle(model, meta(["a", "b"]), "cnn")
    with pytest.raises(BundleError, match=r"takes input of shape \(16, 16, 1\) but its metadata says 16x16 rgb"):
        bundles.save_bundle(model, meta(color_mode="rgb"), "cnn")
    assert list(models_root.iterdir()) == []


def test_load_refuses_lambda_layer(models_root):
    bundles.save_bundle(tiny_model(lambda_layer=True), meta(), "lam")
    with pytest.raises(BundleError) as info:
        bundles.load_bundle("lam")
    assert str(info.value) == (
        "refused to load model 'lam': it contains a Lambda layer or other Python code, "
        "which could run arbitrary code when loaded (safe mode)"
    )
    assert isinstance(info.value.__cause__, ValueError)


def test_load_refuses_unknown_custom_object(models_root):
    import keras

    @keras.saving.register_keras_serializable(package="test_bundles")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    inputs = keras.Input((16, 16, 1))
    x = keras.layers.GlobalAveragePooling2D()(Doubler()(inputs))
    bundles.save_bundle(keras.Model(inputs, keras.layers.Dense(3)(x)), meta(), "custom")
    del keras.saving.get_custom_objects()["test_bundles>Doubler"]

    with pytest.raises(BundleError, match="uses the unknown custom object 'Doubler'"):
        bundles.load_bundle("custom")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "no-weights"])
def test_load_reports_corrupt_model_file(models_root, model, damage):
    path = bundles.save_bundle(model, meta(), "cnn")
    file = path / "model.keras"
    data = file.read_bytes()
    if damage == "garbage":
        file.write_bytes(b"not a zip")
    elif damage == "truncated":
        file.write_bytes(data[: len(data) // 2])
    else:
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(file, "w") as dst:
            dst.writestr("config.json", src.read("config.json"))
    with pytest.raises(BundleError, match=r"model.keras of model 'cnn' is corrupt") as info:
        bundles.load_bundle("cnn")
    assert "Traceback" not in str(info.value)


def test_load_checks_class_count_against_metadata(models_root, model):
    path = bundles.save_bundle(model, meta(), "cnn")
    data = json.loads((path / "metadata.json").read_text())
    data["classes"].append("Non-ECG")
    (path / "metadata.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match="model 'cnn' has 3 output units but its metadata lists 4 classes"):
        bundles.load_bundle("cnn")


def test_load_checks_input_size_against_metadata(models_root, model):
    path = bundles.save_bundle(model, meta(), "cnn")
    data = json.loads((path / "metadata.json").read_text())
    data["input_size"] = [32, 16]
    (path / "metadata.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match=r"takes input of shape \(16, 16, 1\) but its metadata says 32x16"):
        bundles.load_bundle("cnn")


def test_load_reports_missing_pieces(models_root, model):
    with pytest.raises(BundleError, match="no model named 'nothing'"):
        bundles.load_bundle("nothing")
    path = bundles.save_bundle(model, meta(), "cnn")
    (path / "model.keras").unlink()
    with pytest.raises(BundleError, match="model 'cnn' has no model.keras"):
        bundles.load_bundle("cnn")
    (path / "metadata.json").write_text("{not json")
    with pytest.raises(BundleError, match=r"metadata.json of model 'cnn' is not valid JSON \(line 1, column 2"):
        bundles.read_metadata("cnn")
    (path / "metadata.json").write_text(json.dumps({"classes": ["a"], "input_size": "big"}))
    with pytest.raises(BundleError, match="metadata.json of model 'cnn' is invalid: metadata 'input_size'"):
        bundles.read_metadata("cnn")
    (path / "metadata.json").unlink()
    with pytest.raises(BundleError, match="model 'cnn' has no metadata.json"):
        bundles.load_bundle("cnn")


# --- listing and managing ---------------------------------------------------------------------

def test_list_rename_delete_and_default(models_root, model):
    assert bundles.list_bundles().empty
    assert bundles.default_bundle() is None
    bundles.save_bundle(model, meta(created="2026-01-01T00:00:00+00:00",
                                    metrics={"test_accuracy": 0.9, "test_macro_f1": 0.8}), "older")
    bundles.save_bundle(model, meta(created="2026-02-01T00:00:00+00:00",
                                    metrics={"test": {"accuracy": 0.7, "macro_f1": 0.6}}), "newer")
    (models_root / "broken").mkdir()

    listed = bundles.list_bundles()
    assert list(listed["name"]) == ["newer", "older", "broken"]
    assert listed.loc[0, "test_accuracy"] == 0.7 and listed.loc[1, "test_macro_f1"] == 0.8
    assert listed.loc[2, "error"] == "model 'broken' has no metadata.json"
    assert listed["default"].tolist() == [False, False, False]

    bundles.set_default("older")
    assert bundles.default_bundle() == models_root / "older"
    listed = bundles.list_bundles()
    assert list(listed["name"]) == ["older", "newer", "broken"]
    assert listed["default"].tolist() == [True, False, False]

    bundles.rename_bundle("older", "best")
    assert bundles.default_bundle() == models_root / "best"
    assert bundles.read_metadata("best").name == "best"
    assert not (models_root / "older").exists()
    with pytest.raises(BundleError, match="a model named 'newer' already exists"):
        bundles.rename_bundle("best", "newer")

    bundles.set_default("newer")
    assert bundles.list_bundles()["default"].sum() == 1
    bundles.delete_bundle("newer")
    assert bundles.default_bundle() is None
    assert sorted(bundles.list_bundles()["name"]) == ["best", "broken"]
    with pytest.raises(BundleError, match="no model named 'newer'"):
        bundles.delete_bundle("newer")
    assert leftovers(models_root) == []


def test_default_hint_in_metadata_used_without_default_file(models_root, model):
    bundles.save_bundle(model, meta(), "plain")
    bundles.save_bundle(model, meta(default=True), "shipped")
    assert bundles.default_bundle() == models_root / "shipped"
    bundles.set_default("plain")
    assert bundles.default_bundle() == models_root / "plain"


def test_listing_and_metadata_do_not_import_tensorflow(models_root, model):
    bundles.save_bundle(model, meta(), "cnn")
    code = ("import sys; from core import bundles; bundles.list_bundles(); bundles.read_metadata('cnn');"
            "bundles.default_bundle(); print(sorted(m for m in ('tensorflow', 'keras', 'streamlit') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"


# --- zip export and import --------------------------------------------------------------------

def test_zip_export_and_import(models_root, model, batch):
    bundles.save_bundle(model, meta(), "cnn")
    data = bundles.bundle_to_zip_bytes("cnn")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["cnn/metadata.json", "cnn/model.keras"]

    with pytest.raises(BundleError, match="a model named 'cnn' already exists"):
        bundles.import_bundle_zip(data)
    path = bundles.import_bundle_zip(data, name="copy")
    assert path == models_root / "copy"
    loaded = bundles.load_bundle("copy")
    assert loaded.metadata.name == "copy"
    np.testing.assert_allclose(loaded.model.predict(batch, verbose=0), model.predict(batch, verbose=0),
                               rtol=1e-6)

    bundles.delete_bundle("cnn")
    zip_file = models_root.parent / "upload.zip"
    zip_file.write_bytes(data)
    assert bundles.import_bundle_zip(zip_file) == models_root / "cnn"
    assert leftovers(models_root) == []


def test_a_companion_network_travels_with_its_bundle(models_root, model, batch):
    """A second network (core.bundles.COMPANION_FILES) is saved into a bundle atomically, loaded
    beside its model, exported in its zip and imported again; a damaged one is named."""
    bundles.save_bundle(model, meta(), "cnn")
    companion = tiny_model(4)
    bundles.save_companion("cnn", companion)
    assert leftovers(models_root / "cnn") == []
    loaded = bundles.load_bundle("cnn")
    np.testing.assert_allclose(loaded.companions["signal_model"].predict(batch, verbose=0),
                               companion.predict(batch, verbose=0), rtol=1e-6)
    data = bundles.bundle_to_zip_bytes("cnn")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["cnn/metadata.json", "cnn/model.keras", "cnn/signal_model.keras"]
    copy = bundles.load_bundle(bundles.import_bundle_zip(data, name="copy"))
    assert copy.companions["signal_model"].output_shape[-1] == 4
    (models_root / "copy" / "signal_model.keras").write_bytes(b"junk")
    with pytest.raises(BundleError, match="signal_model.keras of model 'copy' is corrupt"):
        bundles.load_bundle("copy")
    with pytest.raises(BundleError, match="'notes.keras' is not a companion file"):
        bundles.save_companion("cnn", companion, "notes.keras")


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bundle_files(tmp_path_factory, model) -> dict[str, bytes]:
    path = bundles.save_bundle(model, meta(), tmp_path_factory.mktemp("src") / "cnn")
    return {f: (path / f).read_bytes() for f in bundles.BUNDLE_FILES}


def test_import_accepts_flat_zip_with_macos_junk(models_root, bundle_files):
    data = _zip({**bundle_files, "__MACOSX/._model.keras": b"x", ".DS_Store": b"x"})
    assert bundles.import_bundle_zip(data) == models_root / "cnn"


@pytest.mark.parametrize("layout, message", [
    (lambda f: {**f, "notes.txt": b"hi"}, "unexpected file 'notes.txt' in zip"),
    (lambda f: {"a/model.keras": f["model.keras"], "b/metadata.json": f["metadata.json"]},
     "must be in the same folder"),
    (lambda f: {"../model.keras": f["model.keras"], "metadata.json": f["metadata.json"]},
     "unsafe path '../model.keras' in zip"),
    (lambda f: {"/abs/model.keras": f["model.keras"], "metadata.json": f["metadata.json"]},
     "unsafe path '/abs/model.keras' in zip"),
    (lambda f: {"a/b/model.keras": f["model.keras"], "a/b/metadata.json": f["metadata.json"]},
     "unexpected file 'a/b/model.keras'"),
    (lambda f: {"model.keras": f["model.keras"]}, "zip has no metadata.json"),
    (lambda f: {"model.keras": b"junk", "metadata.json": f["metadata.json"]},
     "model.keras of model 'cnn' is corrupt"),
    (lambda f: {**f, "metadata.json": b"{"}, "metadata.json in zip is not valid JSON"),
])
def test_import_rejects_bad_zips(models_root, bundle_files, layout, message):
    with pytest.raises(BundleError) as info:
        bundles.import_bundle_zip(_zip(layout(bundle_files)))
    assert message in str(info.value)
    assert list(models_root.iterdir()) == []


def test_import_rejects_non_zip_and_oversized(models_root, bundle_files, monkeypatch):
    with pytest.raises(BundleError, match="not a valid zip file"):
        bundles.import_bundle_zip(b"PK but not really")
    monkeypatch.setitem(bundles.MAX_IMPORT_BYTES, "model.keras", 2**10)
    with pytest.raises(BundleError, match=r"model.keras in zip is larger than the 0.000977 MiB limit"):
        bundles.import_bundle_zip(_zip(bundle_files))
    assert list(models_root.iterdir()) == []


# --- crash safety -----------------------------------------------------------------------------

def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_recover_interrupted_restores_old_and_keeps_live_work(models_root, model):
    bundles.save_bundle(model, meta(architecture="old"), "cnn")
    dead = _dead_pid()
    os.rename(models_root / "cnn", models_root / f".cnn.old-{dead}-0123abcd")
    (models_root / f".cnn.tmp-{dead}-89abcdef").mkdir()
    (models_root / f".DEFAULT.tmp-{dead}-00000000").write_text("cnn")
    live = models_root / f".other.tmp-{os.getpid()}-00000000"
    live.mkdir()

    bundles.recover_interrupted(models_root)

    assert bundles.load_bundle("cnn").metadata.architecture == "old"
    assert leftovers(models_root) == [live.name]


# Runs save_bundle in a child; with a stop index it freezes just before the n-th rename/rmtree
# in the models folder so the parent can SIGKILL it exactly there.
_SAVE_CHILD = r"""
import json, os, shutil, sys, time
from pathlib import Path
import keras
from core import bundles

stop_at = int(sys.argv[1])
versions = [(keras.saving.load_model(f"{p}.keras", compile=False), json.loads(Path(f"{p}.json").read_text()))
            for p in sys.argv[2:]]
root = bundles.models_dir()
events = 0

def frozen_at_stop(real):
    def wrapper(path, *args, **kwargs):
        global events
        if Path(path).parent == root:
            events += 1
            if events == stop_at:
                print("stopped", flush=True)
                time.sleep(600)
        return real(path, *args, **kwargs)
    return wrapper

os.rename, shutil.rmtree = frozen_at_stop(os.rename), frozen_at_stop(shutil.rmtree)
print("ready", flush=True)
for i in range(10**6):
    model, metadata = versions[i % len(versions)]
    bundles.save_bundle(model, metadata, "ecg", overwrite=True)
"""


def _start_child(stop_at: int, *prefixes: Path, stderr) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-c", _SAVE_CHILD, str(stop_at), *map(str, prefixes)],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr)


def _wait_for(proc: subprocess.Popen, word: bytes, timeout: float = 120) -> None:
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    seen, deadline = b"", time.monotonic() + timeout
    while word not in seen:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"child never printed {word!r}; exit code {proc.returncode}")
        if selector.select(timeout=1):
            seen += os.read(proc.stdout.fileno(), 4096)


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)   # reaped, so recovery sees its pid as gone
    proc.stdout.close()


@pytest.fixture
def old_and_new(models_root, tmp_path, model) -> tuple[Path, Path]:
    """Bundle 'ecg' saved as the old version, plus both versions as files for the child."""
    new_meta = meta([*CLASSES, "Non-ECG"], architecture="new")
    bundles.save_bundle(model, meta(architecture="old"), "ecg")
    for prefix, mdl, data in (("old", model, meta(architecture="old")), ("new", tiny_model(4), new_meta)):
        mdl.save(tmp_path / f"{prefix}.keras")
        (tmp_path / f"{prefix}.json").write_text(json.dumps(data))
    return tmp_path / "old", tmp_path / "new"


@pytest.mark.parametrize("stop_at, expected", [
    (1, "old"),   # new bundle complete in .tmp, nothing renamed yet
    (2, "old"),   # old bundle moved aside to .old, target missing
    (3, "new"),   # new bundle in place, .old not yet deleted
])
def test_save_killed_midway_leaves_a_loadable_bundle(models_root, tmp_path, old_and_new, stop_at, expected):
    with open(tmp_path / "child.log", "wb") as log:
        proc = _start_child(stop_at, old_and_new[1], stderr=log)
        try:
            _wait_for(proc, b"stopped")
        finally:
            _kill(proc)
    assert leftovers(models_root), "the kill should have left a working folder behind"

    loaded = bundles.load_bundle("ecg")
    assert loaded.metadata.architecture == expected
    assert loaded.model.output_shape == (None, len(loaded.metadata.classes))
    assert leftovers(models_root) == []


def test_save_killed_at_random_moments_leaves_a_loadable_bundle(models_root, tmp_path, old_and_new):
    rng = random.Random()
    for attempt in range(3):
        delay = rng.uniform(0.0, 0.6)
        with open(tmp_path / "child.log", "wb") as log:
            proc = _start_child(0, *old_and_new, stderr=log)
            try:
                _wait_for(proc, b"ready")
                time.sleep(delay)
            finally:
                _kill(proc)
        loaded = bundles.load_bundle("ecg")
        assert loaded.metadata.architecture in {"old", "new"}, f"attempt {attempt}, delay {delay:.3f}s"
        assert loaded.model.output_shape == (None, len(loaded.metadata.classes))
        assert leftovers(models_root) == [], f"attempt {attempt}, delay {delay:.3f}s"
