"""Model bundles: a folder ``models/<name>/`` holding ``model.keras`` and ``metadata.json``.

Every change to the models folder is made so that a crash at any moment leaves each bundle
either as it was or fully replaced: new content is written into a hidden sibling folder and
renamed into place, and :func:`recover_interrupted` tidies up whatever a crash left behind.
Hidden working folders are named ``.<name>.<kind>-<pid>-<random>`` so that recovery never
touches the work of a process that is still running.

Only :func:`save_bundle`, :func:`load_bundle` and :func:`import_bundle_zip` import Keras
(about 5 s); listing, metadata and file management stay TensorFlow-free.
"""
from __future__ import annotations

import io
import itertools
import json
import math
import os
import platform
import re
import secrets
import shutil
import stat
import tomllib
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from core.errors import write_failure
from core.paths import PROJECT_ROOT, models_dir

if TYPE_CHECKING:
    import pandas as pd

MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
DEFAULT_FILE = "DEFAULT"
BUNDLE_FILES = (MODEL_FILE, METADATA_FILE)
# Optional second networks a bundle may carry beside its own, loaded (safe mode) into
# ``Bundle.companions`` by file stem: a signal CNN that votes with an image model (core.learn.fusion).
SIGNAL_COMPANION = "signal_model.keras"
COMPANION_FILES = (SIGNAL_COMPANION,)

# Must accept what core.ecg.preprocess / core.learn.training write ("ink" is a one-channel mode; "in-model"
# means the network rescales its own input).
COLOR_MODES = {"grayscale": 1, "ink": 1, "rgb": 3}
PREPROCESSING_OPTIONS = {"crop": ("grid", "none"), "resize": ("stretch", "pad"),
                         "scale": ("0-1", "in-model")}
DEFAULT_PREPROCESSING = {"crop": "none", "resize": "stretch", "scale": "0-1"}
KEY_METRICS = ("test_accuracy", "test_macro_f1")
# metadata "input" of models that take digitised signals (``signal_spec`` names their tensors),
# not page images: their input_size is [leads, samples per lead] and color_mode does not apply.
SIGNAL_INPUT = "signals"

LIST_COLUMNS = ("name", "path", "classes", "architecture", "created", *KEY_METRICS, "default", "error")

# Uncompressed size caps for an uploaded zip; the reader enforces them too, so a lying header
# or a zip bomb cannot fill the disk.
MAX_IMPORT_BYTES = {MODEL_FILE: 512 * 2**20, METADATA_FILE: 16 * 2**20, SIGNAL_COMPANION: 64 * 2**20}

_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_SCRATCH_RE = re.compile(r"\.(?P<name>.+)\.(?P<kind>tmp|old|del)-(?P<pid>\d+)-[0-9a-f]{8}")
# Finder's "Compress" adds these to every zip; they carry nothing of the bundle.
_ZIP_JUNK = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$)")


class BundleError(ValueError):
    """A bundle is missing, invalid, unsafe or clashes with an existing one."""


def validate_name(name: str) -> str:
    """Return ``name`` if it is a valid bundle name, else raise :class:`BundleError`."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name.startswith("."):
        raise BundleError(
            f"invalid model name {name!r}: use 1-64 letters, digits, '-', '_' or '.', "
            "not starting with a dot"
        )
    return name


def free_name(base: str, taken: Iterable[str]) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever no saved model has yet."""
    taken = set(taken)
    candidates = itertools.chain([base], (f"{base}-{k}" for k in itertools.count(2)))
    return next(name for name in candidates if name not in taken)


