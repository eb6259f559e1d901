"""Explaining a page reading to students: what each quality number of the reader means.

The reader (:mod:`core.ecg.reader`) checks its own work without labels, with the physics of the
ECG: leads recorded at the same moment must add up (Einthoven, Goldberger) and show the same heart
rate. This module turns its numbers into a table a student can read.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from core.use import check_outcome, ecg_evidence, load_params

# qc key -> (what it is, when it is good, why it matters). Keys the reader adds later still show,
# with their raw name and no explanation, so a new number is never hidden.
QC_GLOSSARY: dict[str, tuple[str, str, str]] = {
    "einthoven_ratio": (
        "Einthoven residual", "≤ 0.20",
        "Lead II equals I + III at every instant (the three limb electrodes form a loop). What is left of "
        "I + III − II, over the size of those leads: 0 for a perfect reading; near 1 means the leads were "
        "misread or misnamed."),
    "goldberger_ratio": (
        "Goldberger residual", "≤ 0.20",
        "aVR + aVL + aVF = 0 (the augmented leads are built from the same three electrodes). Same scale "
        "as Einthoven's."),
    "einthoven_ratio_zero_lag": (
        "Einthoven residual, no time shift", "≤ 0.30",
        "The same check without letting one lead slide by up to 10 ms: a large gap to the residual above "
        "means the columns of the page were read slightly out of step."),
    "hr_mad_bpm": (
        "Heart-rate disagreement (bpm)", "≤ 5",
        "The heart rate counted from the R peaks of each lead; the median distance from the rhythm strip's "
        "rate over the same seconds (without a strip, from the leads' median rate). One heart beats once "
        "per beat in every lead, so a good reading agrees, even when the rhythm is irregular."),
    "hr_spread_bpm": (
        "Heart-rate spread (bpm)", "small",
        "Highest minus lowest rate over the leads: one lead with a missed or extra R peak shows here first."),
    "leads_with_rate": (
        "Leads with R peaks", "most leads",
        "How many leads showed at least two R peaks; a 2.5 s segment at a slow rate may show too few."),
    "median_coverage": (
        "Coverage (median lead)", "≥ 0.90",
        "The share of each lead's time where a trace was found; labels, pulses and gaps are not read."),
    "min_coverage": (
        "Coverage (worst lead)", "≥ 0.70",
        "The least-read lead: a fold, a stain or a finger over the paper shows here."),
    "grid_contrast": (
        "Grid contrast", "high",
        "How clearly the millimetre grid stands out in the spectrum of the page: it gives the scale "
        "(1 mm = 0.04 s = 0.1 mV). Without a grid the reader falls back on the calibration pulse or the page size."),
    "rotation_deg": (
        "Rotation (degrees)", "any (corrected)",
        "How far the sheet was turned; the reader turns it back before reading."),
    "perspective": (
        "Perspective", "any (corrected)",
        "How much the camera looked at the sheet from an angle (0 for a flat scan); the reader undoes it."),
}


def quality_table(qc: dict[str, float | None]) -> pd.DataFrame:
    """One row per quality number: ``check``, ``value``, ``good when`` and ``what it means``."""
    rows = []
    for key, value in qc.items():
        name, good, meaning = QC_GLOSSARY.get(key, (key, "", ""))
        rows.append({"check": name, "value": None if value is None else round(float(value), 3),
                     "good when": good, "what it means": meaning})
    return pd.DataFrame(rows, columns=["check", "value", "good when", "what it means"])


# --- from pixels to signals: each stage of the reader on one page ------------------------------

@dataclass(frozen=True)
class ReadingStep:
    """One stage of the page reader, ready to show: a picture, what happened, its numbers."""

    title: str
    picture: Image.Image | None
    explanation: str
    numbers: dict[str, float | str | None]
    fallback: str | None
    table: pd.DataFrame | None = None      # a step's own table (the ECG evidence)


def _faded(rgb: np.ndarray, keep: float = 0.45) -> Image.Image:
    return Image.fromarray((255 - (255 - rgb.astype(np.float32)) * keep).astype(np.uint8))


def _sheet_picture(image: Image.Image, sheet) -> Image.Image:
    """The photo with the paper's corners joined, when the reader found and straightened a sheet."""
    picture = image.convert("RGB").copy()
    if sheet.corners is not None:
        draw = ImageDraw.Draw(picture)
        points = [tuple(map(float, p)) for p in sheet.corners]
        draw.line(points + points[:1], fill=(0, 160, 255), width=max(3, picture.width // 300))
    picture.thumbnail((1400, 1400))
    return picture


def _grid_picture(sheet, grid, mm: float = 30.0) -> Image.Image:
    """A 30 mm × 20 mm piece of the sheet's centre, enlarged, with a tick every millimetre found."""
    h, w = sheet.rgb.shape[:2]
    px, py = grid.px_per_mm_x, grid.px_per_mm_y
    cw, ch = min(w, int(mm * px)), min(h, int(mm * 2 / 3 * py))
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    piece = Image.fromarray(sheet.rgb[y0:y0 + ch, x0:x0 + cw]).convert("RGB")
    zoom = max(1, int(600 / max(cw, 1)))
    piece = piece.resize((cw * zoom, ch * zoom), Image.NEAREST)
    draw = ImageDraw.Draw(piece)
    for k in range(int(cw / px) + 1):                 # ticks along the top: one per millimetre
        x = k * px * zoom
        draw.line([(x, 0), (x, (14 if k % 5 == 0 else 7) * zoom / 2)], fill=(0, 90, 255), width=2)
    for k in range(int(ch / py) + 1):
        y = k * py * zoom
        draw.line([(0, y), ((14 if k % 5 == 0 else 7) * zoom / 2, y)], fill=(0, 90, 255), width=2)
    return piece


def _mask_picture(traces) -> Image.Image:
    """Trace ink white on black; the long vertical strokes set aside (separators) and the dashes of
    broken grid lines cut out, in dim blue."""
    rgb = np.zeros((*traces.mask.shape, 3), np.uint8)
    rgb[traces.vertical_lines] = (40, 70, 160)
    if traces.dashes is not None:
        rgb[traces.dashes] = (40, 70, 160)
    rgb[traces.mask] = 255
    return Image.fromarray(rgb)


def _layout_picture(work_rgb: np.ndarray, layout) -> Image.Image:
    """The page at the working scale with each row's baseline, each lead's box and the pulses."""
    picture = _faded(work_rgb)
    draw = ImageDraw.Draw(picture)
    for row in layout.rows:
        draw.line([(row.x0, row.y), (row.x1, row.y)], fill=(0, 160, 255), width=1)
        for x0, y0, x1, y1 in row.pulses:
            draw.rectangle([x0, y0, x1, y1], outline=(230, 120, 0), width=2)
    for segment in layout.segments:
        row = layout.rows[segment.row]
        colour = (120, 60, 200) if segment.rhythm else (200, 30, 60)
        draw.rectangle([segment.x0, row.top, segment.x1, row.bottom], outline=colour, width=2)
        draw.text((segment.x0 + 4, row.top + 2), segment.lead + (" (rhythm)" if segment.rhythm else ""), fill=colour)
    return picture


_UNITS = {"stroke_px": "stroke width (px)"}


def _numbers(quality: dict, keys: tuple[str, ...]) -> dict[str, float | None]:
    """Quality numbers under names a student can read ("paper share", not "paper_share")."""
    return {_UNITS.get(key, key.replace("_", " ")): (None if quality.get(key) is None else round(float(quality[key]), 3))
            for key in keys if key in quality}


def _squared_by(quality: dict) -> str:
    """What squared the sheet, in words: its straight lines, its grid's direction patch by patch, its
    rows of ink (a level only), or nothing."""
    if not quality.get("squared"):
        return "rows of ink (levelled)" if quality.get("levelled_by_ink_rows") else "nothing (already square)"
    return "grid patches" if quality.get("squared_by_grid_tiles") else "straight lines"


def reading_steps(image: Image.Image, reading) -> list[ReadingStep]:
    """The reader's stages on ``image`` as steps for students; ``reading`` must come from
    ``read_page(image, keep_stages=True)`` (otherwise only the last two steps can be shown)."""
    from core.ecg.reader.overlay import trace_overlay

    steps: list[ReadingStep] = []
    stages = reading.stage_results or {}
    if "sheet" in stages:
        sheet = stages["sheet"]
        steps.append(ReadingStep(
            "1 · Find the sheet", _sheet_picture(image, sheet),
            "A photo shows a table, fingers and shadows around the paper. The reader looks for the bright "
            "four-sided sheet, undoes the camera's perspective (the blue outline) and turns a skewed scan "
            "upright, so that time runs straight along x and voltage along y. When the photo cuts the "
            "sheet's corners, the paper's own straight lines finish the job: grid lines and baselines run "
            "level and upright on paper, so the reader finds the perspective that makes them do so again "
            "(the number of such lines before and after is shown). A photo's faint grid breaks into pieces too "
            "short to follow; then each patch of the page tells which way its grid lines run, from the "
            "directions in which its pattern repeats, and those directions are squared instead. A scan "
            "whose grid was thresholded away and whose rules are dashed has no long line at all: it is "
            "turned until its ink piles up in the sharpest rows (its baselines, rules and text lines lie level).",
            {"rotation (°)": round(sheet.rotation_deg, 2),
             **_numbers(sheet.quality, ("paper_share", "perspective", "square_lines_before", "square_lines_after")),
             "squared by": _squared_by(sheet.quality)},
            sheet.fallback))
    if "grid" in stages:
        grid = stages["grid"]
        steps.append(ReadingStep(
            "2 · Measure the millimetre grid", _grid_picture(stages["sheet"], grid),
            "ECG paper is a ruler: at the standard 25 mm/s and 10 mm/mV, one small square (1 mm) is 0.04 s "
            "wide and 0.1 mV tall. The grid lines repeat every millimetre, so the strongest period in the "
            "page's spectrum gives pixels per millimetre; the blue ticks mark each millimetre found. Without "
            "a visible grid the 1 mV calibration pulse or the page size gives the scale.",
            {"px per mm (x)": round(grid.px_per_mm_x, 2), "px per mm (y)": round(grid.px_per_mm_y, 2),
             "grid found": "yes" if grid.found else "no"}, grid.fallback))
    if "traces" in stages:
        traces = stages["traces"]
        steps.append(ReadingStep(
            "3 · Separate the traces from the paper", _mask_picture(traces),
            "The page is rescaled to a fixed 5 px per mm. Trace ink is darker than grid lines and paper and "
            "forms long connected strokes; the grid, the paper's tint and shadows are taken away. Long "
            "vertical strokes (column separators) are set aside in blue, and so are the dashes of a "
            "black-and-white grid's broken lines: columns 5 mm apart where ink fills most of a band.",
            _numbers(traces.quality, ("ink_share", "stroke_px", "ink_threshold", "dashed_line_share")),
            traces.fallback))
    if "layout" in stages and reading.work_rgb is not None:
        layout = stages["layout"]
        steps.append(ReadingStep(
            "4 · Find the rows, the leads and the calibration pulses", _layout_picture(reading.work_rgb, layout),
            "Rows of ink run across the page; each row is cut into leads by time (2.5 s per column on a 3×4 "
            "page, 5 s on 6×2, 10 s on 12×1) and named in the standard order. The orange boxes are "
            "calibration pulses: a 1 mV step that tells the gain.",
            {"layout": layout.name, "rows": len(layout.rows), "leads": len(layout.segments),
             "gain (mm per mV)": round(layout.gain_mm_per_mv, 2)}, layout.fallback))
    steps.append(ReadingStep(
        "5 · Follow the pen", trace_overlay(reading),
        "In every column of pixels the reader follows the pen from the previous column, keeping the "
        "extremes of steep strokes so the R and S peaks survive, and turns height above the row's "
        "baseline into millivolts and x into seconds, 500 samples a second.",
        {"leads read": len(reading.leads)}, None))
    steps.append(ReadingStep(
        "6 · Check the reading with the physics of the ECG", None,
        "Leads recorded at the same moment must add up (Einthoven: II = I + III; Goldberger: aVR + aVL + "
        "aVF = 0) and show the same heart rate. No label is needed to see a bad reading.",
        {"readable": "yes" if reading.readable else "no", "heart rate (bpm)":
         None if reading.heart_rate_bpm is None else round(reading.heart_rate_bpm)}, None))
    evidence = ecg_evidence(reading, image)
    steps.append(ReadingStep(
        "7 · Decide whether this is an ECG at all", None,
        "A stock chart, an EEG or a page of graph paper can fool a network that only learned how one "
        "printer's pages look. The lab asks the reading instead: a millimetre grid, rows of traces, QRS "
        "complexes at a human rate in most leads, beats that repeat their shape, leads that obey the laws "
        "above, a standard layout. Each piece of evidence has a strength and a weight (the table below); "
        "together they give the probability that the image is an ECG.",
        {"ECG probability": round(evidence.score, 3), "answer": check_outcome(evidence).outcome.replace("_", " ")},
        None, evidence_table(evidence)))
    return steps


def evidence_table(evidence) -> pd.DataFrame:
    """One row per piece of ECG evidence: ``evidence``, ``strength`` (0-1), ``weight`` in the
    check's logistic regression and ``what was measured``."""
    weights = load_params()["weights"]
    return pd.DataFrame([{"evidence": e.name.replace("_", " "), "strength": round(e.strength, 2),
                          "weight": round(float(weights.get(e.name, 0.0)), 2), "what was measured": e.detail}
                         for e in evidence.items], columns=["evidence", "strength", "weight", "what was measured"])
