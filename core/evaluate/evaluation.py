"""Evaluate a saved model honestly on labelled images.

:func:`evaluate_bundle` predicts every image once (both raw and calibrated) and keeps what the
metrics need; every other function here is a pure function from that :class:`Evaluation` to a
``DataFrame`` (or a small dict), shared by the Evaluate page and ``python -m core evaluate``.

Classes are matched by canonical name, so a dataset may hold fewer classes than the model (four
ECG classes against a five-class model). A prediction of a class the data does not hold counts
as an error for the true class; data classes the model does not know are reported and left out.
Per-class and macro averages are taken over the classes present in the data.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.classes import canonical_class
from core.learn import apply_temperature, expected_calibration_error

SPLITS = ("test", "all")
REPORT_METRICS = ("precision", "recall", "f1-score")


# --- which images, which classes ----------------------------------------------------------------

def evaluation_index(index: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """The rows of a prepared dataset index to evaluate: its ``test`` split or ``all`` of it."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    if split == "all":
        return index.reset_index(drop=True)
    if "split" not in index.columns:
        raise ValueError("this dataset has no train/val/test split; evaluate all of it (--split all)")
    rows = index[index["split"] == "test"]
    if rows.empty:
        raise ValueError("the test split of this dataset is empty; evaluate all of it (--split all)")
    return rows.reset_index(drop=True)


def trained_on(index: pd.DataFrame, fingerprint: Sequence[str], *, min_share: float = 0.5) -> bool:
    """Whether a model whose training fingerprint (SHA-1s) is ``fingerprint`` was trained on this
    dataset: at least ``min_share`` of its images are training images.

    A training split holds about 70 % of its dataset, so half tells the model's own dataset (its test
    split is then the fair choice) from another one (where every image is new to it). Paths are not
    compared: the same pages live in different folders on different machines.
    """
    if not len(fingerprint) or index.empty or "sha1" not in index.columns:
        return False
    return float(index["sha1"].isin(set(fingerprint)).mean()) >= min_share


def default_split(index: pd.DataFrame, fingerprint: Sequence[str]) -> str:
    """``test`` on the model's own dataset, else ``all``: a dataset it never saw is a test set whole."""
    return "test" if trained_on(index, fingerprint) and "split" in index.columns else "all"


@dataclass(frozen=True)
class ClassMatch:
    """How a dataset's class names map onto a model's outputs."""

    mapping: dict[str, int]    # data class -> index of the model output with the same canonical name
    unknown: list[str]         # data classes the model cannot predict


def match_classes(model_classes: Sequence[str], data_classes: Sequence[str]) -> ClassMatch:
    """Match data classes to model classes by canonical name (``mi`` and ``Myocardial
    Infarction`` are the same class)."""
    by_name = {canonical_class(c): i for i, c in enumerate(model_classes)}
    mapping, unknown = {}, []
    for name in data_classes:
        i = by_name.get(canonical_class(name))
        if i is None:
            unknown.append(name)
        else:
            mapping[name] = i
    return ClassMatch(mapping, unknown)


# --- predicting ---------------------------------------------------------------------------------

