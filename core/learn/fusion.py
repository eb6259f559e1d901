"""An image model and the clinical measurements of the same page, voting together.

On the Mendeley pages' duplicate-safe CV the image network and a logistic regression on NeuroKit2
measurements of the digitised leads (``core.learn.features``) make different mistakes: their mean
scores macro-F1 0.83 where either alone scores 0.77–0.79. A bundle carries the measurement model in
its metadata (``extra["signal_features"]``, :class:`~core.learn.feature_model.LinearFeatureModel`);
the image model keeps its own "not an ECG" share, and the ECG classes' share is split by the mean
of the two models' answers over those classes.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.learn.feature_model import NOT_MEASURED, FeatureModelError, LinearFeatureModel

METADATA_KEY = "signal_features"


def bundle_feature_model(metadata: Any) -> LinearFeatureModel | None:
    """The measurement model a bundle's metadata carries, or None; raises
    :class:`~core.learn.feature_model.FeatureModelError` when it is damaged or names classes the
    bundle does not have."""
    stored = (getattr(metadata, "extra", {}) or {}).get(METADATA_KEY)
    if stored is None:
        return None
    damaged = f"model {getattr(metadata, 'name', '')!r} carries a damaged measurement model"
    try:
        model = LinearFeatureModel.from_dict(stored)
    except FeatureModelError as exc:
        raise FeatureModelError(f"{damaged}: {exc}") from exc
    unknown = [c for c in model.classes if c not in metadata.classes]
    if unknown:
        raise FeatureModelError(f"{damaged}: it names classes the network does not have ({', '.join(unknown)})")
    return model


def fused_probabilities(image: np.ndarray, classes: Sequence[str], measured: np.ndarray,
                        measured_classes: Sequence[str]) -> np.ndarray:
    """Rows of the image model's probabilities over ``classes`` with the measurement model's over
    ``measured_classes`` (a subset) averaged in: the classes outside the subset keep the image's
    probability, the subset's total share is split by the mean of the two conditional answers.
    Rows of ``measured`` that are all NaN (a page that could not be measured) keep the image's."""
    image = np.atleast_2d(np.asarray(image, float))
    measured = np.atleast_2d(np.asarray(measured, float))
    columns = [list(classes).index(c) for c in measured_classes]
    share = image[:, columns].sum(axis=1, keepdims=True)
    conditional = image[:, columns] / np.maximum(share, 1e-12)
    mean = (conditional + measured) / 2
    out = image.copy()
    usable = np.isfinite(measured).all(axis=1)
    out[np.ix_(usable, columns)] = (share * mean)[usable]
    return out


@dataclass(frozen=True)
class MeasuredVote:
    """What the measurement model made of one page: its measurements and its class probabilities."""

    features: dict[str, float]
    classes: tuple[str, ...]
    probabilities: np.ndarray          # (len(classes),), calibrated
    model: LinearFeatureModel

    def drivers(self, class_name: str, n: int = 5) -> pd.DataFrame:
        """The ``n`` measurements that moved ``class_name``'s score most (``feature``, its name in
        words ``measurement``, ``value``, ``push``: + towards the class, − away), for students."""
        from core.learn.features import describe_feature

        parts = self.model.contributions(self.features)
        if class_name not in parts.columns:
            return pd.DataFrame(columns=["feature", "measurement", "value", "push"])
        top = parts.iloc[np.argsort(-parts[class_name].abs().to_numpy())[:n]]
        flags = top["feature"].str.endswith(NOT_MEASURED).to_numpy()
        return pd.DataFrame({"feature": top["feature"].to_numpy(),
                             "measurement": [describe_feature(f) for f in top["feature"]],
                             "value": np.where(flags, np.nan, top["value"].to_numpy()),   # a flag has no value
                             "push": top[class_name].to_numpy()})


def measured_vote(model: LinearFeatureModel, leads: Mapping[str, Any]) -> MeasuredVote:
    """Measure a page's digitised leads (``core.learn.features``) and let ``model`` vote on them."""
    from core.learn.features import page_features
    from core.learn.signal_data import page_tensor

    features = page_features(page_tensor(leads))
    probabilities = model.probabilities(pd.DataFrame([features]))[0]
    return MeasuredVote(features, model.classes, probabilities, model)


def measured_probabilities(model: LinearFeatureModel, paths: Sequence[str], *, hashes: Sequence[str] | None = None,
                           progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The measurement model's probabilities for each page file (rows × its classes), from the
    cached measurements (``core.learn.signal_cache.page_measurements``); NaN rows for pages the
    reader could not read or read in a layout the model was not fitted on, which
    :func:`fused_probabilities` leaves to the network."""
    from core.data import content_hash
    from core.learn.signal_cache import page_measurements

    rows = []
    for i, path in enumerate(paths):
        layout, features = page_measurements(path, hashes[i] if hashes is not None else content_hash(path))
        rows.append(features if model.measures(features is not None, layout) else None)
        if progress is not None:
            progress(i + 1, len(paths))
    out = np.full((len(rows), len(model.classes)), np.nan)
    measured = [i for i, row in enumerate(rows) if row is not None]
    if measured:
        out[measured] = model.probabilities(pd.DataFrame([rows[i] for i in measured]))
    return out
