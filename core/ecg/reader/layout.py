"""Lead layout: trace rows, calibration pulses, and which lead each stretch of a row shows.

A trace row is a band where nearly every pixel column has ink near one level over a long stretch
(text lines are patchy and short). The number of rows and where each row's trace breaks decide
among the standard layouts: 3 rows = 3x4, 4 = 3x4+1, 6 = 6x2 (a break mid-row) or 3x4+3, 7 = 6x2+1,
12 = 12x1, 13 = 12x1+1; anything else is read as "N rows", one lead per row, named in standard order.
Where a 6x2 page shows no break mid-row, the rhythm strips decide: a 3x4+3 page's II strip
repeats the block's lead II at the same moment, a 6x2 page's fifth row does not.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from itertools import pairwise

import cv2
import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import find_peaks

LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
SPEED_MM_S = 25.0
GAIN_MM_MV = 10.0
_3X4 = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
_RHYTHM = {"3x4": (), "3x4+1": ("II",), "3x4+3": ("V1", "II", "V5")}
_QRS_MM = 3.0                # a trace row's stroke is at least this tall somewhere
_MIN_ROW_MM = 40.0           # the longest ink stretch a trace row must have
_BRIDGE_MM = 1.0
ROW_SPAN_MM = 250.0         # a standard row's trace on paper: 10 s at 25 mm/s, 5 s at 50 mm/s
_PULSE_GAP_MM = 3.0         # the most paper a printer leaves between a row's pulse and its trace
_EDGE_MM = 3.0
_BREAK_MM = 2.0             # a 6x2 printer's column break straddles the row's middle within this
_PULSE_MAX_MM = 25.0        # a 20 mm/mV pulse is 20 mm tall
_RULE_MM = 1.0              # a pulse-less row whose ink stays this close to its level ...
_RULE_SHARE = 0.01          # ... on all but this share of its columns is a printed rule (0-0.5 %), not a trace (a flat aVL 3.7 %)
_RULE_BAND_MM = 3.0
_SAME_PULSE = 0.2           # a printer's pulses are this close to their median height
# A 3x4+3 page's strips (rows 4-6) repeat block columns recorded at the same moment:
# lead: (strip row, block row, column).
_STRIP_COLUMNS = {"V1": (3, 0, 2), "II": (4, 1, 0), "V5": (5, 1, 3)}
_SAME_LEAD_R = 0.6          # a strip and its lead are one signal: r near 1 when read well
_OTHER_STRIP_R = 0.25       # ... the V1 and V5 strips, further right, at least loosely
_SHIFT_MM = 1.0             # a photo's rows may be offset in x by a little
_CLOSE_ROWS = 1 / 3         # of the usual row spacing: closer levels are one row
_HOLE_TOL = 0.3             # a hole is 1.7-2.3 spacings wide
_EVEN_TOL = 0.15            # the other gaps are within 15 % of the spacing


@dataclass(frozen=True)
class Segment:
    """One lead's stretch of a row: x range in working px and its time in the recording."""

    lead: str
    row: int
    x0: int
    x1: int
    start_s: float
    rhythm: bool = False              # a long strip repeating a lead shown elsewhere on the page


@dataclass(frozen=True)
class Row:
    """A trace row: the baseline level, the band it may use, the trace's x range after any pulse."""

    y: int
    top: int
    bottom: int
    x0: int
    x1: int
    pulses: tuple[tuple[int, int, int, int], ...]   # x0, y0, x1, y1 of its calibration pulses


@dataclass(frozen=True)
class Layout:
    """Rows, lead segments and the gain read from the calibration pulses."""

    name: str
    rows: tuple[Row, ...]
    segments: tuple[Segment, ...]
    gain_mm_per_mv: float
    quality: dict[str, float] = field(default_factory=dict)
    fallback: str | None = None