@dataclass
class Evaluation:
    """One model's predictions on one set of labelled images, and what is needed to judge them.

    ``probs`` are calibrated with the bundle's temperature (what Predict shows); ``raw_probs`` are
    the network's own softmax outputs (temperature 1). ``y_true`` indexes ``classes``.
    """

    classes: list[str]
    predictions: pd.DataFrame       # path, true, predicted, confidence, correct, sha1
    probs: np.ndarray
    raw_probs: np.ndarray
    y_true: np.ndarray
    temperature: float = 1.0
    unknown_classes: dict[str, int] = field(default_factory=dict)
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["path", "reason"]))
    leakage: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["path", "match"]))
    params: int = 0
    ms_per_image: float = float("nan")

    @classmethod
    def from_probabilities(cls, classes: Sequence[str], y_true: Sequence[int], raw_probs: np.ndarray, *,
                           temperature: float = 1.0, paths: Sequence[str] | None = None,
                           sha1: Sequence[str] | None = None, calibrated: np.ndarray | None = None,
                           **extra) -> "Evaluation":
        """An evaluation of network outputs ``raw_probs`` (temperature 1) against ``y_true``;
        ``calibrated`` replaces their temperature-scaled form (a network fused with measurements)."""
        classes = list(classes)
        y_true = np.asarray(y_true, dtype=int)
        raw = np.asarray(raw_probs, dtype=float).reshape(len(y_true), len(classes))
        probs = apply_temperature(raw, temperature) if temperature != 1.0 and len(raw) else raw
        if calibrated is not None:
            probs = np.asarray(calibrated, dtype=float).reshape(raw.shape)
        y_pred = probs.argmax(axis=1) if len(probs) else np.zeros(0, int)
        predictions = pd.DataFrame({
            "path": list(paths) if paths is not None else [f"image-{i}" for i in range(len(y_true))],
            "true": [classes[i] for i in y_true],
            "predicted": [classes[i] for i in y_pred],
            "confidence": probs.max(axis=1) if len(probs) else np.zeros(0),
            "correct": y_true == y_pred,
            "sha1": list(sha1) if sha1 is not None else None,
        })
        return cls(classes=classes, predictions=predictions, probs=probs, raw_probs=raw, y_true=y_true,
                   temperature=temperature, **extra)

    @property
    def y_pred(self) -> np.ndarray:
        return self.probs.argmax(axis=1) if len(self.probs) else np.zeros(0, int)

    @property
    def present(self) -> list[int]:
        """Indices of the classes the data holds (in the model's order)."""
        return sorted(set(self.y_true.tolist()))

    @property
    def labels(self) -> list[str]:
        """Rows and columns of the confusion matrix: classes in the data or predicted, model order."""
        used = set(self.y_true.tolist()) | set(self.y_pred.tolist())
        return [c for i, c in enumerate(self.classes) if i in used]

    @property
    def n_images(self) -> int:
        return int(len(self.y_true))

    @property
    def ece(self) -> float:
        return expected_calibration_error(self.probs, self.y_true)

    @property
    def ece_uncalibrated(self) -> float:
        return expected_calibration_error(self.raw_probs, self.y_true)

    @property
    def n_leaked(self) -> int:
        return int(len(self.leakage))


Progress = Callable[[int, int], None]


def is_fused(metadata) -> bool:
    """Whether a bundle's network votes with what the reader digitised (``core.learn.fusion``)."""
    from core.learn.fusion import vote_names

    return bool(vote_names(metadata))


def pages_to_read(metadata, index: pd.DataFrame) -> int:
    """How many distinct pages of ``index`` the page reader must read before a model that uses the
    digitised ECG (a signal model, or one fused with measurements) can be evaluated on them (the rest
    are cached); 0 for a model that only looks at the image, or an index without content hashes."""
    from core.bundles import reads_signals
    from core.learn.signal_cache import cached_pages

    if not (reads_signals(metadata) or is_fused(metadata)) or "sha1" not in index.columns:
        return 0
    hashes = index["sha1"].dropna()
    return int(hashes.nunique() - cached_pages(hashes))


