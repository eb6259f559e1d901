"""Lead signals from the trace mask: follow the pen column by column, keep the peaks, resample.

In a steep QRS stroke one pixel column holds a tall run of ink, and its mean row (what a simple
reader takes) cuts the R and S peaks short. Here each column's run nearest the pen's previous
position is taken and, when taller than the pen, read at its end farther from the baseline, so
the pen path keeps its extremes. The isoelectric level is the
most frequent level of the segment (where the pen rests between beats).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.ecg.reader.layout import Layout, Segment, row_px_per_s

FS = 500
_REACQUIRE_COLS = 5
_RETURN_MM = 3.0          # longer than a QRS: a pen this long off its baseline follows another lead
_FAR_SHARE = 0.25         # of the band (two rows tall): half a row from the baseline is off it
_NEAR_SHARE = 0.1         # ... and a fifth of a row from it is on it
_TWICE_LAG = 5            # samples a rhythm strip may be shifted against its lead's short segment
_LABEL_MM = 6.0          # lead labels are printed within this distance of a segment's start


@dataclass(frozen=True)
class LeadSignal:
    """One lead in mV at ``fs`` Hz from ``start_s`` into the recording; NaN where unreadable."""

    name: str
    start_s: float
    fs: int
    mv: np.ndarray

    @property
    def coverage(self) -> float:
        """Share of samples read."""
        return float(np.isfinite(self.mv).mean()) if len(self.mv) else 0.0


@dataclass(frozen=True)
class PenPath:
    """Where the pen is in a segment: working-px x and y per column (NaN: no ink)."""

    x: np.ndarray
    y: np.ndarray


def _column_runs(band: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end (exclusive) rows of every vertical ink run, and the index of each column's first run."""
    d = np.diff(band.astype(np.int8), axis=0, prepend=0, append=0).T      # column-major order
    cols, starts = np.nonzero(d == 1)
    _, ends = np.nonzero(d == -1)
    first = np.searchsorted(cols, np.arange(band.shape[1] + 1))
    return starts, ends, first


def track(band: np.ndarray, baseline_y: float, stroke_px: float, label_cols: int = 0,
          return_cols: int = 0) -> np.ndarray:
    """The pen's row in every column of a band mask (NaN: no ink near the pen).

    Each column takes the ink run nearest the pen's previous row. Where a neighbouring lead's tall
    QRS touches this one, the nearest run afterwards is the neighbour's: a pen that has stayed half
    a row or more from its baseline for ``return_cols`` columns (0: never) while a run lies near the
    baseline goes back to that run (a QRS is narrower). A run taller than the pen is a
    steep stroke: read at its middle (where the pen is at the column's centre time) unless it
    reaches beyond both neighbouring runs, which makes it a peak (R or S): then at that end. The
    mean of the dark pixels would cut those peaks short. Glyphs of a lead label printed on the
    trace in its first ``label_cols`` columns are left unread (NaN).
    """
    starts, ends, first = _column_runs(band)
    n_cols = band.shape[1]
    top = np.full(n_cols, np.nan)
    bottom = np.full(n_cols, np.nan)
    prev = float(baseline_y)
    half = stroke_px / 2
    max_jump = 0.2 * band.shape[0]
    missed = away = 0
    far, near = _FAR_SHARE * band.shape[0], _NEAR_SHARE * band.shape[0]
    for j in range(n_cols):
        lo, hi = first[j], first[j + 1]
        if lo == hi:
            continue
        s, e = starts[lo:hi], ends[lo:hi] - 1
        if missed >= _REACQUIRE_COLS:          # lost (e.g. followed a label): start again near the baseline
            prev, missed = float(baseline_y), 0
        dist = np.maximum(0, np.maximum(s - prev, prev - e))
        k = int(np.argmin(dist))
        if dist[k] > max_jump:
            missed += 1
            continue
        missed = 0
        off_base = np.abs((s + e) / 2 - baseline_y)
        home = int(np.argmin(off_base))
        away = away + 1 if return_cols and off_base[k] > far and off_base[home] <= near else 0
        if away > return_cols:
            k, away = home, 0
        top[j], bottom[j] = s[k] + half - 0.5, e[k] - half + 0.5
        prev = (top[j] + bottom[j]) / 2
    top = np.minimum(top, bottom)
    bottom = np.maximum(top, bottom)
    middle = (top + bottom) / 2
    tall = (bottom - top) > 0.6 * stroke_px
    pad = lambda v: np.concatenate([[np.nan], v, [np.nan]])
    t, b = pad(top), pad(bottom)
    with np.errstate(invalid="ignore"):
        # NaN neighbours compare False, so a run at the edge of ink counts as beyond them.
        up = ~(t[:-2] <= top) & ~(t[2:] < top)
        down = ~(b[:-2] >= bottom) & ~(b[2:] > bottom)
    far_up = (baseline_y - top) >= (bottom - baseline_y)
    peak = _centred(tall & up & (~down | far_up), top, tall, stroke_px / 2)
    trough = _centred(tall & down & ~peak, bottom, tall, stroke_px / 2) & ~peak
    # Peaks and troughs keep their ink's end; the middles of steep strokes are bracketed by the pen.
    value = np.where(peak, top, np.where(trough, bottom, _within_pen_envelope(middle, top, bottom, half)))
    value[:_label_end(tall, label_cols, stroke_px)] = np.nan
    return value