def _stretches(has_ink: np.ndarray, bridge: int) -> list[tuple[int, int]]:
    """Runs of True (x0, x1 exclusive) after bridging gaps of up to ``bridge`` columns."""
    closed = cv2.morphologyEx(has_ink.astype(np.uint8)[None, :], cv2.MORPH_CLOSE,
                              np.ones((1, 2 * bridge + 1), np.uint8))[0].astype(bool)
    closed &= np.convolve(has_ink, np.ones(2 * bridge + 1), "same") > 0    # no growth at the ends
    d = np.diff(closed.astype(np.int8), prepend=0, append=0)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _find_rows(mask: np.ndarray, px_per_mm: float) -> list[tuple[int, float]]:
    """Baseline rows and their ink coverage: peaks of the share of columns with ink within 1.5 mm,
    with a long ink stretch within 3 mm or one long stroke through the level.

    Tall T waves every beat take a trace out of the 3 mm band about as often as word gaps break a
    line of text, but the trace stays one stroke and the text does not (a clean 6x2 page lost its
    aVL and aVF rows to their T waves).
    """
    near = cv2.dilate(mask.astype(np.uint8), np.ones((max(3, int(3 * px_per_mm)), 1), np.uint8))
    coverage = uniform_filter1d(near.mean(axis=1), max(1, int(px_per_mm)))
    peaks, _ = find_peaks(coverage, height=max(0.12, 0.3 * coverage.max()),
                          distance=max(1, int(7 * px_per_mm)), prominence=0.05)
    wide = cv2.dilate(mask.astype(np.uint8), np.ones((max(3, int(6 * px_per_mm)), 1), np.uint8))
    # Strokes joined across one-pixel breaks (a steep stroke's thin middle), and their widths.
    joined = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8))
    _, strokes, stats, _ = cv2.connectedComponentsWithStats(joined)
    stroke_width = stats[:, cv2.CC_STAT_WIDTH]
    bridge = max(1, int(_BRIDGE_MM * px_per_mm))
    long = _MIN_ROW_MM * px_per_mm
    rows = []
    edge = int(_EDGE_MM * px_per_mm)
    for y in peaks:
        if not edge <= y < mask.shape[0] - edge:        # a page border or the tops of the first row's spikes
            continue
        runs = _stretches(wide[y].astype(bool), bridge)
        crossing = np.unique(strokes[y][strokes[y] > 0])
        long_stretch = bool(runs) and max(b - a for a, b in runs) >= long
        long_stroke = crossing.size > 0 and stroke_width[crossing].max() >= long
        if long_stretch or long_stroke:
            rows.append((int(y), float(coverage[y])))
    return rows


def merge_close_rows(rows: list[tuple[int, float]]) -> list[int]:
    """Row levels without the weaker of two rows closer than a third of the usual spacing.

    Printers space trace rows evenly; two levels much closer than that are one row whose tall
    waves split its ink into two coverage peaks. Needs 4 rows for a usual spacing.
    """
    if len(rows) < 4:
        return [y for y, _ in rows]
    spacing = float(np.median(np.diff([y for y, _ in rows])))
    kept = [rows[0]]
    for y, cover in rows[1:]:
        if y - kept[-1][0] < _CLOSE_ROWS * spacing:
            kept[-1] = max(kept[-1], (y, cover), key=lambda r: r[1])
        else:
            kept.append((y, cover))
    return [y for y, _ in kept]