def evaluate_bundle(bundle, index: pd.DataFrame, *, reference: pd.DataFrame | None = None,
                    skipped: pd.DataFrame | None = None, progress: Progress | None = None,
                    votes: bool = True) -> Evaluation:
    """Predict the images of ``index`` (``path``, ``class``, ideally ``sha1``/``phash``) with ``bundle``.

    Images go through the bundle's own preprocessing (cached by content hash), exactly as in
    :func:`core.learn.inference.predict_files`; the network runs once and both the raw and the
    temperature-calibrated probabilities are kept. ``reference`` is the whole dataset the images
    come from: it lets the leakage check find near duplicates of training images. ``votes=False``
    scores a network that votes with what is read from each page (``core.learn.fusion``) alone.
    """
    from core.bundles import reads_signals
    from core.learn import (bundle_preprocessing, predict_arrays, predict_signalnet, prepare_images,
                            prepare_signal_pages, temperature_of)

    classes = list(bundle.metadata.classes)
    match = match_classes(classes, sorted(index["class"].unique()) if len(index) else [])
    if len(index) and not match.mapping:
        raise ValueError(f"none of the data's classes ({', '.join(match.unknown)}) is a class of this "
                         f"model ({', '.join(classes)}); nothing to evaluate")
    known = index[index["class"].isin(match.mapping)].reset_index(drop=True)
    unknown = index[~index["class"].isin(match.mapping)]
    unknown_counts = {str(k): int(v) for k, v in unknown["class"].value_counts().sort_index().items()}

    hashes = known["sha1"].tolist() if "sha1" in known.columns else None
    if reads_signals(bundle.metadata):      # a signal model: the pages as the reader digitised them
        prepared = prepare_signal_pages(known["path"].tolist(), hashes=hashes, progress=progress)
        inputs, predict = prepared.tensors, predict_signalnet
    else:
        prepared = prepare_images(known["path"].tolist(), bundle_preprocessing(bundle.metadata),
                                  hashes=hashes, progress=progress)
        inputs, predict = prepared.images, predict_arrays
    rows = known.iloc[prepared.kept].reset_index(drop=True)
    raw, ms = _timed_predict(bundle.model, inputs, predict)
    calibrated = _fused_with_measurements(bundle, raw, rows, progress) if votes else None
    y_true = rows["class"].map(match.mapping).to_numpy(dtype=int)
    unreadable = pd.DataFrame({"path": list(prepared.errors), "reason": list(prepared.errors.values())})
    all_skipped = _concat([df[["path", "reason"]] for df in (skipped, unreadable)
                           if df is not None and len(df)], ["path", "reason"])
    return Evaluation.from_probabilities(
        classes, y_true, raw, temperature=temperature_of(bundle.metadata),
        paths=rows["path"].astype(str).tolist(),
        sha1=rows["sha1"].tolist() if "sha1" in rows.columns else None, calibrated=calibrated,
        unknown_classes=unknown_counts, skipped=all_skipped,
        leakage=leakage_check(rows, bundle.metadata.dataset.get("fingerprint") or [], reference=reference),
        params=int(bundle.model.count_params()), ms_per_image=ms,
    )


def _fused_with_measurements(bundle, raw: np.ndarray, rows: pd.DataFrame,
                              progress: Progress | None) -> np.ndarray | None:
    """The calibrated probabilities of a bundle whose network votes with what the reader digitised
    (measurements, a signal CNN: ``core.learn.fusion``), as Predict gives them; None for a bundle
    without such votes. Every page is read (cached)."""
    from core.learn import apply_temperature, temperature_of
    from core.learn.fusion import bundle_votes, fused_probabilities, page_votes

    measurement, network, classes = bundle_votes(bundle)
    if not classes or not len(rows):
        return None
    votes = page_votes(measurement, network, rows["path"].astype(str).tolist(),
                       hashes=rows["sha1"].tolist() if "sha1" in rows.columns else None, progress=progress)
    return fused_probabilities(apply_temperature(raw, temperature_of(bundle.metadata)), bundle.metadata.classes,
                               list(votes.values()), classes)


def outcome_evaluation(outcome) -> Evaluation:
    """The test split of a training outcome (``core.learn.training.TrainOutcome``, image or signal
    model) as an evaluation: what the Train page's confusion matrix shows as soon as a run ends."""
    from core.learn.training import raw_probability_column

    table = outcome.test_predictions
    raw = table[[raw_probability_column(c) for c in outcome.classes]].to_numpy(dtype=float)
    return Evaluation.from_probabilities(outcome.classes, table["true"].map(outcome.classes.index).to_numpy(), raw,
                                         temperature=outcome.temperature, paths=table["path"].astype(str).tolist())


