"""Where the app keeps generated data, caches and model bundles.

Both locations can be moved with environment variables, which is how tests keep their
files in temporary folders and never touch a user's models.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
SHARED_MENDELEY_DIR = PROJECT_ROOT.parent / "shared" / "data" / "mendeley-ecg-train"


def cache_dir() -> Path:
    """Folder for generated datasets and scan caches (``ECG_LAB_CACHE``, default ``.cache/``)."""
    path = Path(os.environ.get("ECG_LAB_CACHE", PROJECT_ROOT / ".cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Folder of model bundles (``ECG_LAB_MODELS``, default ``models/``)."""
    path = Path(os.environ.get("ECG_LAB_MODELS", PROJECT_ROOT / "models"))
    path.mkdir(parents=True, exist_ok=True)
    return path