@dataclass(kw_only=True)
class BundleMetadata:
    """Everything needed to use, compare and reproduce a saved model.

    Unknown keys read from a file are kept in ``extra`` and written back unchanged.
    ``default`` is only a hint for bundles shipped without a ``models/DEFAULT`` file.
    """

    name: str = ""
    classes: list[str]
    input_size: list[int]
    color_mode: str = "grayscale"
    preprocessing: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PREPROCESSING))
    architecture: str = ""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=lambda: {"temperature": 1.0})
    versions: dict[str, str] = field(default_factory=dict)
    created: str = ""
    default: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.classes, str) or not isinstance(self.classes, Iterable):
            raise BundleError(f"metadata 'classes' must be a list of names; got {self.classes!r}")
        self.classes = [str(c) for c in self.classes]
        if not self.classes or len(set(self.classes)) != len(self.classes):
            raise BundleError(f"metadata 'classes' must be unique and non-empty; got {self.classes!r}")
        size = self.input_size
        if (
            not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
        ):
            raise BundleError(f"metadata 'input_size' must be [height, width] in pixels; got {size!r}")
        self.input_size = list(size)
        if self.color_mode not in COLOR_MODES:
            raise BundleError(f"metadata 'color_mode' must be one of {', '.join(map(repr, COLOR_MODES))}; "
                              f"got {self.color_mode!r}")
        for key in ("preprocessing", "hyperparameters", "history", "split", "dataset",
                    "metrics", "calibration", "versions"):
            if not isinstance(getattr(self, key), Mapping):
                raise BundleError(f"metadata {key!r} must be an object; got {getattr(self, key)!r}")
        self.preprocessing = {**DEFAULT_PREPROCESSING, **self.preprocessing}
        for key, allowed in PREPROCESSING_OPTIONS.items():
            if self.preprocessing[key] not in allowed:
                raise BundleError(
                    f"metadata preprocessing {key!r} must be one of {', '.join(map(repr, allowed))}; "
                    f"got {self.preprocessing[key]!r}"
                )

    @property
    def channels(self) -> int:
        """Number of image channels the model expects."""
        return COLOR_MODES[self.color_mode]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``extra`` keys come last and ``default`` only when set."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        if data["default"] is None:
            del data["default"]
        return {**data, **{k: v for k, v in self.extra.items() if k not in data}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BundleMetadata:
        """Build from a parsed ``metadata.json``; raises :class:`BundleError` when invalid."""
        if not isinstance(data, Mapping):
            raise BundleError(f"metadata must be a JSON object; got {type(data).__name__}")
        known = {f.name for f in fields(cls)} - {"extra"}
        for key in ("classes", "input_size"):
            if key not in data:
                raise BundleError(f"metadata is missing {key!r}")
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**{k: v for k, v in data.items() if k in known}, extra=extra)


@dataclass
class Bundle:
    """A loaded bundle: its folder, the Keras model, its metadata and any companion networks."""

    path: Path
    model: Any
    metadata: BundleMetadata
    companions: dict[str, Any] = field(default_factory=dict)     # {"signal_model": keras model}


# --- locating bundles -------------------------------------------------------------------------

def _resolve(name_or_path: str | os.PathLike, root: Path | None = None) -> Path:
    """A plain string is a name inside ``root`` (default models folder); a path is used as is."""
    if isinstance(name_or_path, os.PathLike) or "/" in name_or_path or os.sep in name_or_path:
        return Path(name_or_path)
    return (root or models_dir()) / validate_name(name_or_path)


def _existing(name: str, root: Path | None) -> Path:
    path = _resolve(name, root)
    if not path.is_dir():
        raise BundleError(f"no model named {path.name!r}")
    return path


def _scratch(root: Path, name: str, kind: str) -> Path:
    return root / f".{name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_interrupted(root: Path | None = None) -> None:
    """Finish or undo what a killed save/delete/import left behind in ``root``.

    A stale ``.old`` folder whose bundle is missing is put back (the crash happened between
    the two renames of a save); every other stale working folder or file is removed.
    """
    root = root or models_dir()
    if not root.is_dir():
        return
    for entry in sorted(root.iterdir()):
        match = _SCRATCH_RE.fullmatch(entry.name)
        if not match or _pid_alive(int(match["pid"])):
            continue
        target = root / match["name"]
        if match["kind"] == "old" and not target.exists():
            os.rename(entry, target)
            _fsync_dir(root)
        elif entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


# --- durable writes ---------------------------------------------------------------------------

def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):          # numpy scalars and arrays from metrics and history
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot store {type(value).__name__} in metadata.json")


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _replace_file(path: Path, data: bytes) -> None:
    """Atomically replace one file (write a sibling, fsync, rename over)."""
    tmp = _scratch(path.parent, path.name, "tmp")
    try:
        _write_file(tmp, data)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _metadata_bytes(metadata: BundleMetadata) -> bytes:
    return json.dumps(metadata.to_dict(), indent=2, default=_json_default).encode("utf-8")