def _timed_predict(model, images: np.ndarray | dict[str, np.ndarray], predict) -> tuple[np.ndarray, float]:
    """Probabilities at temperature 1 and the forward-pass time per image in milliseconds (after
    one warm-up call, so graph tracing is not counted); ``images`` may be a signal model's tensors."""
    n = len(next(iter(images.values()))) if isinstance(images, dict) else len(images)
    if n == 0:
        return np.zeros((0, model.output_shape[-1])), float("nan")
    predict(model, {k: v[:1] for k, v in images.items()} if isinstance(images, dict) else images[:1])
    started = time.perf_counter()
    probs = predict(model, images)
    return probs, (time.perf_counter() - started) * 1000 / n


# --- leakage ------------------------------------------------------------------------------------

def leakage_check(index: pd.DataFrame, fingerprint: Sequence[str], *,
                  reference: pd.DataFrame | None = None, max_distance: int | None = None) -> pd.DataFrame:
    """Evaluation images that the model saw during training: one row per leaked image with
    ``path``, ``match`` (``exact`` or ``near``) and the training image it matches.

    Exact: the image's SHA-1 is in the bundle's training fingerprint. Near: its perceptual hash
    (``phash``) is within ``max_distance`` bits (default: the duplicate finder's threshold) of a
    training image's. The fingerprint holds only SHA-1s, so training images' perceptual hashes are
    looked up in ``reference``, the dataset the images come from.
    """
    from core.data import NEAR_DUPLICATE_THRESHOLD

    columns = ["path", "match", "training_image"]
    if not len(fingerprint) or index.empty or "sha1" not in index.columns:
        return pd.DataFrame(columns=columns)
    trained = set(fingerprint)
    is_exact = index["sha1"].isin(trained)
    rows = [{"path": p, "match": "exact", "training_image": p} for p in index.loc[is_exact, "path"]]

    if reference is not None and "phash" in index.columns and "phash" in reference.columns:
        candidates = index[~is_exact & index["phash"].map(_usable_hash)]
        training = reference[reference["sha1"].isin(trained) & reference["phash"].map(_usable_hash)]
        if len(candidates) and len(training):
            limit = NEAR_DUPLICATE_THRESHOLD if max_distance is None else max_distance
            nearest, distance = _nearest_hash(candidates["phash"].tolist(), training["phash"].tolist())
            for path, j, d in zip(candidates["path"], nearest, distance):
                if d <= limit:
                    rows.append({"path": path, "match": "near", "training_image": training["path"].iloc[j]})
    return pd.DataFrame(rows, columns=columns)


def _usable_hash(value) -> bool:
    return isinstance(value, str) and len(value) > 0


