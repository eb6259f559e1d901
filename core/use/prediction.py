"""One image in, everything the Predict page, the report and the CLI show out.

:func:`analyse_image` loads the upload, prepares it exactly as the bundle was trained, runs the
model once (class logits → calibrated probabilities) and makes the :class:`~core.use.diagnosis.Diagnosis`.
:func:`explain_image` adds a saliency map, :func:`lead_attribution` splits it by lead, and
:func:`predict_many` runs a batch (several files or a zip) into one table.
"""
from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
from scipy.special import softmax

from core.classes import CANONICAL_CLASSES, NON_ECG
from core.ecg import DEFAULT_LAYOUT, Territory, lead_regions, lead_shares, name_territory
from core.ecg.reader import PageReading, read_page_cached, to_rgb
from core.ecg.reader.sheet import looks_dark
from core.errors import USER_ERRORS
from core.ecg import Preprocessing
from core.learn import apply_temperature, bundle_preprocessing, probabilities_to_logits, temperature_of
from core.learn.fusion import MEASUREMENTS, SIGNAL_CNN, MeasuredVote, bundle_votes, fused_probabilities, measured_vote
from core.learn.signal_data import page_tensor, stack
from core.use.diagnosis import Diagnosis, Thresholds, diagnose
from core.use.explain import PageView, Saliency, explainer_for, heatmap_on_page, read_source, view_page
from core.use.ecg_check import CheckOutcome, check_outcome, ecg_evidence, model_domain
from core.use.ood import ecg_check_for
from core.use.signal_explain import (SignalSaliency, input_names, reads_signals, signal_batch, signal_gradcam,
                                     signal_probabilities)

IMAGE_TYPES = ("png", "jpg", "jpeg", "bmp", "webp")
MAX_ZIP_IMAGES = 500
MAX_ZIP_IMAGE_BYTES = 50 * 2**20
ATTRIBUTION_WIDTH = 480      # px of the page heat map used for lead shares (plenty for 12 regions)
DISPLAY_ONLY = Preprocessing(height=64, width=64)   # a signal model's page view is only shown, never fed to it


@dataclass
class ImageResult:
    """One analysed image: what the model saw, its outputs and the verdict."""

    name: str
    view: PageView
    classes: list[str]
    logits: np.ndarray           # (K,) pre-softmax outputs (log-probabilities if the model has no logits)
    probabilities: np.ndarray    # (K,) calibrated
    diagnosis: Diagnosis
    reading: PageReading | None = None     # what the page reader found (signals, quality)
    ecg_check: CheckOutcome | None = None  # the ECG check on the reader's evidence
    # A network that votes with what the reader digitised (core.learn.fusion): each vote on this page
    # over the ECG classes (``votes``), the measurements behind one, and the network's own probabilities.
    votes: dict[str, np.ndarray] = field(default_factory=dict)
    vote_classes: tuple[str, ...] = ()
    measured: MeasuredVote | None = None
    image_probabilities: np.ndarray | None = None

    @property
    def class_index(self) -> int:
        return self.classes.index(self.diagnosis.predicted)

    def probability_table(self) -> pd.DataFrame:
        """``class``, ``probability`` in the model's class order (for the bar chart)."""
        return pd.DataFrame({"class": self.classes, "probability": self.probabilities.astype(float)})

    def vote_table(self) -> pd.DataFrame | None:
        """For a network that voted with others: ``class``, ``part`` ("network", each vote,
        "combined") and ``probability`` (the votes cover the ECG classes only); else None."""
        if not self.votes or self.image_probabilities is None:
            return None
        parts = [("network", self.classes, self.image_probabilities),
                 *((name, self.vote_classes, probs) for name, probs in self.votes.items()),
                 ("combined", self.classes, self.probabilities)]
        return pd.DataFrame([{"class": c, "part": part, "probability": float(p)}
                             for part, classes, probs in parts for c, p in zip(classes, probs)])


def gradcam_layer_of(bundle) -> str | None:
    """The layer Grad-CAM should use, as stored in the bundle (None → guess from the model)."""
    layer = (bundle.metadata.extra or {}).get("gradcam_layer")
    names = {layer.name for layer in bundle.model.layers}
    return layer if layer in names else None


