"""An image model and what the page reader digitised from the same page, voting together.

On the Mendeley pages' duplicate-safe CV the image network, a logistic regression on NeuroKit2
measurements of the digitised leads (``core.learn.features``) and a 1-D CNN on the leads themselves
make different mistakes: the image network and the measurements average to macro-F1 0.82 where
either alone scores 0.77–0.79, all three to 0.88. A bundle carries the measurement model in its
metadata (``extra["signal_features"]``, :class:`~core.learn.feature_model.LinearFeatureModel`) and
the signal CNN as a companion network (``signal_model.keras``, described by ``extra["signal_network"]``).
The image model keeps its own "not an ECG" share; the ECG classes' share is split by the mean of
the models' answers over those classes, each vote counted on the pages it can read.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.learn.feature_model import NOT_MEASURED, FeatureModelError, LinearFeatureModel, covers

METADATA_KEY = "signal_features"
SIGNAL_NETWORK_KEY = "signal_network"
MEASUREMENTS, SIGNAL_CNN = "measurements", "signal CNN"     # the votes' names, as Predict shows them


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


@dataclass(frozen=True)
class SignalNetwork:
    """A bundle's companion signal CNN (``core.learn.signal_models``) and how it votes."""

    model: Any
    classes: tuple[str, ...]
    temperature: float
    layouts: tuple[str, ...] = ()

    def measures(self, readable: bool, layout: str) -> bool:
        """Whether it may vote on a page (:func:`core.learn.feature_model.covers`)."""
        return covers(self.layouts, readable, layout)

    def probabilities(self, tensors: Mapping[str, np.ndarray]) -> np.ndarray:
        """Calibrated class probabilities of page tensors (``core.learn.signal_data.page_tensor``)."""
        from core.learn.calibration import apply_temperature
        from core.learn.signal_training import predict_signalnet

        return apply_temperature(predict_signalnet(self.model, tensors), self.temperature)


def bundle_signal_network(bundle) -> SignalNetwork | None:
    """The signal CNN a bundle carries beside its image network, or None; raises
    :class:`core.bundles.BundleError` when its file and its description do not go together."""
    from core.bundles import SIGNAL_COMPANION, BundleError
    from core.learn.signal_data import SIGNAL_SPEC

    model = bundle.companions.get(SIGNAL_COMPANION.removesuffix(".keras"))
    stored = (bundle.metadata.extra or {}).get(SIGNAL_NETWORK_KEY)
    if model is None and stored is None:
        return None
    name = bundle.metadata.name
    if model is None or not isinstance(stored, Mapping):
        missing = f"no {SIGNAL_COMPANION}" if model is None else f"no '{SIGNAL_NETWORK_KEY}' description in its metadata"
        raise BundleError(f"model {name!r} carries half a signal network: {missing}")
    classes = tuple(str(c) for c in stored.get("classes", ()))
    shapes = {t.name.split(":")[0]: list(t.shape[1:]) for t in model.inputs}
    wanted = {k: list(v) for k, v in SIGNAL_SPEC["tensors"].items() if k in shapes}
    if (not classes or any(c not in bundle.metadata.classes for c in classes)
            or model.outputs[0].shape[-1] != len(classes) or not shapes or shapes != wanted):
        raise BundleError(f"{SIGNAL_COMPANION} of model {name!r} does not match its description: inputs {shapes}, "
                          f"{model.outputs[0].shape[-1]} outputs for classes {list(classes)}")
    temperature = float(stored.get("temperature", 1.0))
    if not np.isfinite(temperature) or temperature <= 0:
        raise BundleError(f"the signal network of model {name!r} has an invalid temperature {temperature!r}")
    return SignalNetwork(model, classes, temperature, tuple(str(x) for x in stored.get("layouts", ())))


def vote_names(metadata: Any) -> list[str]:
    """The names of the votes a bundle's metadata announces (``measurements``, ``signal CNN``)."""
    extra = getattr(metadata, "extra", {}) or {}
    return [name for name, key in ((MEASUREMENTS, METADATA_KEY), (SIGNAL_CNN, SIGNAL_NETWORK_KEY)) if key in extra]