def _nearest_hash(queries: Sequence[str], targets: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """For each query hash, the index of the nearest target hash and its Hamming distance
    (one matrix product: bits that are 1 in one hash and 0 in the other)."""
    from core.data import hash_bits

    q = hash_bits(queries).astype(np.float32)
    t = hash_bits(targets).astype(np.float32)
    if q.shape[1] != t.shape[1]:
        return np.zeros(len(q), int), np.full(len(q), np.inf)
    distance = q @ (1 - t).T + (1 - q) @ t.T
    nearest = distance.argmin(axis=1)
    return nearest, distance[np.arange(len(q)), nearest]


# --- confusion matrix ---------------------------------------------------------------------------

def confusion_frame(ev: Evaluation, *, normalize: bool = False) -> pd.DataFrame:
    """Confusion matrix: true classes as rows, predicted classes as columns (``ev.labels`` order).

    ``normalize=True`` divides each row by its total (the share of a true class predicted as each
    class; a class with no images keeps a row of zeros).
    """
    from sklearn.metrics import confusion_matrix

    labels = ev.labels
    codes = [ev.classes.index(c) for c in labels]
    counts = confusion_matrix(ev.y_true, ev.y_pred, labels=codes) if len(labels) else np.zeros((0, 0), int)
    frame = pd.DataFrame(counts, index=pd.Index(labels, name="true"),
                         columns=pd.Index(labels, name="predicted"))
    if normalize:
        totals = frame.sum(axis=1).replace(0, 1)
        frame = frame.div(totals, axis=0)
    return frame


def confusion_cells(ev: Evaluation) -> pd.DataFrame:
    """The confusion matrix in long form for the heatmap: ``true``, ``predicted``, ``count`` and
    the row-normalised ``rate``."""
    counts = confusion_frame(ev).stack().rename("count")
    rates = confusion_frame(ev, normalize=True).stack().rename("rate")
    return pd.concat([counts, rates], axis=1).reset_index()


def cell_predictions(ev: Evaluation, true: str, predicted: str) -> pd.DataFrame:
    """The images in one confusion-matrix cell, most confident first."""
    p = ev.predictions
    return p[(p["true"] == true) & (p["predicted"] == predicted)].sort_values(
        "confidence", ascending=False)


# --- classification report with bootstrap intervals ---------------------------------------------

def _prf(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, labels: Sequence[int]):
    """Per-class precision, recall, F1, support and overall accuracy for many resamples at once.

    ``y_true``/``y_pred`` are (B, N); returns (B, L) arrays for the L ``labels`` plus (B,) accuracy.
    Undefined ratios (no prediction of a class, or no image of it in a resample) are NaN.
    """
    b, n = y_true.shape
    offset = (np.arange(b) * n_classes)[:, None]
    size = b * n_classes
    tp = np.bincount((offset + y_true)[y_true == y_pred], minlength=size).reshape(b, n_classes)
    support = np.bincount((offset + y_true).ravel(), minlength=size).reshape(b, n_classes)
    predicted = np.bincount((offset + y_pred).ravel(), minlength=size).reshape(b, n_classes)
    tp, support, predicted = (a[:, labels].astype(float) for a in (tp, support, predicted))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, np.where(support > 0, 0.0, np.nan))
        recall = np.where(support > 0, tp / support, np.nan)
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), np.nan)
        f1 = np.where(support > 0, f1, np.nan)
    accuracy = (y_true == y_pred).mean(axis=1) if n else np.full(b, np.nan)
    return precision, recall, f1, support, accuracy


def classification_report_frame(ev: Evaluation, *, n_resamples: int = 1000, seed: int = 0,
                                confidence: float = 0.95) -> pd.DataFrame:
    """scikit-learn's classification report as a table, with bootstrap confidence intervals.

    Rows: each class present in the data, then ``accuracy``, ``macro avg`` and ``weighted avg``.
    Columns: ``precision``, ``recall``, ``f1-score``, ``support`` and ``<metric>_low``/``_high``
    bounds of the ``confidence`` percentile interval over ``n_resamples`` resamples of the images
    (seeded, so the same evaluation always gives the same interval). ECG test sets are small;
    the interval shows how much a score could move with a different draw of pages.
    """
    from sklearn.metrics import classification_report

    present = ev.present
    names = [ev.classes[i] for i in present]
    columns = [*REPORT_METRICS, "support", *(f"{m}_{s}" for m in REPORT_METRICS for s in ("low", "high"))]
    if not present:
        return pd.DataFrame(columns=columns)
    report = classification_report(ev.y_true, ev.y_pred, labels=present, target_names=names,
                                   output_dict=True, zero_division=0)
    accuracy = float(np.mean(ev.y_true == ev.y_pred))
    table = pd.DataFrame({name: report[name] for name in [*names, "macro avg", "weighted avg"]}).T
    table.loc["accuracy"] = {"precision": accuracy, "recall": accuracy, "f1-score": accuracy,
                             "support": ev.n_images}
    table = table.loc[[*names, "accuracy", "macro avg", "weighted avg"]]

    rng = np.random.default_rng(seed)
    draws = rng.integers(0, ev.n_images, size=(n_resamples, ev.n_images))
    precision, recall, f1, support, acc = _prf(ev.y_true[draws], ev.y_pred[draws], len(ev.classes), present)
    per_metric = {"precision": precision, "recall": recall, "f1-score": f1}
    tail = (1 - confidence) / 2 * 100
    weights = support / support.sum(axis=1, keepdims=True)
    for metric, values in per_metric.items():
        rows = {name: values[:, j] for j, name in enumerate(names)}
        rows["accuracy"] = acc
        rows["macro avg"] = np.nanmean(values, axis=1)
        rows["weighted avg"] = np.nansum(np.nan_to_num(values) * weights, axis=1)
        for row, samples in rows.items():
            low, high = (np.nanpercentile(samples, [tail, 100 - tail]) if np.isfinite(samples).any()
                         else (np.nan, np.nan))
            table.loc[row, f"{metric}_low"] = low
            table.loc[row, f"{metric}_high"] = high
    table["support"] = table["support"].astype(int)
    return table[columns].rename_axis("class")