def _move_into_place(tmp: Path, target: Path, *, overwrite: bool) -> None:
    """Rename a complete ``tmp`` folder to ``target``, replacing an old bundle if allowed."""
    root = target.parent
    old = None
    if target.exists():
        if not overwrite:
            raise BundleError(f"a model named {target.name!r} already exists")
        old = _scratch(root, target.name, "old")
        os.rename(target, old)
    try:
        os.rename(tmp, target)
    except OSError:
        if old is not None and not target.exists():
            os.rename(old, target)
        raise
    _fsync_dir(root)
    if old is not None:
        shutil.rmtree(old)


# --- save and load ----------------------------------------------------------------------------

def _versions() -> dict[str, str]:
    import keras
    import numpy
    import tensorflow

    with open(PROJECT_ROOT / "pyproject.toml", "rb") as handle:
        app = tomllib.load(handle)["project"]["version"]
    return {"python": platform.python_version(), "tensorflow": tensorflow.__version__,
            "keras": keras.__version__, "numpy": numpy.__version__, "app": app}


def reads_signals(metadata: Any) -> bool:
    """Whether a bundle's model diagnoses from the digitised signals rather than from the image."""
    return (getattr(metadata, "extra", {}) or {}).get("input") == SIGNAL_INPUT


def _check_signal_inputs(model: Any, metadata: BundleMetadata, name: str) -> None:
    """Raise unless a signal model's named inputs are the tensors its ``signal_spec`` lists."""
    tensors = metadata.extra.get("signal_spec", {}).get("tensors", {})
    shapes = {t.name: list(t.shape[1:]) for t in model.inputs}
    if not tensors or shapes != {k: list(v) for k, v in tensors.items()}:
        raise BundleError(f"signal model {name!r} takes inputs {shapes} but its metadata's signal_spec "
                          f"lists {tensors}")


def _check_model(model: Any, metadata: BundleMetadata, name: str) -> None:
    """Raise unless the model's input and output shapes agree with the metadata."""
    if len(model.outputs) != 1 or (metadata.extra.get("input") != SIGNAL_INPUT and len(model.inputs) != 1):
        raise BundleError(f"model {name!r} must have exactly one input and one output")
    if metadata.extra.get("input") == SIGNAL_INPUT:
        _check_signal_inputs(model, metadata, name)
    else:
        shape = tuple(model.inputs[0].shape[1:])
        expected = (*metadata.input_size, metadata.channels)
        if shape != expected:
            raise BundleError(
                f"model {name!r} takes input of shape {shape} but its metadata says "
                f"{metadata.input_size[0]}x{metadata.input_size[1]} {metadata.color_mode} {expected}"
            )
    units = model.outputs[0].shape[-1]
    if units != len(metadata.classes):
        raise BundleError(
            f"model {name!r} has {units} output units but its metadata lists "
            f"{len(metadata.classes)} classes"
        )