def fill_missed_rows(ys: list[int]) -> tuple[list[int], int]:
    """Row levels with a row added in each hole of twice the spacing in a long, even stack; how many.

    A flat or faint lead (aVR, aVL and V1 are often small) leaves no coverage peak; in a stack
    of 7 or more evenly spaced rows (12x1) a hole of twice the spacing is that lead. Shorter
    stacks (3x4 + strips) may leave a wider gap before their rhythm strips, and so may the last
    gap of any page: those are not filled.
    """
    if len(ys) < 7:
        return ys, 0
    gaps = np.diff(ys)
    spacing = float(np.median(gaps))
    holes = np.abs(gaps / spacing - 2) < _HOLE_TOL
    if not holes.any() or holes[-1] or np.any(np.abs(gaps[~holes] / spacing - 1) > _EVEN_TOL):
        return ys, 0
    out = [ys[0]]
    for y, hole in zip(ys[1:], holes):
        out += [(out[-1] + y) // 2, y] if hole else [y]
    return out, int(holes.sum())


def _pulse(mask: np.ndarray, y: int, bottom: int, a: int, b: int, px_per_mm: float) -> tuple[int, int, int, int] | None:
    """The stretch [a, b) of the row at baseline ``y`` as a calibration pulse box if it is one:
    narrow, 4-25 mm tall, flat-topped.

    The pulse is the ink connected to the baseline, looked for up to 25 mm above it: on tightly
    stacked rows (12x1) a 10 mm pulse reaches past the band between rows.
    """
    width_mm = (b - a) / px_per_mm
    if not 1.5 <= width_mm <= 12:
        return None
    top = max(0, y - int(_PULSE_MAX_MM * px_per_mm))
    n, labels = cv2.connectedComponents(mask[top:bottom, a:b].astype(np.uint8), connectivity=8)
    near = int(2 * px_per_mm)
    foot = labels[max(0, y - top - near):y - top + near + 1]
    ys = np.flatnonzero(np.isin(labels, np.unique(foot[foot > 0])).any(axis=1))
    if len(ys) == 0:
        return None
    height_mm = (ys[-1] - ys[0]) / px_per_mm
    if not 3.5 <= height_mm <= _PULSE_MAX_MM:
        return None
    # A flat top: the top-most ink spans a horizontal stretch of >= 1 mm.
    top_row = mask[top + ys[0]:top + ys[0] + max(2, int(0.5 * px_per_mm)), a:b].any(axis=0)
    if top_row.sum() < px_per_mm:
        return None
    return a, top + int(ys[0]), b, top + int(ys[-1])


def _gain(pulses: list[tuple[int, int, int, int]], stroke: float, px_per_mm: float) -> tuple[float, str | None]:
    if not pulses:
        return GAIN_MM_MV, "no calibration pulse found: 10 mm/mV assumed"
    height_mm = float(np.median([(y1 - y0 - stroke + 1) / px_per_mm for _, y0, _, y1 in pulses]))
    for gain in (5.0, 10.0, 20.0):
        if abs(height_mm / gain - 1) < 0.2:
            return gain, None
    return GAIN_MM_MV, f"calibration pulse {height_mm:.1f} mm tall is no standard gain: 10 mm/mV assumed"


def _baseline_gaps(mask: np.ndarray, row: Row, px_per_mm: float) -> list[tuple[int, int]]:
    """Gaps (x0, x1) of at least 1 mm in the ink within 4 mm of a row's baseline, inside its trace span.

    Lead labels sit above or below the baseline, so they do not hide the break between columns;
    the right column of a 6x2 page may rest a few mm off the left one's baseline.
    """
    half = int(4 * px_per_mm)
    has_ink = mask[max(0, row.y - half):row.y + half + 1, row.x0:row.x1].any(axis=0)
    runs = _stretches(has_ink, max(1, int(0.5 * px_per_mm)))
    return [(row.x0 + b, row.x0 + c) for (_, b), (c, _) in pairwise(runs) if c - b >= px_per_mm]


def _mid_breaks(row: Row, gaps: list[tuple[int, int]], px_per_mm: float) -> list[tuple[int, int]]:
    """The gaps that can be a 6x2 column break: at least 2 mm wide, centred within 10 % of mid-row.

    Both columns of a 6x2 page last 5 s; a gap elsewhere is a steep stroke the pen left thin.
    """
    span = row.x1 - row.x0
    return [(a, b) for a, b in gaps if b - a >= 2 * px_per_mm and 0.4 * span <= (a + b) / 2 - row.x0 <= 0.6 * span]


def _two_columns(mask: np.ndarray, rows: list[Row], px_per_mm: float, separators: np.ndarray | None) -> bool:
    """Six rows as 6x2 (every row breaks mid-row) rather than 3x4+3 (the bottom three are unbroken strips).

    Evidence: a baseline gap of at least 2 mm near mid-row in two of the bottom three rows, or a
    vertical separator line near mid-row crossing them. The top three rows break mid-row in both
    layouts (a 3x4 block changes leads there): counting them made three 3x4+3 pages of 108 6x2.
    """
    gapped = sum(bool(_mid_breaks(row, _baseline_gaps(mask, row, px_per_mm), px_per_mm)) for row in rows[3:6])
    if gapped >= 2:
        return True
    if separators is None:
        return False
    lo, hi = rows[3].top, rows[5].bottom
    mid = (rows[3].x0 + rows[3].x1) // 2
    half = int(0.1 * (rows[3].x1 - rows[3].x0))
    column_ink = separators[lo:hi, mid - half:mid + half].mean(axis=0)
    return bool(column_ink.size and column_ink.max() > 0.5)


def _pen_heights(mask: np.ndarray, row: Row) -> np.ndarray:
    """The mean ink row per pixel column of a row's band over its trace span (NaN without ink)."""
    band = mask[row.top:row.bottom, row.x0:row.x1].astype(float)
    ink = band.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (band * np.arange(band.shape[0])[:, None]).sum(axis=0) / ink


def _same_signal(a: np.ndarray, b: np.ndarray, shift: int) -> float:
    """Pearson r of two pen-height traces at the best shift up to ``shift`` columns (NaN if too few shared columns)."""
    best = np.nan
    for s in range(-shift, shift + 1):
        x, y = (a[s:], b[:len(b) - s]) if s >= 0 else (a[:s], b[-s:])
        n = min(len(x), len(y))
        x, y = x[:n], y[:n]
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 0.5 * n or n < 10 or x[ok].std() == 0 or y[ok].std() == 0:
            continue
        r = float(np.corrcoef(x[ok], y[ok])[0, 1])
        best = r if not np.isfinite(best) else max(best, r)
    return best


def rhythm_match(mask: np.ndarray, rows: list[Row], px_per_mm: float) -> dict[str, float]:
    """r between each strip of a 3x4+3 page (rows 4-6: V1, II, V5) and its block column at the same moment.

    A 3x4+3 rhythm strip records its lead over the same 10 s as the block, so the II strip's first
    2.5 s is the block's II column (r near 1), the V1 strip's third quarter the V1 column and the V5
    strip's last quarter the V5 column; on a 6x2 page those stretches are other leads. NaN when too
    little ink.
    """
    shift = max(1, int(_SHIFT_MM * px_per_mm))
    out = {}
    for lead, (strip, row, column) in _STRIP_COLUMNS.items():
        a, b = _pen_heights(mask, rows[strip]), _pen_heights(mask, rows[row])
        n = min(len(a), len(b)) // 4
        out[lead] = _same_signal(a[column * n:(column + 1) * n], b[column * n:(column + 1) * n], shift)
    return out


def repeats_block(matches: dict[str, float]) -> bool:
    """Whether the strips repeat the block: lead II clearly (it is the first column, where rows line
    up best even on a photo), and V1 and V5 at least loosely (their columns sit further right). A
    6x2 page's aVL can pass for II by chance (a photo's did at r 0.70); its V4 and V6 then do not
    repeat V1 and V5 (0.23 and 0.15)."""
    others = [r for lead, r in matches.items() if lead != "II" and np.isfinite(r)]
    return bool(matches["II"] >= _SAME_LEAD_R and (not others or min(others) >= _OTHER_STRIP_R))


def _match_numbers(matches: dict[str, float]) -> dict[str, float]:
    """The strips' r as quality numbers: ``rhythm_match`` (lead II), ``rhythm_match_V1``, ``rhythm_match_V5``."""
    return {"rhythm_match" if lead == "II" else f"rhythm_match_{lead}": r for lead, r in matches.items()}


def find_layout(mask: np.ndarray, px_per_mm: float, stroke_px: float = 2.0,
                separators: np.ndarray | None = None, paper: bool = True) -> Layout:
    """Rows, layout name and lead segments of a trace mask at ``px_per_mm``.

    ``separators``: the long vertical lines removed from the ink (``Traces.vertical_lines``);
    ``paper=False`` (a screen) reads every row as one channel instead of matching paper layouts,
    unless every row starts with a calibration pulse.
    """
    h, w = mask.shape
    ys, filled = fill_missed_rows(merge_close_rows(_find_rows(mask, px_per_mm)))
    if not ys:
        return Layout("none", (), (), GAIN_MM_MV, {"rows": 0.0}, "no trace rows found")
    # Bands between rows; the outer rows get the same half spacing, not the header or footer.
    half = int(np.median(np.diff(ys)) / 2) if len(ys) > 1 else int(15 * px_per_mm)
    bounds = [max(0, ys[0] - half)] + [(a + b) // 2 for a, b in pairwise(ys)] + [min(h, ys[-1] + half)]
    bridge = max(1, int(_BRIDGE_MM * px_per_mm))
    rows, row_stretches, pulses = [], [], []
    for i, y in enumerate(ys):
        top, bottom = bounds[i], bounds[i + 1]
        runs = _stretches(mask[top:bottom].any(axis=0), bridge)
        # Pulses: short flat-topped stretches anywhere (6x2 pages repeat them mid-row), or the first
        # 7 mm of the first long stretch when the pulse runs straight into the trace.
        row_pulses = [p for a, b in runs if (p := _pulse(mask, y, bottom, a, b, px_per_mm))]
        long = [r for r in runs if r[1] - r[0] >= 5 * px_per_mm
                and not any(p[0] <= r[0] and r[1] <= p[2] for p in row_pulses)]
        if long and not any(p[2] <= long[0][0] + 1 for p in row_pulses):
            a = long[0][0]
            box = _pulse(mask, y, bottom, a, a + int(7 * px_per_mm), px_per_mm)
            if box is not None:
                row_pulses.insert(0, box)
                long[0] = (box[2], long[0][1])
        pulses += row_pulses
        x0, x1 = (long[0][0], long[-1][1]) if long else (0, w)
        rows.append(Row(y, top, bottom, x0, x1, tuple(row_pulses)))
        row_stretches.append(long)
    if paper:                               # a monitor draws no pulse per channel: no header test by pulses
        rows, row_stretches = _drop_text_rows(mask, rows, row_stretches, px_per_mm)
        rows, row_stretches = _drop_rules(mask, rows, row_stretches, px_per_mm)
    pulses = [p for row in rows for p in row.pulses]
    gain, gain_note = _gain(pulses, stroke_px, px_per_mm)
    n = len(rows)
    quality = {"rows": float(n), "pulses": float(len(pulses)), "gain_mm_per_mv": gain}
    notes = [f"{filled} row(s) missing from an even stack (flat or faint leads) added"] if filled else []
    name = {3: "3x4", 4: "3x4+1", 5: "3x4+2", 12: "12x1", 13: "12x1+1"}.get(n, f"{n} rows")
    # A monitor draws no calibration pulse per channel, an electrocardiograph prints one per row:
    # a screen showing a pulse in front of every row is a printed page on a viewer.
    if not paper and n >= 3 and all(r.pulses for r in rows):
        paper = True
        notes.append("a pulse starts every row: a printed layout shown on a screen")
    if not paper:
        # A monitor stacks its channels, so paper layouts need positive evidence there: a screen
        # showing a 3x4+3 page repeats lead II in its fifth row; six channels of a monitor do not.
        name = f"{n} rows"
        if n == 6:
            matches = rhythm_match(mask, _common_span(rows, px_per_mm), px_per_mm)
            quality.update(_match_numbers(matches))
            name = "3x4+3" if repeats_block(matches) else name
    elif n == 7:
        # No other standard layout has seven rows. (Its six upper rows are simultaneous leads of
        # one heart, which can pass the 3x4+3 test below: II r 0.6-0.8 on four truth pages.)
        name = "6x2+1"
    elif n == 6:
        two_columns = _two_columns(mask, rows, px_per_mm, separators)
        if not two_columns:
            # No break mid-row (the columns run into each other): six rows whose II strip does not
            # repeat the block's II are no 3x4+3, and the other standard six-row layout is 6x2.
            matches = rhythm_match(mask, _common_span(rows, px_per_mm), px_per_mm)
            quality.update(_match_numbers(matches))
            two_columns = not repeats_block(matches)
            if two_columns:
                said = ", ".join(f"{lead} r {r:.2f}" for lead, r in matches.items())
                notes.append(f"rhythm_mismatch: the bottom rows do not repeat the block's columns ({said}): "
                             f"read as two columns")
        name = "6x2" if two_columns else "3x4+3"
    if not name.endswith("rows"):
        rows = _common_span(rows, px_per_mm)
        # A span placed a full row before its end was measured with the scale, not against it.
        quality["span_set_by_scale"] = float(rows[0].x1 - rows[0].x0 == round(ROW_SPAN_MM * px_per_mm))
    if name.startswith("6x2"):
        parts = [_two_parts(row, _baseline_gaps(mask, row, px_per_mm), px_per_mm) for row in rows]
        # Both columns start at the same x on every row of a 6x2 page.
        cut = int(np.median([p[0][1] for p in parts]))
        start = int(np.median([p[1][0] for p in parts]))
        row_stretches = [[(row.x0, cut), (start, row.x1)] for row in rows]
    segments = _segments(name, rows, row_stretches, px_per_mm)
    if name.endswith("rows"):
        notes.append(f"{n} trace rows match no standard layout: one lead per row, standard order by position")
    notes += [gain_note] if gain_note else []
    return Layout(name, tuple(rows), tuple(segments), gain, quality, "; ".join(notes) or None)


def _drop_text_rows(mask: np.ndarray, rows: list[Row], stretches: list, px_per_mm: float
                    ) -> tuple[list[Row], list]:
    """Without the top rows that have no calibration pulse and no long stroke when at least 3 rows
    have a pulse of the pulses' common height.

    A printer puts a pulse at the start of every trace row; a header line (text over a rule) can
    pass for a row by its ink, but has none, and its letters are short strokes (the rule goes with
    the long lines). A trace is one long stroke: a first row whose pulse was cut by the grid's
    border line stays (a clean 12x1 page lost its lead I). The bottom row keeps its place: a tall
    pulse there may run off a cropped page. Lead labels touching the trace's start can pass for
    pulses too, but letters differ in height where a printer's pulses do not (a photo's "II",
    "aVR", "aVL" and "aVF" stood 4 to 9 mm tall and took rows I and II off its page).
    """
    heights = [[p[3] - p[1] for p in r.pulses] for r in rows if r.pulses]
    common = np.median([h for row in heights for h in row]) if heights else 0.0
    if sum(any(abs(h / common - 1) <= _SAME_PULSE for h in row) for row in heights) < 3:
        return rows, stretches
    first = next(i for i, r in enumerate(rows) if r.pulses)
    kept = [i for i in range(len(rows)) if i >= first or _has_trace_stroke(mask, rows[i], px_per_mm)]
    return [rows[i] for i in kept], [stretches[i] for i in kept]


def _has_trace_stroke(mask: np.ndarray, row: Row, px_per_mm: float) -> bool:
    """Whether the row's band holds one stroke (one-pixel breaks joined) as long as a trace row and
    as tall as a QRS: a dashed rule joined into one stroke is long but flat."""
    band = cv2.dilate(mask[row.top:row.bottom].astype(np.uint8), np.ones((3, 3), np.uint8))
    _, _, stats, _ = cv2.connectedComponentsWithStats(band)
    strokes = stats[1:]
    return bool(np.any((strokes[:, cv2.CC_STAT_WIDTH] >= _MIN_ROW_MM * px_per_mm)
                       & (strokes[:, cv2.CC_STAT_HEIGHT] >= _QRS_MM * px_per_mm)))


def _drop_rules(mask: np.ndarray, rows: list[Row], stretches: list, px_per_mm: float) -> tuple[list[Row], list]:
    """Without the rows that have no calibration pulse and whose ink never leaves their level, when
    at least 3 rows have a pulse: a dashed rule under the traces (a thresholded scan breaks it,
    so the long opening leaves it) is read as a row otherwise, and the layout count is off by one.
    A trace leaves its baseline by millimetres at every QRS and T wave."""
    if sum(bool(r.pulses) for r in rows) < 3:
        return rows, stretches
    kept = [(row, run) for row, run in zip(rows, stretches) if row.pulses or not _is_rule(mask, row, px_per_mm)]
    return [row for row, _ in kept], [run for _, run in kept]


def _is_rule(mask: np.ndarray, row: Row, px_per_mm: float) -> bool:
    """Whether the ink within 3 mm of the row's level stays within 1 mm of it on 99 % of its columns
    (the neighbouring rows' deepest waves may reach into the 3 mm)."""
    reach = int(_RULE_BAND_MM * px_per_mm)
    near = dataclasses.replace(row, top=max(0, row.y - reach), bottom=row.y + reach + 1)
    off = np.abs(_pen_heights(mask, near) - (row.y - near.top))
    off = off[np.isfinite(off)]
    return off.size > 0 and float(np.mean(off > _RULE_MM * px_per_mm)) < _RULE_SHARE


def _common_span(rows: list[Row], px_per_mm: float) -> list[Row]:
    """Rows of a standard layout share their time axis: one start (after the pulses) and one end.

    A row whose pulse runs into the trace or was not found would otherwise start early and shift
    all its leads in time against the others. A row's trace is 250 mm long; when a printer leaves
    a little paper between pulse and trace, the span is longer, and the trace's end is the better
    anchor: counting from the pulse would start the first column early and stretch every column.
    """
    full = int(round(ROW_SPAN_MM * px_per_mm))
    x1 = int(np.median([r.x1 for r in rows]))
    with_pulse = [r.x0 for r in rows if r.pulses]
    if with_pulse and x1 - max(with_pulse) < full / 2:
        # Starting after every "pulse" would leave under half a row: marks on a folded or photographed
        # sheet taken for pulses, not the printer's (the rows' own starts are the better guess).
        with_pulse = []
    x0 = int(max(with_pulse)) if with_pulse else int(np.median([r.x0 for r in rows]))
    gap = _PULSE_GAP_MM * px_per_mm
    if 0 < x1 - x0 - full <= gap:
        x0 = x1 - full
    elif x1 - x0 < full - gap and with_pulse:
        # The ink starts late: a flat baseline that stays on one pixel row for 30 mm after the
        # pulse (a slow heart on a clean print) is cut with the rules. The trace still began
        # after the pulse, a full row before its end.
        pulse_end = max(min(r.pulses, key=lambda p: p[0])[2] for r in rows if r.pulses)   # each row's first
        if pulse_end < x0:
            x0 = max(pulse_end, x1 - full)
    return [dataclasses.replace(r, x0=x0, x1=max(x0 + 1, x1)) for r in rows]


def _two_parts(row: Row, gaps: list[tuple[int, int]], px_per_mm: float) -> list[tuple[int, int]]:
    """A 6x2 row as its two trace stretches: cut at the printer's break when its gaps straddle the
    row's middle, else at the middle itself.

    Both columns last 5 s on one time axis, so the right column begins half a row after the left
    one; a gap further off is a tall QRS stroke leaving the baseline band, not the break (taking
    one 7 mm right of the middle started every right-hand lead 0.3 s late).
    """
    mid = _column_edges(row, 2)[1]
    tol = _BREAK_MM * px_per_mm
    straddling = [g for g in gaps if g[0] - tol <= mid <= g[1] + tol]
    if not straddling:
        return [(row.x0, mid), (mid, row.x1)]
    # The break may hold a label and the right column's pulse, each leaving its own gap.
    a, b = straddling[0][0], straddling[-1][1]
    for p in row.pulses:                         # the right column's own pulse is no signal
        if p[0] <= b + 2 * (p[2] - p[0]) and p[2] > b:
            b = p[2]
    return [(row.x0, a), (b, row.x1)]


def _column_edges(row: Row, n_cols: int) -> list[int]:
    """Where ``n_cols`` columns of equal duration begin and end along the row (working px)."""
    return np.linspace(row.x0, row.x1, n_cols + 1).round().astype(int).tolist()


def _split(row: Row, n_cols: int, stretches: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``n_cols`` equal x ranges of a row; a 2-column row splits at its mid-row break when it has one."""
    if n_cols == 2 and len(stretches) >= 2:
        mid = row.x0 + (row.x1 - row.x0) / 2
        cut = min(stretches[:-1], key=lambda s: abs(s[1] - mid))
        nxt = stretches[stretches.index(cut) + 1]
        return [(row.x0, cut[1]), (nxt[0], row.x1)]
    edges = _column_edges(row, n_cols)
    return list(zip(edges[:-1], edges[1:]))


# A grid this far off the rows has locked onto a harmonic (``reading._HARMONIC``) and the reader
# read again at the rows' scale; rows still this far off the grid's 250 mm are no 10 s rows: a
# crop's, or a plot's that is no ECG (a membrane potential's 80 mm read as 3x4+2). A GE phone
# photo's rows are 1.22x its faint grid's 250 mm and give its printed 78 bpm (the grid: 63).
_SPAN_TRUST = 1.4


def row_px_per_s(layout_name: str, row: Row, px_per_mm: float) -> float:
    """Working px per second along a row: its span over the 10 s a standard row prints; the grid's
    25 mm/s on a page of generic "N rows", whose rows need not last 10 s, and where the span is
    more than ``_SPAN_TRUST`` off the grid's.

    The grid's period is one number for the whole sheet, and on a photographed, curved or folded
    sheet it is 1-10 % off where the rows' ends are not: a 2 % error drifts a 2.5 s lead by 50 ms,
    which costs most of its SNR. The leads' start times (``_segments``) and their lengths
    (``signals.read_segment``) both count on it.
    """
    by_grid = SPEED_MM_S * px_per_mm
    by_span = (row.x1 - row.x0) / (ROW_SPAN_MM / SPEED_MM_S)
    if layout_name.endswith("rows") or abs(np.log(by_span / by_grid)) > np.log(_SPAN_TRUST):
        return by_grid
    return by_span


def _segments(name: str, rows: list[Row], stretches, px_per_mm: float) -> list[Segment]:
    base = name.split("+")[0]
    extra = int(name.split("+")[1]) if "+" in name else 0
    plan: list[tuple[tuple[str, ...], float]] = []       # per row: leads left to right, seconds per column
    if base == "3x4":
        plan = [(r, 2.5) for r in _3X4] + [((lead,), 10.0) for lead in _RHYTHM.get(name, ("II",) * extra)]
    elif base == "6x2":
        plan = [((LEADS[i], LEADS[i + 6]), 5.0) for i in range(6)] + [(("II",), 10.0)] * extra
    elif base == "12x1":
        plan = [((lead,), 10.0) for lead in LEADS] + [(("II",), 10.0)] * extra
    else:
        plan = [((LEADS[i % 12],), 10.0) for i in range(len(rows))]
    out = []
    n_main = {"3x4": 3, "6x2": 6, "12x1": 12}.get(base, len(rows))
    for i, (row, (leads, col_s)) in enumerate(zip(rows, plan)):
        # A column that starts after its break or pulse starts that much later on the row's clock.
        edges = _column_edges(row, len(leads))
        px_per_s = row_px_per_s(name, row, px_per_mm)
        for c, (x0, x1) in enumerate(_split(row, len(leads), stretches[i])):
            out.append(Segment(leads[c], i, x0, x1, c * col_s + (x0 - edges[c]) / px_per_s, rhythm=i >= n_main))
    return out
