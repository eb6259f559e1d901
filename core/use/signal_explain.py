"""Diagnosis from the digitised signals: a signal bundle's probabilities and where in time, in
which lead, it looked (a 1-D Grad-CAM per lead).

A signal model (``core.learn.signal_models``: metadata ``input == "signals"``) takes the page as
the reader digitised it (``core.learn.signal_data.page_tensor``: every lead's 2.5 s window in mV and
the 10 s rhythm strip), whatever the printer or layout. Its ``last_conv`` layer is (lead, time,
filters): the keras.io Grad-CAM recipe over that plane gives one heat curve per lead over time,
which is drawn on the extracted 12-lead plot; its share per lead says which leads drove the decision.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image

from core.bundles import reads_signals  # noqa: F401 - part of this module's face
from core.ecg import LEADS, territory_of_lead
from core.learn import SEGMENT_N, page_tensor, stack, window_start

# The heat covers a lead's trace and this much paper above and below it: its waves, not the next row.
_BAND_MM = 3.0
_HEAT_RED = (211, 47, 47)     # #d32f2f, the red of the 12-lead saliency plot (core.charts.signal_saliency_chart)


def signal_batch(leads: dict, model_inputs: tuple[str, ...]) -> dict[str, np.ndarray]:
    """A batch of one page tensor, holding the inputs the model takes (``leads``, maybe ``rhythm``)."""
    batch = stack([page_tensor(leads)])
    return {name: batch[name] for name in model_inputs}


def input_names(model) -> tuple[str, ...]:
    """The names of a signal model's inputs (``leads``, ``rhythm``)."""
    return tuple(t.name.split(":")[0] for t in model.inputs)


def signal_probabilities(model, batch: dict[str, np.ndarray]) -> np.ndarray:
    """The model's class probabilities for a batch of one page, as a (K,) array."""
    return np.asarray(model(batch, training=False))[0].astype("float64")


@dataclass(frozen=True)
class SignalSaliency:
    """Where the signal model looked: per lead, a heat curve over its 2.5 s window in [0, 1]
    (1 at the hottest point of the page), and the explained class."""

    class_name: str
    heat: dict[str, np.ndarray]        # lead name → (SEGMENT_N,) heat per sample
    flat: bool                         # nothing raised the class's score at the explained layer


def signal_gradcam(model, batch: dict[str, np.ndarray], class_index: int, class_name: str) -> SignalSaliency:
    """The 1-D Grad-CAM of ``class_index`` for one page: gradients of the class score pooled over
    (lead, time) weight the ``last_conv`` maps; the weighted sum, rectified, is the heat."""
    import keras
    import tensorflow as tf

    from core.learn import LAST_CONV

    passes = keras.Model(model.inputs, [model.get_layer(LAST_CONV).output, model.output])
    tensors = {k: tf.constant(v, tf.float32) for k, v in batch.items()}
    with tf.GradientTape() as tape:
        maps, scores = passes(tensors, training=False)
        score = scores[:, class_index]
    grads = tape.gradient(score, maps, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    weights = tf.reduce_mean(grads, axis=(1, 2))
    cam = tf.nn.relu(tf.reduce_sum(maps * weights[:, None, None, :], axis=-1))[0].numpy()   # (leads, steps)
    steps = np.linspace(0, cam.shape[1] - 1, SEGMENT_N)       # back to the input's samples
    curves = np.stack([np.interp(steps, np.arange(cam.shape[1]), row) for row in cam])
    peak = float(curves.max())
    curves = curves / peak if peak > 0 else np.zeros_like(curves)
    return SignalSaliency(class_name, dict(zip(LEADS, curves)), peak <= 0)


def signal_lead_shares(saliency: SignalSaliency) -> pd.DataFrame:
    """Share of the heat in each lead, hottest first, in the columns of ``core.ecg.lead_shares``
    (so the lead chart and the territory sentence work the same for both kinds of model)."""
    totals = {lead: float(h.sum()) for lead, h in saliency.heat.items()}
    whole = sum(totals.values())
    rows = [{"lead": lead, "share": total / whole if whole > 0 else 0.0,
             "total_share": total / whole if whole > 0 else 0.0,
             "mean": float(saliency.heat[lead].mean()), "peak": float(saliency.heat[lead].max()),
             "territory": territory_of_lead(lead)} for lead, total in totals.items()]
    return pd.DataFrame(rows).sort_values("share", ascending=False, kind="stable").reset_index(drop=True)


def saliency_frame(batch: dict[str, np.ndarray], saliency: SignalSaliency, *, every: int = 2) -> pd.DataFrame:
    """What the model saw and where it looked, one row per plotted sample: ``lead``, ``time_s``
    (within the lead's 2.5 s window), ``mv`` (NaN where the reader saw no trace) and ``heat``.
    ``every`` thins the 500 Hz samples for drawing."""
    from core.learn import SIGNAL_SPEC

    fs = SIGNAL_SPEC["fs"]
    frames = []
    for i, lead in enumerate(LEADS):
        mv, mask = batch["leads"][0, i, ::every, 0], batch["leads"][0, i, ::every, 1]
        frames.append(pd.DataFrame({"lead": lead, "time_s": np.arange(len(mv)) * every / fs,
                                    "mv": np.where(mask > 0, mv, np.nan), "heat": saliency.heat[lead][::every]}))
    return pd.concat(frames, ignore_index=True)


def signal_heat_on_sheet(reading, saliency: SignalSaliency) -> np.ndarray | None:
    """The 1-D Grad-CAM put back where each lead's window is printed, on the sheet the reader
    straightened (``reading.work_rgb``'s height × width, values in [0, 1]), for
    :func:`core.use.overlay`: each window sample's heat fills its pen column over the lead's trace
    band. None when the reader kept no sheet; leads it did not read stay cold."""
    from core.ecg.reader import WORK_PX_PER_MM

    if reading.work_rgb is None:
        return None
    height, width = reading.work_rgb.shape[:2]
    heat = np.zeros((height, width), np.float32)
    margin = _BAND_MM * WORK_PX_PER_MM
    for lead, curve in saliency.heat.items():
        signal, paths = reading.leads.get(lead), reading.paths.get(lead)
        if signal is None or not paths or len(signal.mv) < 2 or not np.isfinite(paths[0].y).any():
            continue
        path = paths[0]
        samples = window_start(len(signal.mv)) + np.arange(len(curve))
        inside = samples < len(signal.mv)
        # The lead's samples run evenly along its pen path, from its first column to its last.
        columns = np.interp(samples[inside], [0, len(signal.mv) - 1], [path.x[0], path.x[-1]])
        columns = np.clip(np.round(columns).astype(int), 0, width - 1)
        column_heat = np.zeros(width, np.float32)
        np.maximum.at(column_heat, columns, curve[inside].astype(np.float32))
        top = int(max(0, np.nanmin(path.y) - margin))
        bottom = int(min(height, np.nanmax(path.y) + margin + 1))
        heat[top:bottom] = np.maximum(heat[top:bottom], column_heat[None, :])
    return heat


def signal_overlay(reading, saliency: SignalSaliency, *, strength: float = 0.8) -> Image.Image | None:
    """The straightened sheet with the 1-D Grad-CAM laid on it as the opacity of one red, as on the
    12-lead plot (paper without heat is left as it is). None when the reader kept no sheet."""
    heat = signal_heat_on_sheet(reading, saliency)
    if heat is None:
        return None
    alpha = (strength * heat)[..., None]
    tinted = reading.work_rgb * (1 - alpha) + np.array(_HEAT_RED, np.float32) * alpha
    return Image.fromarray(np.round(tinted).astype(np.uint8))
