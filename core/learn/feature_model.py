"""The clinical-measurement model as plain numbers, so it travels inside a bundle's ``metadata.json``.

A fitted :func:`core.learn.features.build_feature_model` ("logistic") pipeline is median imputation
with missing-value flags, standard scaling and a multinomial logistic regression: every step is a
few arrays. Kept as JSON, a bundle needs no pickle (which could run code when loaded) and a student
can read which measurement pushes towards which class.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import softmax


NOT_MEASURED = " (not measured)"      # the name of a measurement's missing-value flag: "pr_s (not measured)"


def covers(layouts: Sequence[str], readable: bool, layout: str) -> bool:
    """Whether a model fitted on pages of ``layouts`` (empty: any) may vote on a page: one the reader
    read, in such a layout (another printer's page is an ECG outside its domain)."""
    return readable and (not layouts or layout in layouts)


class FeatureModelError(ValueError):
    """A stored feature model that does not fit together."""


@dataclass(frozen=True)
class LinearFeatureModel:
    """Imputation → flags → scaling → softmax of a linear score, over named measurements."""

    features: tuple[str, ...]          # column names, in the model's order
    classes: tuple[str, ...]
    medians: np.ndarray                # (F,) fills a missing measurement
    flagged: np.ndarray                # indices of the features whose missingness is itself an input
    mean: np.ndarray                   # (F + len(flagged),) of the imputed-and-flagged columns
    scale: np.ndarray
    coef: np.ndarray                   # (K, F + len(flagged))
    intercept: np.ndarray              # (K,)
    temperature: float = 1.0           # fitted on out-of-fold predictions
    layouts: tuple[str, ...] = ()      # the page layouts it was fitted on (empty: any)

    def __post_init__(self) -> None:
        width = len(self.features) + len(self.flagged)
        shapes = {"medians": (self.medians.shape, (len(self.features),)), "mean": (self.mean.shape, (width,)),
                  "scale": (self.scale.shape, (width,)), "coef": (self.coef.shape, (len(self.classes), width)),
                  "intercept": (self.intercept.shape, (len(self.classes),))}
        for name, (got, want) in shapes.items():
            if got != want:
                raise FeatureModelError(f"feature model {name!r} has shape {got}, expected {want} "
                                        f"for {len(self.features)} features and {len(self.classes)} classes")
        if not all(np.isfinite(a).all() for a in (self.medians, self.mean, self.scale, self.coef, self.intercept)) \
                or (self.scale <= 0).any():
            raise FeatureModelError("feature model numbers must be finite, its scales positive")
        if len(self.flagged) and not (0 <= self.flagged.min() and self.flagged.max() < len(self.features)):
            raise FeatureModelError("feature model flags a feature it does not have")
        if not np.isfinite(self.temperature) or self.temperature <= 0:
            raise FeatureModelError(f"feature model temperature must be positive; got {self.temperature!r}")

    def measures(self, readable: bool, layout: str) -> bool:
        """Whether it may vote on a page (:func:`covers`)."""
        return covers(self.layouts, readable, layout)

    @classmethod
    def from_pipeline(cls, pipeline, features: Sequence[str], classes: Sequence[str],
                      temperature: float = 1.0, layouts: Sequence[str] = ()) -> LinearFeatureModel:
        """The numbers of a fitted imputer → scaler → logistic-regression pipeline."""
        imputer, scaler, logistic = (step for _, step in pipeline.steps)
        flagged = (imputer.indicator_.features_ if imputer.indicator_ is not None else np.array([], int))
        coef, intercept = logistic.coef_, logistic.intercept_
        if coef.shape[0] == 1:      # two classes: scikit-learn keeps one row (the second class's score)
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        return cls(tuple(features), tuple(classes), np.asarray(imputer.statistics_, float),
                   np.asarray(flagged, int), np.asarray(scaler.mean_, float), np.asarray(scaler.scale_, float),
                   np.asarray(coef, float), np.asarray(intercept, float), float(temperature), tuple(layouts))

    def inputs(self, table: pd.DataFrame) -> np.ndarray:
        """The imputed measurements and missing-value flags (before scaling) of ``table``'s rows; a
        feature column the table lacks counts as never measured."""
        x = table.reindex(columns=list(self.features)).to_numpy(dtype=float)
        missing = ~np.isfinite(x)
        return np.hstack([np.where(missing, self.medians, x), missing[:, self.flagged].astype(float)])

    def scores(self, table: pd.DataFrame) -> np.ndarray:
        """Linear class scores (rows × classes)."""
        return ((self.inputs(table) - self.mean) / self.scale) @ self.coef.T + self.intercept

    def probabilities(self, table: pd.DataFrame) -> np.ndarray:
        """Calibrated class probabilities (rows × classes)."""
        return softmax(self.scores(table) / self.temperature, axis=1)

    def contributions(self, row: Mapping[str, float]) -> pd.DataFrame:
        """How far each measurement moved one page's score of each class (``feature``, ``value``,
        one column per class): the coefficient times the scaled, imputed value."""
        x = self.inputs(pd.DataFrame([dict(row)]))[0]
        parts = ((x - self.mean) / self.scale)[:, None] * self.coef.T
        names = list(self.features) + [f"{self.features[i]}{NOT_MEASURED}" for i in self.flagged]
        table = pd.DataFrame(parts, columns=list(self.classes))
        table.insert(0, "value", x)
        table.insert(0, "feature", names)
        return table

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what :meth:`from_dict` reads)."""
        return {"kind": "logistic", "features": list(self.features), "classes": list(self.classes),
                "medians": _floats(self.medians), "flagged": [int(i) for i in self.flagged],
                "mean": _floats(self.mean), "scale": _floats(self.scale),
                "coef": [_floats(row) for row in self.coef], "intercept": _floats(self.intercept),
                "temperature": round(float(self.temperature), 6), "layouts": list(self.layouts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinearFeatureModel:
        """Read :meth:`to_dict`'s form; raises :class:`FeatureModelError` when it does not fit together."""
        if not isinstance(data, Mapping) or data.get("kind") != "logistic":
            raise FeatureModelError("the feature model must be an object of kind 'logistic'")
        try:
            return cls(tuple(str(f) for f in data["features"]), tuple(str(c) for c in data["classes"]),
                       np.asarray(data["medians"], float), np.asarray(data["flagged"], int).reshape(-1),
                       np.asarray(data["mean"], float), np.asarray(data["scale"], float),
                       np.asarray(data["coef"], float), np.asarray(data["intercept"], float),
                       float(data.get("temperature", 1.0)), tuple(str(x) for x in data.get("layouts", ())))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, FeatureModelError):
                raise
            raise FeatureModelError(f"the feature model is incomplete or not numeric ({exc})") from exc


def _floats(values: np.ndarray) -> list[float]:
    """Floats with 7 significant digits (a score moves by far less than the models differ)."""
    return [float(f"{v:.7g}") for v in np.asarray(values, float)]