def analyse_image(bundle, source, *, name: str = "image") -> ImageResult:
    """Predict one image (path, bytes, file object or upload) with a loaded bundle: an image model
    looks at the page, a signal model (``core.use.signal_explain``) at the signals read from it.

    Raises :class:`core.imageio.ImageLoadError` (a ``ValueError``) for unreadable files.
    """
    metadata = bundle.metadata
    data = read_source(source)
    # The page itself, read: whether it is an ECG is decided from ECG evidence (grid, rows, beats,
    # lead laws), so a page from another printer or a phone is an ECG even when the model has never
    # seen its look. Read at full size, as the ECG check was calibrated; once per content.
    page = to_rgb(data)
    reading = read_page_cached(page)
    evidence = check_outcome(ecg_evidence(reading, page), model_domain(metadata))
    temperature = temperature_of(metadata)
    if reads_signals(metadata):
        view = view_page(data, DISPLAY_ONLY)
        probabilities = apply_temperature(
            signal_probabilities(bundle.model, signal_batch(reading.leads, input_names(bundle.model))), temperature)
        logits = probabilities_to_logits(probabilities)
        diagnosis = diagnose(probabilities, metadata.classes, page_check=evidence)
        return ImageResult(name, view, list(metadata.classes), logits, probabilities, diagnosis, reading, evidence)
    spec = bundle_preprocessing(metadata)
    view = view_page(data, spec)
    explainer = explainer_for(bundle.model, gradcam_layer_of(bundle))
    logits, features = explainer.logits_and_features(view.network_input[None])
    logits = logits[0]
    check = ecg_check_for(bundle, explainer, spec)
    # With a Non-ECG class the model answers "not an ECG" itself; without one, its features do.
    not_ecg = None if NON_ECG in metadata.classes else float(check.probability(features)[0])
    probabilities = softmax(logits / temperature)
    image_probabilities = probabilities
    measured, votes, vote_classes = _votes(bundle, reading)
    if votes:
        probabilities = fused_probabilities(probabilities, metadata.classes, list(votes.values()), vote_classes)[0]
    diagnosis = diagnose(probabilities, metadata.classes,
                         logits=logits if explainer.has_logits else None, not_ecg_probability=not_ecg,
                         thresholds=Thresholds.for_metadata(metadata, reference_energy=check.energy_threshold),
                         page_check=evidence)
    return ImageResult(name, view, list(metadata.classes), logits, probabilities, diagnosis, reading, evidence,
                       votes, vote_classes, measured, image_probabilities if votes else None)


def _votes(bundle, reading: PageReading) -> tuple[MeasuredVote | None, dict[str, np.ndarray], tuple[str, ...]]:
    """What the bundle's measurement model and signal CNN say of a page they may read (readable, a
    layout they were fitted on): (the measured vote, ``{name: probabilities}``, their classes). None
    of them on other pages: the network then decides alone."""
    measurement, network, classes = bundle_votes(bundle)
    measured, votes = None, {}
    if not classes or not reading.readable:
        return measured, votes, ()
    tensor = page_tensor(reading.leads)       # what both votes read, built once
    if measurement is not None and measurement.measures(reading.readable, reading.layout):
        measured = measured_vote(measurement, tensor)
        votes[MEASUREMENTS] = measured.probabilities
    if network is not None and network.measures(reading.readable, reading.layout):
        votes[SIGNAL_CNN] = network.probabilities(stack([tensor]))[0]
    return measured, votes, classes if votes else ()


def explain_image(bundle, result: ImageResult, method: str = "gradcam", *,
                  class_name: str | None = None) -> Saliency | SignalSaliency:
    """Saliency of ``class_name`` (default: the predicted class) for an analysed image: a map on
    the page for an image model; for a signal model, a 1-D Grad-CAM per lead (``method`` unused)."""
    index = result.classes.index(class_name) if class_name else result.class_index
    if reads_signals(bundle.metadata):
        batch = signal_batch(result.reading.leads, input_names(bundle.model))
        return signal_gradcam(bundle.model, batch, index, result.classes[index])
    explainer = explainer_for(bundle.model, gradcam_layer_of(bundle))
    return explainer.saliency(result.view.network_input, index, method)