def bundle_votes(bundle) -> tuple[LinearFeatureModel | None, SignalNetwork | None, tuple[str, ...]]:
    """A bundle's measurement model and signal network (either may be None) and the classes they
    vote on; raises :class:`core.bundles.BundleError` when the two vote on different classes."""
    from core.bundles import BundleError

    measurement, network = bundle_feature_model(bundle.metadata), bundle_signal_network(bundle)
    if measurement is not None and network is not None and measurement.classes != network.classes:
        raise BundleError(f"model {bundle.metadata.name!r}: its measurement model votes on {list(measurement.classes)} "
                          f"but its signal network on {list(network.classes)}")
    return measurement, network, (measurement or network).classes if (measurement or network) else ()


def fused_probabilities(image: np.ndarray, classes: Sequence[str], votes: Sequence[np.ndarray],
                        vote_classes: Sequence[str]) -> np.ndarray:
    """Rows of the image model's probabilities over ``classes`` with each vote's (over
    ``vote_classes``, a subset) averaged in: the classes outside the subset keep the image's
    probability, the subset's total share is split by the mean of the image's conditional answer and
    the votes. A vote's all-NaN row (a page it could not read) is left out of that row's mean."""
    image = np.atleast_2d(np.asarray(image, float))
    columns = [list(classes).index(c) for c in vote_classes]
    share = image[:, columns].sum(axis=1, keepdims=True)
    total, count = image[:, columns] / np.maximum(share, 1e-12), np.ones((len(image), 1))
    for vote in votes:
        vote = np.atleast_2d(np.asarray(vote, float))
        usable = np.isfinite(vote).all(axis=1, keepdims=True)
        total, count = total + np.where(usable, vote, 0.0), count + usable
    out = image.copy()
    out[:, columns] = share * total / count
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


def measured_vote(model: LinearFeatureModel, tensor: Mapping[str, np.ndarray]) -> MeasuredVote:
    """Measure a page's digitised leads (its ``core.learn.signal_data.page_tensor``, with
    ``core.learn.features``) and let ``model`` vote on them."""
    from core.learn.features import page_features

    features = page_features(tensor)
    probabilities = model.probabilities(pd.DataFrame([features]))[0]
    return MeasuredVote(features, model.classes, probabilities, model)


def page_votes(measurement: LinearFeatureModel | None, network: SignalNetwork | None, paths: Sequence[str], *,
               hashes: Sequence[str] | None = None,
               progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Each vote's calibrated probabilities for each page file (``{name: rows × its classes}``),
    from the reader's cached signals and measurements (``core.learn.signal_cache``); NaN rows where
    a vote may not vote (unreadable page, a layout it was not fitted on), which
    :func:`fused_probabilities` leaves out."""
    from core.data import content_hash
    from core.learn.signal_cache import page_measurements, page_signals
    from core.learn.signal_data import page_tensor, stack

    measured_rows, tensors, covered = [], [], []
    for i, path in enumerate(paths):
        sha1 = hashes[i] if hashes is not None else content_hash(path)
        if measurement is not None:
            layout, features = page_measurements(path, sha1)
            measured_rows.append(features if measurement.measures(features is not None, layout) else None)
        if network is not None:
            page = page_signals(path, sha1)
            if network.measures(page.readable, page.layout):
                tensors.append(page_tensor(page.leads))
                covered.append(i)
        if progress is not None:
            progress(i + 1, len(paths))
    votes = {}
    if measurement is not None:
        votes[MEASUREMENTS] = np.full((len(paths), len(measurement.classes)), np.nan)
        rows = [i for i, row in enumerate(measured_rows) if row is not None]
        if rows:
            votes[MEASUREMENTS][rows] = measurement.probabilities(pd.DataFrame([measured_rows[i] for i in rows]))
    if network is not None:
        votes[SIGNAL_CNN] = np.full((len(paths), len(network.classes)), np.nan)
        if covered:
            votes[SIGNAL_CNN][covered] = network.probabilities(stack(tensors))
    return votes