def save_bundle(
    model: Any,
    metadata: BundleMetadata | Mapping[str, Any],
    name_or_path: str | os.PathLike,
    *,
    overwrite: bool = False,
) -> Path:
    """Save ``model`` with ``metadata`` as a bundle, atomically; returns the bundle folder.

    ``name`` is set from the folder; ``created`` and ``versions`` are filled in when empty.
    """
    target = _resolve(name_or_path)
    name = validate_name(target.name)
    root = target.parent
    root.mkdir(parents=True, exist_ok=True)
    recover_interrupted(root)
    meta = metadata if isinstance(metadata, BundleMetadata) else BundleMetadata.from_dict(metadata)
    meta = BundleMetadata.from_dict({
        **meta.to_dict(),
        "name": name,
        "created": meta.created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": meta.versions or _versions(),
    })
    _check_model(model, meta, name)
    if target.exists() and not overwrite:
        raise BundleError(f"a model named {name!r} already exists")
    tmp = _scratch(root, name, "tmp")
    try:
        tmp.mkdir()
        model.save(tmp / MODEL_FILE)
        _fsync_file(tmp / MODEL_FILE)
        _write_file(tmp / METADATA_FILE, _metadata_bytes(meta))
        _fsync_dir(tmp)
        _move_into_place(tmp, target, overwrite=overwrite)
    except OSError as exc:
        kept = f"; the previous model {name!r} is unchanged" if target.is_dir() else ""
        raise BundleError(f"could not save model {name!r}: {write_failure(exc, root)}{kept}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def read_metadata(path_or_name: str | os.PathLike) -> BundleMetadata:
    """Read and validate a bundle's ``metadata.json`` (no TensorFlow import)."""
    path = _resolve(path_or_name)
    if not path.is_dir():
        raise BundleError(f"no model named {path.name!r} (folder {path} does not exist)")
    file = path / METADATA_FILE
    if not file.is_file():
        raise BundleError(f"model {path.name!r} has no {METADATA_FILE}")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"{METADATA_FILE} of model {path.name!r} is not valid JSON "
            f"(line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"{METADATA_FILE} of model {path.name!r} cannot be read: {exc}") from exc
    try:
        return BundleMetadata.from_dict(data)
    except BundleError as exc:
        raise BundleError(f"{METADATA_FILE} of model {path.name!r} is invalid: {exc}") from exc


def update_metadata(path_or_name: str | os.PathLike, changes: Mapping[str, Any]) -> BundleMetadata:
    """Set top-level ``metadata.json`` keys of a saved bundle (the model file untouched), atomically;
    returns the new metadata. Raises :class:`BundleError` when the result is invalid."""
    path = _resolve(path_or_name)
    meta = BundleMetadata.from_dict({**read_metadata(path).to_dict(), **changes})
    _replace_file(path / METADATA_FILE, _metadata_bytes(meta))
    return meta


def _load_error_message(name: str, exc: Exception, file: str = MODEL_FILE) -> str:
    text = str(exc)
    if "safe_mode" in text:
        return (f"refused to load model {name!r}: it contains a Lambda layer or other Python code, "
                "which could run arbitrary code when loaded (safe mode)")
    unknown = re.search(r"Could not locate (?:class|function) '([^']+)'", text)
    if unknown:
        return (f"refused to load model {name!r}: it uses the unknown custom object "
                f"{unknown[1]!r}; only built-in Keras layers are allowed")
    first_line = text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__
    return f"{file} of model {name!r} is corrupt or not a Keras model ({first_line})"


def load_bundle(path_or_name: str | os.PathLike) -> Bundle:
    """Load a bundle by name (in the models folder) or path, in Keras safe mode, uncompiled."""
    path = _resolve(path_or_name)
    recover_interrupted(path.parent)
    return _load(path, path.name)


def _load(path: Path, name: str) -> Bundle:
    """Load and check the bundle in ``path``; messages call it ``name``."""
    metadata = read_metadata(path)
    model_file = path / MODEL_FILE
    if not model_file.is_file():
        raise BundleError(f"model {name!r} has no {MODEL_FILE}")
    model = _load_keras(model_file, name)
    _check_model(model, metadata, name)
    companions = {file.removesuffix(".keras"): _load_keras(path / file, name)
                  for file in COMPANION_FILES if (path / file).exists()}
    return Bundle(path=path, model=model, metadata=metadata, companions=companions)


def _load_keras(file: Path, name: str) -> Any:
    """A ``.keras`` file of bundle ``name`` loaded in safe mode, uncompiled; BundleError when it is not one."""
    if not zipfile.is_zipfile(file):
        raise BundleError(f"{file.name} of model {name!r} is corrupt (not a .keras zip archive)")
    import keras

    try:
        return keras.saving.load_model(file, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises ValueError, TypeError, OSError, KeyError... for bad files
        raise BundleError(_load_error_message(name, exc, file.name)) from exc


def save_companion(path_or_name: str | os.PathLike, model: Any, file: str = SIGNAL_COMPANION) -> Path:
    """Save a companion network into a saved bundle, atomically (a failed write keeps the old one)."""
    if file not in COMPANION_FILES:
        raise BundleError(f"{file!r} is not a companion file; expected one of {', '.join(COMPANION_FILES)}")
    path = _resolve(path_or_name)
    read_metadata(path)                          # an existing, valid bundle
    scratch = _scratch(path, file, "tmp")
    tmp = scratch.with_name(f"{scratch.name}.keras")          # Keras saves only to a .keras name
    try:
        model.save(tmp)
        _fsync_file(tmp)
        os.replace(tmp, path / file)
        _fsync_dir(path)
    except OSError as exc:
        raise BundleError(f"could not save {file} into model {path.name!r}: {write_failure(exc, path)}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path / file


# --- listing and managing ---------------------------------------------------------------------

def _metric(metrics: Mapping[str, Any], key: str) -> float:
    """``test_accuracy`` may be stored flat or nested as ``{"test": {"accuracy": ...}}``."""
    value = metrics.get(key)
    if value is None:
        split, _, inner = key.partition("_")
        nested = metrics.get(split)
        value = nested.get(inner) if isinstance(nested, Mapping) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def _bundle_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _default_name(root: Path) -> str | None:
    try:
        return (root / DEFAULT_FILE).read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def default_bundle(root: Path | None = None) -> Path | None:
    """The default bundle: the one named in ``models/DEFAULT``, else the first whose metadata says so."""
    root = root or models_dir()
    name = _default_name(root)
    if name and (root / name / METADATA_FILE).is_file():
        return root / name
    for path in _bundle_dirs(root):
        try:
            if json.loads((path / METADATA_FILE).read_text(encoding="utf-8")).get("default") is True:
                return path
        except (OSError, ValueError, AttributeError):
            continue
    return None


def list_bundles(root: Path | None = None) -> pd.DataFrame:
    """One row per bundle folder, default first, then newest; broken bundles carry an ``error``."""
    import pandas as pd  # here, not at the top: Home and the sidebar need this module, not pandas

    root = root or models_dir()
    recover_interrupted(root)
    default = default_bundle(root)
    rows = []
    for path in _bundle_dirs(root):
        row: dict[str, Any] = {"name": path.name, "path": str(path), "default": path == default,
                               "error": None}
        try:
            meta = read_metadata(path)
        except BundleError as exc:
            row["error"] = str(exc)
        else:
            row.update(classes=meta.classes, architecture=meta.architecture, created=meta.created,
                       **{k: _metric(meta.metrics, k) for k in KEY_METRICS})
            if not (path / MODEL_FILE).is_file():
                row["error"] = f"model {path.name!r} has no {MODEL_FILE}"
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(LIST_COLUMNS))
    frame["default"] = frame["default"].astype(bool)
    frame["created"] = frame["created"].fillna("")
    return frame.sort_values(["default", "created", "name"], ascending=[False, False, True],
                             ignore_index=True)


def rename_bundle(name: str, new_name: str, *, root: Path | None = None) -> Path:
    """Rename a bundle folder (and its metadata name and the default pointer)."""
    path = _existing(name, root)
    root = path.parent
    target = root / validate_name(new_name)
    if target == path:
        return path
    if target.exists():
        raise BundleError(f"a model named {new_name!r} already exists")
    os.rename(path, target)
    _fsync_dir(root)
    try:
        meta = read_metadata(target)
    except BundleError:
        pass                              # a broken bundle keeps its broken metadata
    else:
        meta.name = new_name
        _replace_file(target / METADATA_FILE, _metadata_bytes(meta))
    if _default_name(root) == name:
        _replace_file(root / DEFAULT_FILE, new_name.encode())
    return target


def delete_bundle(name: str, *, root: Path | None = None) -> None:
    """Delete a bundle: one atomic rename out of sight, then the removal."""
    path = _existing(name, root)
    root = path.parent
    trash = _scratch(root, name, "del")
    os.rename(path, trash)
    _fsync_dir(root)
    if _default_name(root) == name:
        (root / DEFAULT_FILE).unlink(missing_ok=True)
    shutil.rmtree(trash)


def set_default(name: str, *, root: Path | None = None) -> Path:
    """Make ``name`` the one default bundle (stored in ``models/DEFAULT``)."""
    path = _existing(name, root)
    read_metadata(path)
    _replace_file(path.parent / DEFAULT_FILE, name.encode())
    return path


# --- zip export and import --------------------------------------------------------------------

def bundle_to_zip_bytes(name: str, *, root: Path | None = None) -> bytes:
    """A zip with ``<name>/model.keras``, ``<name>/metadata.json`` and any companion network, for download."""
    path = _existing(name, root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in BUNDLE_FILES:
            if not (path / file).is_file():
                raise BundleError(f"model {name!r} has no {file}")
            archive.write(path / file, f"{path.name}/{file}")
        for file in COMPANION_FILES:
            if (path / file).is_file():
                archive.write(path / file, f"{path.name}/{file}")
    return buffer.getvalue()


def _bundle_members(archive: zipfile.ZipFile) -> tuple[dict[str, zipfile.ZipInfo], str]:
    """The bundle files of a zip (its two own, any companions) and their common top folder ('' when at the root)."""
    members: dict[str, zipfile.ZipInfo] = {}
    tops = set()
    for info in archive.infolist():
        parts = info.filename.rstrip("/").split("/")
        if (info.filename.startswith("/") or "\\" in info.filename or ":" in parts[0]
                or any(p in ("", ".", "..") for p in parts)):
            raise BundleError(f"unsafe path {info.filename!r} in zip")
        if info.is_dir() or _ZIP_JUNK.search(info.filename):
            continue
        if len(parts) > 2 or parts[-1] not in (*BUNDLE_FILES, *COMPANION_FILES):
            raise BundleError(f"unexpected file {info.filename!r} in zip: a model bundle holds "
                              f"only {MODEL_FILE} and {METADATA_FILE} (and {', '.join(COMPANION_FILES)})")
        if parts[-1] in members:
            raise BundleError(f"zip contains more than one {parts[-1]}")
        if info.flag_bits & 0x1:
            raise BundleError(f"{info.filename!r} in zip is encrypted")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise BundleError(f"{info.filename!r} in zip is a symbolic link")
        members[parts[-1]] = info
        tops.add(parts[0] if len(parts) == 2 else "")
    missing = [f for f in BUNDLE_FILES if f not in members]
    if missing:
        raise BundleError(f"zip has no {' and no '.join(missing)}")
    if len(tops) > 1:
        raise BundleError(f"a bundle's files ({MODEL_FILE}, {METADATA_FILE}…) must be in the same folder of the zip")
    return members, tops.pop()


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, out: IO[bytes]) -> None:
    name = info.filename.rsplit("/", 1)[-1]
    limit = MAX_IMPORT_BYTES[name]
    too_big = BundleError(f"{name} in zip is larger than the {limit / 2**20:.3g} MiB limit")
    if info.file_size > limit:
        raise too_big
    copied = 0
    with archive.open(info) as src:
        while chunk := src.read(2**20):
            copied += len(chunk)
            if copied > limit:
                raise too_big
            out.write(chunk)


def import_bundle_zip(
    source: bytes | str | os.PathLike | IO[bytes],
    *,
    name: str | None = None,
    root: Path | None = None,
) -> Path:
    """Validate a bundle zip (bytes, path or file object) and install it under ``name``.

    The name defaults to the metadata's name, then the zip's top folder. The bundle is loaded
    in safe mode from a hidden folder before it is moved into place, so a bad zip never shows up.
    """
    root = root or models_dir()
    root.mkdir(parents=True, exist_ok=True)
    recover_interrupted(root)
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        with zipfile.ZipFile(source) as archive:
            members, top = _bundle_members(archive)
            raw = io.BytesIO()
            _copy_member(archive, members[METADATA_FILE], raw)
            try:
                meta = BundleMetadata.from_dict(json.loads(raw.getvalue().decode("utf-8")))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise BundleError(f"{METADATA_FILE} in zip is not valid JSON") from exc
            final = validate_name(name or meta.name or top)
            target = root / final
            if target.exists():
                raise BundleError(f"a model named {final!r} already exists")
            meta.name = final
            tmp = _scratch(root, final, "tmp")
            try:
                tmp.mkdir()
                for file in (MODEL_FILE, *(f for f in COMPANION_FILES if f in members)):
                    with open(tmp / file, "wb") as out:
                        _copy_member(archive, members[file], out)
                        out.flush()
                        os.fsync(out.fileno())
                _write_file(tmp / METADATA_FILE, _metadata_bytes(meta))
                _load(tmp, final)
                _fsync_dir(tmp)
                _move_into_place(tmp, target, overwrite=False)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise BundleError(f"not a valid zip file ({exc})") from exc
    return target