def _centred(extremes: np.ndarray, edge: np.ndarray, tall: np.ndarray, tolerance: float) -> np.ndarray:
    """Each flagged extreme moved to the middle of its plateau: the tall columns beside it whose
    ``edge`` is within ``tolerance`` px of its own.

    The pen's round tip puts a peak's top edge on the same row across a pen's width of columns; the
    first of them (where a peak is first seen) is half a pen early, 12 ms on a 0.6 mm pen. An
    even-width plateau's middle falls between two columns: both are kept. A level edge wider than
    the pen is a shoulder (the trace climbing to a plateau): its first column stays the extreme.
    """
    out = np.zeros_like(extremes)
    n = len(edge)
    for j in np.flatnonzero(extremes):
        lo = hi = j
        while lo > 0 and tall[lo - 1] and abs(edge[lo - 1] - edge[j]) <= tolerance:
            lo -= 1
        while hi < n - 1 and tall[hi + 1] and abs(edge[hi + 1] - edge[j]) <= tolerance:
            hi += 1
        if hi - lo > 2 * tolerance + 1:        # wider than the pen's tip: a shoulder, not an apex
            lo = hi = j
        out[(lo + hi) // 2] = out[(lo + hi + 1) // 2] = True
    return out


def _within_pen_envelope(value: np.ndarray, top: np.ndarray, bottom: np.ndarray, half: float) -> np.ndarray:
    """``value`` kept within the bounds that the ink's edges put on the pen's centre.

    The ink is the pen path widened by the pen's round tip (radius ``half``): the path is at least
    ``sqrt(half² - d²)`` below the top edge ``d`` columns away and as far above the bottom edge.
    Where the two bounds leave room (steep strokes), a column read at its ink's middle, which the
    pen's width drags towards the stroke's foot, is pulled back onto the stroke; where pixel rounding
    crosses them, their mean. ``top`` and ``bottom`` are the pen-centre rows a flat stroke would give.
    """
    reach = int(np.floor(half))
    n = len(value)
    lower = np.full(n, -np.inf)
    upper = np.full(n, np.inf)
    for d in range(-reach, reach + 1):
        # Rows grow downwards: the top edge bounds the centre from above (a lower row bound).
        lift = half - np.sqrt(max(half ** 2 - d ** 2, 0.0))
        shifted_top, shifted_bottom = np.full(n, np.nan), np.full(n, np.nan)
        lo, hi = max(0, -d), min(n, n - d)
        shifted_top[lo:hi], shifted_bottom[lo:hi] = top[lo + d:hi + d], bottom[lo + d:hi + d]
        with np.errstate(invalid="ignore"):
            lower = np.where(np.isfinite(shifted_top), np.maximum(lower, shifted_top - lift), lower)
            upper = np.where(np.isfinite(shifted_bottom), np.minimum(upper, shifted_bottom + lift), upper)
    with np.errstate(invalid="ignore"):
        inside = np.clip(value, lower, upper)
        return np.where(lower <= upper, inside, np.where(np.isfinite(lower + upper), (lower + upper) / 2, value))


def ink_centre(dark: np.ndarray, y: np.ndarray, stroke_px: float) -> np.ndarray:
    """The pen's row refined to a fraction of a pixel where the trace is flat: the darkness-weighted
    mean row within a pen's width of the tracked row.

    A binary run's middle is only good to half a pixel (0.01 mV at 5 px/mm), and its edges move
    with the threshold; the grey level of the anti-aliased or blurred stroke says where its centre
    is. Steep strokes and peaks keep the tracked row: there a column's ink is not one pen width.
    """
    out = y.copy()
    prev, nxt = np.r_[np.nan, y[:-1]], np.r_[y[1:], np.nan]
    with np.errstate(invalid="ignore"):
        flat = np.isfinite(y) & (np.abs(nxt - prev) <= 0.5 * stroke_px)
    cols = np.flatnonzero(flat)
    if not len(cols):
        return out
    reach = max(1, int(np.ceil(stroke_px)))
    offsets = np.arange(-reach, reach + 1)
    rows = np.rint(y[cols]).astype(int)[:, None] + offsets[None, :]
    inside = (rows >= 0) & (rows < dark.shape[0])
    weights = np.where(inside, dark[np.clip(rows, 0, dark.shape[0] - 1), cols[:, None]], 0.0)
    total = weights.sum(axis=1)
    ok = total > 0
    out[cols[ok]] = (weights[ok] * rows[ok]).sum(axis=1) / total[ok] + 0.0
    return out


def _label_end(tall: np.ndarray, label_cols: int, stroke_px: float) -> int:
    """End column of a printed label at the segment's start: two or more tall strokes in its first
    columns, or one that ends within their first quarter or is no wider than the pen.

    One tall stroke there may be a QRS; several within a few mm are letters ("aVR", "V1"). A lone
    stroke ending in the first 1.5 mm is the letter "I" standing on the trace (a QRS cut by the
    segment's start loses at most those 60 ms); read as a beat, it put an R peak at 0.03 s. A lone
    stroke one pen wide is a letter's leg touching the trace ("R" of aVR, 5-6 mm in on Mendeley
    pages): a QRS climbs and falls, two strokes, and those are taken for letters already.
    """
    d = np.diff(tall[:label_cols].astype(np.int8), prepend=0, append=0)
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    lone_letter = len(ends) == 1 and (ends[0] <= label_cols // 4 or ends[0] - starts[0] <= stroke_px + 1)
    if len(ends) >= 2 or lone_letter:
        return int(ends[-1]) + 2
    return 0


def _isoelectric(y: np.ndarray, bin_px: float) -> float:
    """The most frequent level of a pen path (the baseline between beats)."""
    ok = y[np.isfinite(y)]
    if len(ok) == 0:
        return np.nan
    lo, hi = ok.min(), ok.max()
    bins = max(1, int((hi - lo) / bin_px) + 1)
    counts, edges = np.histogram(ok, bins=bins, range=(lo, lo + bins * bin_px))
    counts = np.convolve(counts, np.ones(3), "same")
    i = int(np.argmax(counts))
    near = ok[(ok >= edges[max(0, i - 1)]) & (ok <= edges[min(len(edges) - 1, i + 2)])]
    return float(np.median(near))


def read_segment(mask: np.ndarray, layout: Layout, segment: Segment, px_per_mm: float,
                 stroke_px: float, darkness: np.ndarray | None = None) -> tuple[LeadSignal, PenPath]:
    """One lead's signal at ``FS`` Hz from its segment of the trace mask (refined on ``darkness``)."""
    row = layout.rows[segment.row]
    # Tall QRS complexes reach into the next row's band: look that far too, continuity keeps the lead.
    reach = row.bottom - row.top
    top, bottom = max(0, row.y - reach), min(mask.shape[0], row.y + reach)
    band = mask[top:bottom, segment.x0:segment.x1].astype(np.uint8)
    # Join the two edges of a thin spike (a lighter core between them reads as a hole).
    band = cv2.morphologyEx(band, cv2.MORPH_CLOSE, np.ones((max(3, int(px_per_mm) | 1), 1), np.uint8))
    y = track(band, row.y - top, stroke_px, int(_LABEL_MM * px_per_mm), int(_RETURN_MM * px_per_mm))
    if darkness is not None:
        y = ink_centre(darkness[top:bottom, segment.x0:segment.x1], y, stroke_px)
    x = segment.x0 + np.arange(band.shape[1], dtype=float)
    level = _isoelectric(y, 0.2 * px_per_mm)
    px_per_mv = layout.gain_mm_per_mv * px_per_mm
    px_per_s = row_px_per_s(layout.name, row, px_per_mm)
    n = int(round((segment.x1 - segment.x0) / px_per_s * FS))
    t = np.arange(n) / FS
    ok = np.isfinite(y)
    mv = np.full(n, np.nan)
    if ok.sum() >= 2:
        tx = (x - segment.x0 + 0.5) / px_per_s
        mv = np.interp(t, tx[ok], (level - y[ok]) / px_per_mv)
        # No value across a column without ink.
        col = np.clip((t * px_per_s).astype(int), 0, band.shape[1] - 1)
        mv[~ok[col]] = np.nan
    return LeadSignal(segment.lead, segment.start_s, FS, mv), PenPath(x, y + top)


def _rhythm_lead(strip: LeadSignal, leads: dict[str, LeadSignal], default: str) -> str:
    """The lead a rhythm strip repeats: the page's lead it matches best over their shared time.

    Carts print different rhythm leads (II, III, V1...) under labels this reader does not read;
    the strip runs at the same time as the short segments, so the right one correlates near 1.
    """
    best, best_r = default, 0.9
    for name, lead in leads.items():
        i0 = int(round(lead.start_s * strip.fs))
        a, b = lead.mv, strip.mv[i0:i0 + len(lead.mv)]
        n = min(len(a), len(b))
        ok = np.isfinite(a[:n]) & np.isfinite(b[:n])
        # Half a second read in both: a lead read over a third of its length still names its strip.
        if ok.sum() < strip.fs // 2 or np.std(a[:n][ok]) == 0 or np.std(b[:n][ok]) == 0:
            continue
        r = float(np.corrcoef(a[:n][ok], b[:n][ok])[0, 1])
        if r > best_r:
            best, best_r = name, r
    return best


def read_signals(mask: np.ndarray, layout: Layout, px_per_mm: float, stroke_px: float,
                 darkness: np.ndarray | None = None) -> tuple[dict[str, LeadSignal], dict[str, list[PenPath]]]:
    """Every segment's signal by lead name; rhythm strips are named after the lead they repeat + "-rhythm".

    ``darkness`` (the ink's grey level at the mask's size) refines the pen's row on flat stretches."""
    leads: dict[str, LeadSignal] = {}
    paths: dict[str, list[PenPath]] = {}
    strips = []
    for segment in layout.segments:
        if segment.x1 - segment.x0 < 2:     # a row squeezed to a pixel leaves its columns nothing to read
            continue
        signal, path = read_segment(mask, layout, segment, px_per_mm, stroke_px, darkness)
        if segment.rhythm:
            strips.append((signal, path))
            continue
        leads[segment.lead] = signal
        paths.setdefault(segment.lead, []).append(path)
    for signal, path in strips:
        lead = _rhythm_lead(signal, leads, signal.name)
        name = lead + "-rhythm"
        while name in leads:
            name += "+"
        leads[name] = LeadSignal(name, signal.start_s, signal.fs, signal.mv)
        paths[name] = [path]
        if lead in leads and name == lead + "-rhythm":
            leads[lead] = _read_twice(leads[lead], signal)
    return leads, paths


def _read_twice(short: LeadSignal, strip: LeadSignal) -> LeadSignal:
    """A short segment averaged with the rhythm strip printing the same lead over the same time.

    Two prints of one signal are two readings of it: their mean halves the variance of the
    errors they do not share (pixel rounding, grid and JPEG specks). The strip is first moved by
    the lag (up to ``_TWICE_LAG`` samples) that fits best: a residual skew shifts rows slightly.
    """
    i0 = int(round((short.start_s - strip.start_s) * short.fs))
    n = len(short.mv)
    best, best_err = None, np.inf
    for lag in range(-_TWICE_LAG, _TWICE_LAG + 1):
        lo, hi = i0 + lag, i0 + lag + n
        if lo < 0 or hi > len(strip.mv):
            continue
        other = strip.mv[lo:hi]
        ok = np.isfinite(other) & np.isfinite(short.mv)
        if ok.sum() < short.fs // 2:
            continue
        diff = other[ok] - short.mv[ok]
        err = float(np.mean((diff - np.median(diff)) ** 2))
        if err < best_err:
            best, best_err = other - np.median(diff), err
    if best is None:
        return short
    # Where only one print was read, that one; where neither, NaN (no empty-mean warning).
    both = np.where(np.isfinite(short.mv), np.where(np.isfinite(best), (short.mv + best) / 2, short.mv), best)
    return LeadSignal(short.name, short.start_s, short.fs, both)