def explain_signal_vote(bundle, result: ImageResult, class_name: str) -> tuple[SignalSaliency, dict] | None:
    """For a network that voted with a signal CNN (``core.learn.fusion``): that CNN's 1-D Grad-CAM of
    ``class_name`` on the page's leads and the batch it saw (for the chart); None when it did not vote."""
    network = bundle_votes(bundle)[1]
    if network is None or SIGNAL_CNN not in result.votes or class_name not in network.classes:
        return None
    batch = signal_batch(result.reading.leads, input_names(network.model))
    return signal_gradcam(network.model, batch, network.classes.index(class_name), class_name), batch


def page_heat(result: ImageResult, saliency: Saliency, *, width: int | None = None) -> np.ndarray:
    """The saliency map on the original image, at its size or ``width`` px wide."""
    w, h = result.view.image.size
    size = (width, max(1, round(h * width / w))) if width else (w, h)
    return heatmap_on_page(saliency.heatmap, result.view, size=size)


TRACE_REACH_PX = 4      # network pixels either side of a trace that still count as "on" it
MIN_INK_CONTRAST = 30   # grey levels between paper and the darkest pixel below which there is no ink


@dataclass(frozen=True)
class TraceShare:
    """How much of a saliency map lies on the traces: ``heat`` is the share of the map within
    ``TRACE_REACH_PX`` of ink, ``area`` that band's share of the input (what a map spread evenly
    would get); ``heat / area`` above 1 means the map favours the waveforms."""

    heat: float
    area: float


def trace_pixels(image: np.ndarray) -> np.ndarray:
    """Ink of an (h, w, 3) image: darker than halfway to the darkest pixel on paper, lighter than
    halfway to the lightest on a dark screen (light traces); none without ``MIN_INK_CONTRAST``."""
    values = np.asarray(image, dtype="float32")
    grey = -values.max(axis=-1) if looks_dark(values) else values.min(axis=-1)
    paper, extreme = float(np.median(grey)), float(grey.min())
    if paper - extreme < MIN_INK_CONTRAST:
        return np.zeros(grey.shape, bool)
    return grey < (paper + extreme) / 2


def heat_on_traces(result: ImageResult, saliency: Saliency) -> TraceShare:
    """The share of ``saliency`` that lies on or next to the ECG traces of ``result``'s input.

    Trace pixels are those further than halfway from the paper (the median, as most of a page is
    paper) towards the most extreme pixel: at small input sizes a thin trace is averaged to grey, so
    no fixed grey level would do. On a dark screen the traces are the light pixels.
    """
    from scipy import ndimage

    near = ndimage.binary_dilation(trace_pixels(result.view.network_input), iterations=TRACE_REACH_PX)
    total = float(saliency.heatmap.sum())
    return TraceShare(float(saliency.heatmap[near].sum()) / total if total > 0 else 0.0, float(near.mean()))


def lead_attribution(result: ImageResult, saliency: Saliency, *, layout: str = DEFAULT_LAYOUT,
                     boxes: dict | None = None) -> tuple[pd.DataFrame, Territory]:
    """Per-lead share of saliency and the territory it points to.

    ``boxes`` (page fractions, e.g. a synthetic page's ``lead_boxes``) replace the standard layout
    placed on the detected grid.
    """
    regions = boxes or lead_regions(result.view.layout_box, layout)
    shares = lead_shares(page_heat(result, saliency, width=ATTRIBUTION_WIDTH), regions)
    return shares, name_territory(shares, predicted=result.diagnosis.predicted)


# --- batches ---------------------------------------------------------------------------------------

def images_from_zip(data: bytes) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of the image files in a zip (by extension; folders and junk skipped).

    Raises ``ValueError`` for a file that is not a zip or holds more than :data:`MAX_ZIP_IMAGES`
    images; members larger than :data:`MAX_ZIP_IMAGE_BYTES` are refused rather than inflated.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a readable zip file ({exc})") from exc
    members = [info for info in archive.infolist()
               if not info.is_dir() and not info.filename.startswith("__MACOSX/")
               and not PurePosixPath(info.filename).name.startswith(".")
               and PurePosixPath(info.filename).suffix.lower().lstrip(".") in IMAGE_TYPES]
    if len(members) > MAX_ZIP_IMAGES:
        raise ValueError(f"the zip holds {len(members)} images; at most {MAX_ZIP_IMAGES} are predicted at once")
    images = []
    for info in members:
        if info.file_size > MAX_ZIP_IMAGE_BYTES:
            raise ValueError(f"{info.filename} is {info.file_size / 2**20:.0f} MB uncompressed; "
                             f"images larger than {MAX_ZIP_IMAGE_BYTES // 2**20} MB are refused")
        with archive.open(info) as handle:
            images.append((info.filename, handle.read(MAX_ZIP_IMAGE_BYTES + 1)))
    return images


