"""Is this an ECG at all? A feature-space check for models that have no Non-ECG class.

A 4-class model (MI, History of MI, Abnormal, Normal) must still say something about a selfie or
a stock chart. The energy of its logits (:mod:`core.use.diagnosis`) helps, but on the lab's compact
CNN it separates ECG pages from other images only partly (measured AUROC 0.6-0.86). What the
network *computes* separates them much better: the features its classifier head reads (for the
compact CNN, the 4×4 lead-grid features) of ECG pages and of other images fall in different
regions (measured AUROC 0.97-0.98 on synthetic and real pages vs photos, charts and documents).

So, once per model, :func:`ecg_check_for` draws a small reference set with :mod:`core.synth` —
synthetic ECG report pages of every class and non-ECG images (documents, charts, photos,
textures, grid paper) — runs the model on them, and fits a logistic regression on the head's
features: ``p(not an ECG | features)``. The same pass measures the energy of the reference ECG
pages, which gives the model its own energy threshold (:data:`ENERGY_QUANTILE` of those energies
plus :data:`ENERGY_MARGIN`): an untrained model whose logits are all near zero does not reject
every page, and a sharp model gets a threshold to match.

The fit is deterministic (fixed seeds) and cached on disk by the model file's content, so it
costs a few seconds once per model, not per prediction.
"""
from __future__ import annotations

import hashlib
import io
import json
import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

REFERENCE_VERSION = 1
REFERENCE_PAGE = (664, 472)          # px; plenty for networks that see a few hundred pixels
REFERENCE_ECG_PER_CLASS = 6
REFERENCE_NON_ECG = 24
REFERENCE_SEED = 9000
ENERGY_QUANTILE = 90       # percentile of the reference ECG pages' energies...
ENERGY_MARGIN = 0.5        # ...plus this margin is the model's energy threshold


@dataclass(frozen=True)
class EcgCheck:
    """A logistic regression on standardised head features (``probability`` is p(not an ECG))
    and the model's energy threshold measured on reference ECG pages."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    energy_threshold: float

    def probability(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, dtype="float64").reshape(len(features), -1) - self.mean) / self.scale
        return 1.0 / (1.0 + np.exp(-(z @ self.coef + self.intercept)))

    def to_npz(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, mean=self.mean, scale=self.scale, coef=self.coef,
                 scalars=np.array([self.intercept, self.energy_threshold]))
        return buffer.getvalue()

    @classmethod
    def from_npz(cls, data: bytes) -> "EcgCheck":
        arrays = np.load(io.BytesIO(data))
        intercept, energy = (float(v) for v in arrays["scalars"])
        return cls(arrays["mean"], arrays["scale"], arrays["coef"], intercept, energy)


def _jpeg(image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def reference_images() -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """The fixed reference set ``(ecg_pages, non_ecg_images)`` as JPEG bytes: drawn once (about
    3 s), then kept in memory and in a zip in the cache folder, since no model changes it."""
    import zipfile

    from core.classes import ECG_CLASSES
    from core.paths import cache_dir
    from core.synth import GENERATOR_VERSION, render_example, render_non_ecg

    stored = cache_dir() / "ecg-check" / (f"references-v{REFERENCE_VERSION}-g{GENERATOR_VERSION}-"
                                          f"{REFERENCE_PAGE[0]}x{REFERENCE_PAGE[1]}-{REFERENCE_ECG_PER_CLASS}-"
                                          f"{REFERENCE_NON_ECG}.zip")
    try:
        with zipfile.ZipFile(stored) as archive:
            names = sorted(archive.namelist())
            ecg = tuple(archive.read(n) for n in names if n.startswith("ecg/"))
            other = tuple(archive.read(n) for n in names if n.startswith("other/"))
        if len(ecg) == REFERENCE_ECG_PER_CLASS * len(ECG_CLASSES) and len(other) == REFERENCE_NON_ECG:
            return ecg, other
    except (OSError, zipfile.BadZipFile, KeyError):
        pass                                   # not drawn yet, or damaged: draw again
    ecg = tuple(_jpeg(render_example(cls, REFERENCE_SEED + 101 * k + i, page_size=REFERENCE_PAGE)[0])
                for k, cls in enumerate(ECG_CLASSES) for i in range(REFERENCE_ECG_PER_CLASS))
    other = tuple(_jpeg(render_non_ecg(np.random.default_rng(REFERENCE_SEED + i), REFERENCE_PAGE)[0])
                  for i in range(REFERENCE_NON_ECG))
    try:
        stored.parent.mkdir(parents=True, exist_ok=True)
        tmp = stored.with_suffix(f".{np.random.randint(1 << 30)}.tmp")
        with zipfile.ZipFile(tmp, "w") as archive:
            for i, data in enumerate(ecg):
                archive.writestr(f"ecg/{i:03d}.jpg", data)
            for i, data in enumerate(other):
                archive.writestr(f"other/{i:03d}.jpg", data)
        tmp.replace(stored)
    except OSError:
        pass                                   # a read-only cache only costs the redraw
    return ecg, other


def fit_ecg_check(explainer, spec) -> EcgCheck:
    """Fit the check for the model behind ``explainer`` (inputs prepared with ``spec``)."""
    from scipy.special import logsumexp
    from sklearn.linear_model import LogisticRegression

    from core.use.explain import view_page

    ecg, other = reference_images()
    batch = np.stack([view_page(data, spec).network_input for data in [*ecg, *other]])
    logits, features = explainer.logits_and_features(batch)
    labels = np.r_[np.zeros(len(ecg)), np.ones(len(other))]
    mean = features.mean(axis=0)
    scale = features.std(axis=0) + 1e-6
    model = LogisticRegression(C=0.1, max_iter=5000).fit((features - mean) / scale, labels)
    energies = -logsumexp(logits[: len(ecg)], axis=1)
    threshold = float(np.percentile(energies, ENERGY_QUANTILE) + ENERGY_MARGIN)
    return EcgCheck(mean, scale, model.coef_[0].astype("float64"), float(model.intercept_[0]), threshold)


def _cache_file(bundle) -> Path | None:
    from core.bundles import MODEL_FILE
    from core.paths import cache_dir

    try:
        content = hashlib.sha1((Path(bundle.path) / MODEL_FILE).read_bytes()).hexdigest()
    except (OSError, TypeError):
        return None
    key = json.dumps([content, REFERENCE_VERSION, REFERENCE_PAGE, REFERENCE_ECG_PER_CLASS, REFERENCE_NON_ECG,
                      ENERGY_QUANTILE, ENERGY_MARGIN])
    return cache_dir() / "ecg-check" / f"{hashlib.sha1(key.encode()).hexdigest()}.npz"


_CHECKS: "weakref.WeakKeyDictionary[object, EcgCheck]" = weakref.WeakKeyDictionary()


def ecg_check_for(bundle, explainer, spec) -> EcgCheck:
    """The check of ``bundle``'s model: from memory, from the disk cache (keyed by the model file's
    content, so copies of a bundle share it), or fitted now."""
    held = _CHECKS.get(bundle.model)
    if held is not None:
        return held
    path = _cache_file(bundle)
    check = None
    if path is not None and path.is_file():
        try:
            check = EcgCheck.from_npz(path.read_bytes())
        except (OSError, ValueError, KeyError):
            check = None                       # a damaged cache entry is simply refitted
    if check is None:
        check = fit_ecg_check(explainer, spec)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{np.random.randint(1 << 30)}.tmp")
            tmp.write_bytes(check.to_npz())
            tmp.replace(path)
    _CHECKS[bundle.model] = check
    return check