def per_class_summary(ev: Evaluation) -> dict[str, dict[str, float]]:
    """``{class: {precision, recall, f1, support}}`` for the classes present in the data."""
    from sklearn.metrics import precision_recall_fscore_support

    present = ev.present
    if not present:
        return {}
    p, r, f, s = precision_recall_fscore_support(ev.y_true, ev.y_pred, labels=present, zero_division=0)
    return {ev.classes[i]: {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]),
                            "support": int(s[j])} for j, i in enumerate(present)}


def accuracy(ev: Evaluation) -> float:
    return float(np.mean(ev.y_true == ev.y_pred)) if ev.n_images else float("nan")


def macro_f1(ev: Evaluation) -> float:
    """F1 averaged over the classes present in the data (predictions of other classes lower it
    through the recall of the true class)."""
    from sklearn.metrics import f1_score

    if not ev.n_images:
        return float("nan")
    return float(f1_score(ev.y_true, ev.y_pred, labels=ev.present, average="macro", zero_division=0))


# --- curves -------------------------------------------------------------------------------------

def _one_vs_rest(ev: Evaluation) -> list[tuple[int, np.ndarray]]:
    """Classes with both positive and negative images (a curve needs both), with their 0/1 truth."""
    return [(i, (ev.y_true == i).astype(int)) for i in ev.present
            if 0 < (ev.y_true == i).sum() < ev.n_images]


def roc_curves(ev: Evaluation) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One-vs-rest ROC curves (``class``, ``fpr``, ``tpr``, ``threshold``) and per-class AUC."""
    from sklearn.metrics import roc_auc_score, roc_curve

    curves, aucs = [], []
    for i, truth in _one_vs_rest(ev):
        fpr, tpr, thresholds = roc_curve(truth, ev.probs[:, i])
        curves.append(pd.DataFrame({"class": ev.classes[i], "fpr": fpr, "tpr": tpr,
                                    "threshold": np.minimum(thresholds, 1.0)}))
        aucs.append({"class": ev.classes[i], "auc": float(roc_auc_score(truth, ev.probs[:, i]))})
    return _concat(curves, ["class", "fpr", "tpr", "threshold"]), pd.DataFrame(aucs, columns=["class", "auc"])


def pr_curves(ev: Evaluation) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One-vs-rest precision–recall curves (``class``, ``recall``, ``precision``) and per-class
    area under them (average precision), with each class's share of the images as ``baseline``."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    curves, aps = [], []
    for i, truth in _one_vs_rest(ev):
        precision, recall, _ = precision_recall_curve(truth, ev.probs[:, i])
        curves.append(pd.DataFrame({"class": ev.classes[i], "recall": recall, "precision": precision}))
        aps.append({"class": ev.classes[i], "auc": float(average_precision_score(truth, ev.probs[:, i])),
                    "baseline": float(truth.mean())})
    return (_concat(curves, ["class", "recall", "precision"]),
            pd.DataFrame(aps, columns=["class", "auc", "baseline"]))


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


# --- calibration --------------------------------------------------------------------------------

def reliability_bins(probs: np.ndarray, y_true: np.ndarray, *, n_bins: int = 10) -> pd.DataFrame:
    """Equal-width confidence bins with the mean ``confidence``, the ``accuracy`` and the number of
    predictions in each (the same bins as :func:`core.learn.calibration.expected_calibration_error`).
    Empty bins are left out."""
    columns = ["bin", "lower", "upper", "confidence", "accuracy", "count", "gap"]
    if len(y_true) == 0:
        return pd.DataFrame(columns=columns)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y_true
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    frame = (pd.DataFrame({"bin": bins, "confidence": confidence, "accuracy": correct.astype(float)})
             .groupby("bin").agg(confidence=("confidence", "mean"), accuracy=("accuracy", "mean"),
                                 count=("accuracy", "size")).reset_index())
    frame["lower"] = frame["bin"] / n_bins
    frame["upper"] = (frame["bin"] + 1) / n_bins
    frame["gap"] = frame["confidence"] - frame["accuracy"]
    return frame[columns]


def calibration_frame(ev: Evaluation, *, n_bins: int = 10) -> pd.DataFrame:
    """Reliability bins before (temperature 1) and after temperature scaling, stacked, with a
    ``calibration`` column naming each and its ECE."""
    parts = []
    for label, probs in (("before", ev.raw_probs), ("after", ev.probs)):
        bins = reliability_bins(probs, ev.y_true, n_bins=n_bins)
        bins.insert(0, "calibration", label)
        bins["ece"] = expected_calibration_error(probs, ev.y_true, n_bins=n_bins)
        parts.append(bins)
    return pd.concat(parts, ignore_index=True)


# --- errors, history, comparison ----------------------------------------------------------------

def confident_errors(ev: Evaluation, limit: int | None = None) -> pd.DataFrame:
    """Misclassified images, most confident first: the mistakes a user would trust most."""
    errors = ev.predictions[~ev.predictions["correct"]].sort_values("confidence", ascending=False,
                                                                  kind="stable")
    return errors.head(limit) if limit is not None else errors


def history_frame(history: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """A bundle's training history as one row per epoch (``epoch`` from 1, then each metric)."""
    if not history:
        return pd.DataFrame(columns=["epoch"])
    length = max(len(v) for v in history.values())
    frame = pd.DataFrame({k: list(v) + [np.nan] * (length - len(v)) for k, v in history.items()})
    frame.insert(0, "epoch", np.arange(1, length + 1))
    return frame