def result_row(result: ImageResult) -> dict:
    """One flat row of a batch table (used by the page and the CLI)."""
    from core.use.guidance import risk_of

    d = result.diagnosis
    return {"file": result.name, "predicted": d.predicted, "confidence": round(d.confidence, 4),
            "status": d.status, "risk": risk_of(d) or "", "error": "",
            **{f"p({c})": round(float(p), 4) for c, p in zip(result.classes, result.probabilities)}}


def predict_many(bundle, items: Iterable[tuple[str, object]], *,
                 progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Predict ``(name, source)`` pairs into one table; unreadable files get an ``error`` and the
    others still run."""
    items = list(items)
    rows = []
    for done, (name, source) in enumerate(items, start=1):
        # A non-UTF-8 file name (Latin-1 bytes on disk) cannot go into a text column; show U+FFFD.
        name = os.fsencode(name).decode("utf-8", "replace") if isinstance(name, str) else str(name)
        try:
            rows.append(result_row(analyse_image(bundle, source, name=name)))
        except USER_ERRORS as exc:
            rows.append({"file": name, "predicted": "", "confidence": None, "status": "", "risk": "",
                         "error": str(exc)})
        if progress:
            progress(done, len(items))
    columns = ["file", "predicted", "confidence", "status", "risk", "error",
               *[f"p({c})" for c in bundle.metadata.classes]]
    return pd.DataFrame(rows, columns=columns)


# --- bundled examples ------------------------------------------------------------------------------

EXAMPLES_DIR_NAME = "examples"


@dataclass(frozen=True)
class Example:
    """An image shipped in ``assets/examples/``; synthetic ones know where their finding is."""

    name: str
    path: str
    label: str
    true_class: str = ""
    finding: str = ""
    leads: tuple[str, ...] = ()
    lead_boxes: dict | None = None


def bundled_examples(folder=None) -> list[Example]:
    """The example images (``assets/examples/``), described by ``examples.json`` when present.

    A missing or empty folder gives an empty list; images without a description are listed by name.
    """
    import json
    from pathlib import Path

    from core.ecg import parse_boxes
    from core.paths import ASSETS_DIR

    folder = Path(folder) if folder else ASSETS_DIR / EXAMPLES_DIR_NAME
    if not folder.is_dir():
        return []
    described: dict[str, dict] = {}
    index = folder / "examples.json"
    if index.is_file():
        try:
            described = {e["file"]: e for e in json.loads(index.read_text(encoding="utf-8")).get("examples", [])}
        except (ValueError, KeyError, TypeError, AttributeError):
            described = {}
    examples = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower().lstrip(".") not in IMAGE_TYPES or path.name.startswith("."):
            continue
        entry = described.get(path.name, {})
        cls, finding = entry.get("class", ""), entry.get("finding", "")
        kind = ("real page" if str(entry.get("source", "")).startswith("Mendeley")
                else "synthetic" if str(entry.get("source", "")).startswith("core.synth") else "")
        stem = path.stem.removeprefix("non_ecg_").replace("_", " ").replace("-", " ")
        if kind == "real page":
            label = f"{cls} — real page (Mendeley dataset)"
        elif cls:
            detail = finding if finding and finding != cls else (entry.get("layout") or stem)
            label = f"{cls} — {kind or 'example'}: {detail}"
        else:
            label = stem
        boxes = parse_boxes(entry["lead_boxes"]) if entry.get("lead_boxes") else None
        leads = tuple(x for x in str(entry.get("leads", "")).split(";") if x)
        examples.append(Example(path.name, str(path), label, cls, finding, leads, boxes))
    # ECG classes first in their canonical order, real pages before synthetic ones, Non-ECG last.
    rank = {c: i for i, c in enumerate(CANONICAL_CLASSES)}
    examples.sort(key=lambda e: (rank.get(e.true_class, len(rank)), "real page" not in e.label, e.name))
    return examples