def comparison_table(evaluations: Mapping[str, Evaluation]) -> pd.DataFrame:
    """One row per model evaluated on the same images: accuracy, macro-F1, recall of each class,
    ECE, parameters, forward-pass milliseconds per image and how many images it trained on."""
    rows = []
    for name, ev in evaluations.items():
        row = {"model": name, "accuracy": accuracy(ev), "macro_f1": macro_f1(ev), "ece": ev.ece}
        for cls, values in per_class_summary(ev).items():
            row[f"recall {cls}"] = values["recall"]
        row.update(params=ev.params, ms_per_image=ev.ms_per_image, leaked_images=ev.n_leaked,
                   n_images=ev.n_images)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    recall_columns = [c for c in frame.columns if c.startswith("recall ")]
    return frame[["model", "accuracy", "macro_f1", "ece", "params", "ms_per_image", "leaked_images",
                  *recall_columns, "n_images"]]


def _finite(value: float) -> float | None:
    """NaN (no images, no timing) becomes ``None`` so the JSON stays standard."""
    return float(value) if np.isfinite(value) else None


def summary(ev: Evaluation) -> dict:
    """Everything ``python -m core evaluate --json`` prints, as plain JSON-ready values."""
    return {
        "accuracy": _finite(accuracy(ev)),
        "macro_f1": _finite(macro_f1(ev)),
        "per_class": per_class_summary(ev),
        "labels": ev.labels,
        "confusion_matrix": confusion_frame(ev).to_numpy().tolist(),
        "ece": _finite(ev.ece),
        "ece_uncalibrated": _finite(ev.ece_uncalibrated),
        "temperature": ev.temperature,
        "n_images": ev.n_images,
        "leakage": ev.n_leaked,
        "leaked": ev.leakage.to_dict("records"),
        "unknown_classes": ev.unknown_classes,
        "skipped": ev.skipped[["path", "reason"]].to_dict("records"),
        "ms_per_image": _finite(ev.ms_per_image),
        "predictions": [{"path": r.path, "true": r.true, "predicted": r.predicted,
                         "confidence": float(r.confidence)}
                        for r in ev.predictions.itertuples()],
    }
