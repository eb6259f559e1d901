"""Printing a 12-lead ECG onto a report page: styles, millimetre grid, traces, header and footer.

Everything is placed in fractions of the page, so any page size works. The grid is painted
straight into a NumPy array (exact 1-px lines, as a printer makes them); traces and text go on a
2x supersampled ink layer that is reduced and multiplied onto the paper, which gives the thin
anti-aliased lines of the real scans at no real cost.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from core.ecg import LAYOUT_COLUMNS, RHYTHM_LEADS
from core.synth.waveforms import Ecg

SUPERSAMPLE = 2
SPEED_MM_S = 25.0
GAIN_MM_MV = 10.0
_CALIBRATION_MM = 10.5          # room left of the traces for the 1 mV pulse
_RIGHT_MM = 7.0
# Lead columns and rhythm strips per layout: core.ecg's table, shared with the lead attribution.
LAYOUTS: tuple[str, ...] = tuple(LAYOUT_COLUMNS)

# Grid colours: paper, 1 mm lines, 5 mm lines, border. The SE-3 entry copies the Mendeley scans.
PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "se3": ((255, 255, 255), (236, 228, 230), (218, 200, 204), (222, 160, 166)),
    "pink": ((255, 251, 251), (247, 214, 220), (236, 160, 174), (226, 130, 146)),
    "red": ((255, 246, 242), (246, 190, 186), (228, 100, 96), (210, 70, 70)),
    "orange": ((255, 250, 240), (250, 220, 190), (240, 160, 95), (225, 130, 70)),
    "green": ((248, 255, 248), (206, 236, 208), (120, 190, 130), (90, 160, 100)),
    "blue": ((248, 251, 255), (210, 224, 248), (125, 160, 225), (95, 130, 200)),
    "grey": ((252, 252, 252), (225, 225, 225), (170, 170, 170), (130, 130, 130)),
    "bw": ((255, 255, 255), (235, 235, 235), (150, 150, 150), (60, 60, 60)),
}
# Looks only the truth pages use. Kept out of PALETTES: the built-in set samples from that dict,
# so a new entry there would change its pages.
GRID_COLOURS: dict[str, tuple[tuple[int, int, int], ...]] = {
    **PALETTES,
    "none": ((255, 255, 255),) * 4,
    "screen": ((6, 10, 8), (14, 30, 18), (24, 62, 34), (24, 62, 34)),
}

_FONT_FILES = {
    "serif": ("LiberationSerif-Regular.ttf", "DejaVuSerif.ttf"),
    "sans": ("LiberationSans-Regular.ttf", "DejaVuSans.ttf"),
    "mono": ("LiberationMono-Regular.ttf", "DejaVuSansMono.ttf"),
}
_FONT_DIRS = ("/usr/share/fonts/truetype/liberation/", "/usr/share/fonts/truetype/dejavu/", "")


@dataclass(frozen=True)
class Style:
    """How one printer lays out and inks a report."""

    name: str
    format: str                          # one of LAYOUTS
    grid_box: tuple[float, float, float, float]
    palette: str
    minor_lines: bool
    dotted: bool
    ink: tuple[int, int, int]
    trace_width: float                   # px at a 1106-px-wide page
    header: str                          # "se3" | "block" | "band" | "none"
    font: str
    separators: str                      # "long" | "ticks" | "none"
    label_above: bool
    speed_mm_s: float = SPEED_MM_S
    gain_mm_mv: float = GAIN_MM_MV
    full_grid: bool = False              # pre-printed paper: the grid runs on under header and margins


@dataclass(frozen=True)
class PageBoxes:
    """Where things are on the page, as fractions [x0, y0, x1, y1] of its width and height."""

    grid_box: tuple[float, float, float, float]
    lead_boxes: dict[str, tuple[float, float, float, float]]


@lru_cache(maxsize=64)
def load_font(family: str, size: int) -> ImageFont.ImageFont:
    """A TrueType font of ``family`` ("serif", "sans", "mono") at ``size`` px, or Pillow's built-in one."""
    for filename in _FONT_FILES[family]:
        for folder in _FONT_DIRS:
            try:
                return ImageFont.truetype(folder + filename, size)
            except OSError:
                continue
    return ImageFont.load_default(size)


def se3_style() -> Style:
    """The template of the Mendeley pages ("SE-3" cart): most synthetic pages use it."""
    return Style("se3", "3x4+1", (0.031, 0.179, 0.983, 0.965), "se3", True, True, (0, 0, 0), 1.3,
                 "se3", "serif", "long", False)


SE3_SHARE = 0.7   # the template of the real pages; the rest teach that other carts' ECGs are ECGs too


def sample_style(rng: np.random.Generator) -> Style:
    """Most pages (``SE3_SHARE``) copy the SE-3 template; the rest mix other carts' habits at random."""
    if rng.random() < SE3_SHARE:
        return se3_style()
    header = ("block", "band", "none")[int(rng.integers(3))]
    top = {"block": 0.16, "band": 0.13, "none": 0.03}[header] + rng.uniform(0, 0.04)
    side = rng.uniform(0.015, 0.05)
    bottom = rng.uniform(0.90, 0.965)
    palette = tuple(p for p in PALETTES if p != "se3")[int(rng.integers(len(PALETTES) - 1))]
    fmt = ("3x4", "3x4+1", "3x4+1", "3x4+3")[int(rng.integers(4))]
    ink = (0, 0, 0) if rng.random() < 0.7 else tuple(int(v) for v in rng.integers(10, 60, 3))
    return Style(
        name=f"{header}-{fmt}-{palette}", format=fmt,
        grid_box=(side, top, 1 - side * rng.uniform(0.6, 1.2), bottom), palette=palette,
        minor_lines=rng.random() < 0.75, dotted=rng.random() < 0.3, ink=ink,
        trace_width=float(rng.uniform(1.0, 2.6)), header=header,
        font=("serif", "sans", "mono")[int(rng.integers(3))],
        separators=("long", "ticks", "none")[int(rng.integers(3))], label_above=rng.random() < 0.5,
    )


def paint_grid(paper: np.ndarray, box_px, mm_px: float, palette: str, *, minor_lines: bool = True,
               dotted: bool = False) -> None:
    """Paint a millimetre grid with 5 mm major lines and a border into ``paper`` (H, W, 3) in place."""
    _, minor, major, border = GRID_COLOURS[palette]
    x0, y0, x1, y1 = (int(round(v)) for v in box_px)
    step = 2 if dotted else 1
    n_x = int((x1 - x0) / mm_px) + 1
    n_y = int((y1 - y0) / mm_px) + 1
    xs = np.clip(np.round(x0 + np.arange(n_x) * mm_px).astype(int), x0, x1)
    ys = np.clip(np.round(y0 + np.arange(n_y) * mm_px).astype(int), y0, y1)
    for keep, colour in ((minor_lines, minor), (True, major)):
        if not keep:
            continue
        every = 1 if colour is minor else 5
        paper[y0:y1:step][:, xs[::every]] = colour
        paper[ys[::every], x0:x1:step] = colour
    width = max(1, int(round(mm_px * 0.4)))
    paper[y0:y0 + width, x0:x1] = border
    paper[y1 - width:y1, x0:x1] = border
    paper[y0:y1, x0:x0 + width] = border
    paper[y0:y1, x1 - width:x1] = border


def _fake_name(rng) -> str:
    syllables = ("an", "bel", "cor", "da", "el", "fin", "gar", "han", "is", "jo", "ka", "lin", "mo",
                 "nor", "os", "per", "ri", "sa", "tor", "ve", "wen", "zu")
    part = lambda k: "".join(syllables[int(i)] for i in rng.integers(len(syllables), size=k)).capitalize()
    return f"{part(2)} {part(int(rng.integers(2, 4)))}"


def _fake_datetime(rng) -> dt.datetime:
    start = dt.datetime(2015, 1, 1)
    return start + dt.timedelta(seconds=int(rng.integers(0, 10 * 365 * 24 * 3600)))


def _header_items(style: Style, ecg: Ecg, rng) -> tuple[list, list]:
    """Text items (text, x, y, size, anchor) and rules (x0, y0, x1, y1, width) in page fractions."""
    when = _fake_datetime(rng)
    sex = "Male" if rng.random() < 0.55 else "Female"
    patient_id = str(int(rng.integers(100000, 999999)))
    texts, rules = [], []
    if style.header == "se3":
        age = f"{int(rng.integers(25, 90))} " if rng.random() < 0.3 else ""
        texts += [("ECG  REPORT", 0.513, 0.028, 0.030, "mm")]
        for text, x in ((f"ID : {patient_id}", 0.007), (f"{age}Years", 0.145 - 0.02 * bool(age)),
                        (sex, 0.2), ("cm", 0.278), ("kg", 0.346), ("/", 0.411), ("mmHg", 0.434),
                        ("Race:Unknown", 0.495), ("Room No.:", 0.602), ("Department:", 0.689)):
            texts.append((text, x, 0.053, 0.0185, "lm"))
        texts += [("Exam.Room:", 0.007, 0.074, 0.0185, "lm"), ("Medication:", 0.127, 0.074, 0.0185, "lm"),
                  ("Diagnosis  Information:", 0.007, 0.102, 0.0185, "lm")]
        texts += [(t, 0.703, y, 0.0185, "lm") for t, y in
                  (("Technician :", 0.124), ("Ref-Phys. :", 0.145), ("Report  Confirmed  by:", 0.166))]
        rules += [(0.007, 0.0865, 0.973, 0.0865, 0.0015), (0.007, 0.0905, 0.973, 0.0905, 0.003)]
        stamp = when.strftime("%Y-%m-%d   %I:%M:%S  %p") if rng.random() < 0.8 else when.strftime("%d-%m-%Y  %I:%M:%S %p")
        texts += [(f"0.67~25Hz  AC50  25mm/s  10mm/mV  4*2.5s+1r  \u2665{ecg.heart_rate}   SE-3  V1.0  SEMIP  V1.7",
                   0.031, 0.982, 0.0145, "lm"), (stamp, 0.93, 0.982, 0.0145, "rm")]
        return texts, rules
    top = style.grid_box[1]
    if style.header == "band":
        hospital = f"{_fake_name(rng).split()[1]} {('General Hospital', 'Heart Centre', 'Medical Clinic', 'University Hospital')[int(rng.integers(4))]}"
        texts += [(hospital, 0.02, top * 0.3, 0.03, "lm"),
                  (f"{_fake_name(rng)}   ID {patient_id}   {sex}   {when:%d %b %Y %H:%M}", 0.02, top * 0.7, 0.02, "lm"),
                  (f"Vent. rate {ecg.heart_rate} bpm", 0.98, top * 0.7, 0.02, "rm")]
        rules.append((0.0, top * 0.5, 1.0, top * 0.5, 0.002))
    elif style.header == "block":
        size = 0.019
        left = [f"Name: {_fake_name(rng)}", f"ID: {patient_id}", f"Sex: {sex}   Age: {int(rng.integers(20, 90))} yrs"]
        mid = [f"{when:%Y/%m/%d}  {when:%H:%M}", f"Vent. rate: {ecg.heart_rate} bpm", "Unconfirmed report"]
        for column, x in ((left, 0.03), (mid, 0.42)):
            texts += [(t, x, top * (0.22 + 0.22 * i), size, "lm") for i, t in enumerate(column)]
        texts.append((("CardioScan 12", "ECG-1200", "Elekard M3", "Kardia Pro")[int(rng.integers(4))], 0.97, top * 0.22, size * 1.2, "rm"))
    bottom = style.grid_box[3]
    if bottom < 0.95:
        texts += [(f"{style.speed_mm_s:g} mm/s   {style.gain_mm_mv:g} mm/mV   0.05-{int(rng.choice([40, 100, 150]))} Hz   "
                   f"{('50', '60')[int(rng.integers(2))]} Hz", style.grid_box[0], (bottom + 1) / 2, 0.017, "lm")]
    return texts, rules


@dataclass(frozen=True)
class Segment:
    """One printed stretch of one lead: its box name, row, and the seconds of the recording it shows."""

    key: str                             # the lead, or e.g. "II (rhythm)" for a rhythm strip
    lead: str
    row: int
    t0: float
    t1: float


def layout_segments(layout: str, seconds: float = 10.0) -> tuple[list[Segment], int]:
    """The segments of ``layout`` when a row spans ``seconds``, and the number of rows.

    Columns sit side by side in time (a 3x4 page's second column shows 2.5-5 s), as a cart prints
    simultaneous leads; rhythm strips span the whole row below them.
    """
    columns = LAYOUT_COLUMNS[layout]
    width = seconds / len(columns)
    segments = [Segment(lead, lead, r, c * width, c * width + width)
                for c, column in enumerate(columns) for r, lead in enumerate(column)]
    n_main = len(columns[0])
    rhythm = RHYTHM_LEADS[layout]
    segments += [Segment(f"{lead} (rhythm)", lead, n_main + i, 0.0, seconds) for i, lead in enumerate(rhythm)]
    return segments, n_main + len(rhythm)


@dataclass(frozen=True)
class DrawnPage:
    """A printed page and where its traces went: enough to rebuild every drawn curve exactly.

    Sample ``i`` of the recording, in a segment on row ``r``, was drawn at page pixel
    ``x = origin_px + i / fs * speed_mm_s * px_per_mm``, ``y = baselines_px[r] - mV * gain_mm_mv * px_per_mm``.
    """

    image: Image.Image
    boxes: PageBoxes
    px_per_mm: float
    origin_px: float
    baselines_px: tuple[float, ...]
    line_width_px: float                 # the trace pen's width
    segments: tuple[Segment, ...]
    pulse_boxes_px: tuple[tuple[float, float, float, float], ...]   # calibration pulses, one a row
    trace_ids: np.ndarray | None         # (H, W) uint8 at SUPERSAMPLE x the page: k = segments[k - 1]


def _draw_text(draw: ImageDraw.ImageDraw, items, style: Style, size_px, fill) -> None:
    w, h = size_px
    for text, x, y, size, anchor in items:
        font = load_font(style.font, max(6, int(size * h * SUPERSAMPLE)))
        draw.text((x * w * SUPERSAMPLE, y * h * SUPERSAMPLE), text, fill=fill, font=font, anchor=anchor)


def _draw_pulses(draw: ImageDraw.ImageDraw, baselines, gx0: float, mm: float, gain: float, line_w: int
                 ) -> tuple[tuple[float, float, float, float], ...]:
    """A 1 mV calibration pulse at the start of every row; returns their boxes in page px."""
    s = SUPERSAMPLE
    boxes = []
    for baseline in baselines:
        bx = gx0 + 2.5 * mm
        top = baseline - gain * mm
        pulse = [(bx, baseline), (bx + 1.5 * mm, baseline), (bx + 1.5 * mm, top), (bx + 4.5 * mm, top),
                 (bx + 4.5 * mm, baseline), (bx + 6 * mm, baseline)]
        draw.line([(x * s, y * s) for x, y in pulse], fill=0, width=line_w)
        boxes.append((bx, top, bx + 6 * mm, baseline))
    return tuple(boxes)


def _draw_separators(draw: ImageDraw.ImageDraw, style: Style, baselines, origin: float, column_s: float,
                     n_columns: int, n_main: int, row_h: float, mm: float, line_w: int) -> None:
    """Marks between the lead columns of the main rows (not across rhythm strips)."""
    s = SUPERSAMPLE
    for c in range(1, n_columns):
        x = (origin + c * column_s * style.speed_mm_s * mm) * s
        if style.separators == "long":
            draw.line([(x, (baselines[0] - 0.33 * row_h) * s), (x, (baselines[n_main - 1] + 0.15 * row_h) * s)],
                      fill=0, width=line_w)
        elif style.separators == "ticks":
            for b in baselines[:n_main]:
                draw.line([(x, (b - 3 * mm) * s), (x, (b + 3 * mm) * s)], fill=0, width=line_w)


def draw_page(ecg: Ecg, style: Style, rng: np.random.Generator, size: tuple[int, int] = (1106, 786), *,
              trace_ids: bool = False) -> DrawnPage:
    """Print ``ecg`` in ``style`` onto a page of ``size`` (W, H).

    With ``trace_ids`` the traces are drawn a second time, alone, onto a supersampled layer that
    numbers each pixel by its segment: the exact trace ink, for ground truth. ``rng`` is used for
    the header only, after the traces, so the built-in pages draw the same numbers either way.
    """
    w, h = size
    gx0, gy0, gx1, gy1 = (style.grid_box[0] * w, style.grid_box[1] * h, style.grid_box[2] * w, style.grid_box[3] * h)
    mm = (gx1 - gx0) / (_CALIBRATION_MM + 10 * SPEED_MM_S + _RIGHT_MM)
    paper = np.empty((h, w, 3), np.uint8)
    paper[:] = GRID_COLOURS[style.palette][0]
    if style.full_grid:
        major = 5 * mm                   # start a whole number of big squares before the grid box, so lines meet
        page_box = (gx0 - major * np.floor(gx0 / major), gy0 - major * np.floor(gy0 / major), w - 1, h - 1)
        paint_grid(paper, page_box, mm, style.palette, minor_lines=style.minor_lines, dotted=style.dotted)
    paint_grid(paper, (gx0, gy0, gx1, gy1), mm, style.palette, minor_lines=style.minor_lines, dotted=style.dotted)

    s = SUPERSAMPLE
    ink = Image.new("L", (w * s, h * s), 255)
    draw = ImageDraw.Draw(ink)
    ids = Image.new("L", (w * s, h * s), 0) if trace_ids else None
    seconds = 10 * SPEED_MM_S / style.speed_mm_s       # the trace area is 250 mm wide at any speed
    segments, n_rows = layout_segments(style.format, seconds)
    row_h = (gy1 - gy0) / n_rows
    origin = gx0 + _CALIBRATION_MM * mm
    line_w = max(s, int(round(style.trace_width * w / 1106 * s)))    # never fainter than 1 page px
    baselines = [gy0 + (r + 0.6) * row_h for r in range(n_rows)]
    label_font = load_font(style.font, max(6, int(0.018 * h * s)))
    pulse_boxes = _draw_pulses(draw, baselines, gx0, mm, style.gain_mm_mv, line_w)

    lead_boxes = {}
    for number, seg in enumerate(segments, start=1):
        signal = ecg.lead(seg.lead)
        i0, i1 = int(seg.t0 * ecg.fs), min(len(signal), int(seg.t1 * ecg.fs))
        t = np.arange(i0, i1) / ecg.fs
        xs = (origin + t * style.speed_mm_s * mm) * s
        ys = (baselines[seg.row] - signal[i0:i1] * style.gain_mm_mv * mm) * s
        step = max(1, int(ecg.fs / (style.speed_mm_s * mm * s)))    # about one sample per ink pixel
        points = list(zip(xs[::step].tolist(), ys[::step].tolist()))
        draw.line(points, fill=0, width=line_w)
        if ids is not None:
            ImageDraw.Draw(ids).line(points, fill=number, width=line_w)
        x_start, x_end = origin + seg.t0 * style.speed_mm_s * mm, origin + seg.t1 * style.speed_mm_s * mm
        label_y = baselines[seg.row] - (7 if style.label_above else 2.2) * mm
        draw.text(((x_start + 1.2 * mm) * s, label_y * s), seg.key.replace(" (rhythm)", ""), fill=0,
                  font=label_font, anchor="ls")
        lead_boxes[seg.key] = (x_start / w, (gy0 + seg.row * row_h) / h, x_end / w, (gy0 + (seg.row + 1) * row_h) / h)

    columns = LAYOUT_COLUMNS[style.format]
    _draw_separators(draw, style, baselines, origin, seconds / len(columns), len(columns), len(columns[0]),
                     row_h, mm, line_w)
    texts, rules = _header_items(style, ecg, rng)
    _draw_text(draw, texts, style, (w, h), 0)
    for x0, y0, x1, y1, width in rules:
        draw.line([(x0 * w * s, y0 * h * s), (x1 * w * s, y1 * h * s)], fill=0, width=max(1, int(width * h * s)))

    coverage = ImageOps.invert(ink.reduce(s))
    page = Image.composite(Image.new("RGB", (w, h), style.ink), Image.fromarray(paper), coverage)
    grid_box = (gx0 / w, gy0 / h, gx1 / w, gy1 / h)
    return DrawnPage(page, PageBoxes(grid_box, lead_boxes), mm, origin, tuple(baselines), line_w / s, tuple(segments),
                     pulse_boxes,
                     None if ids is None else np.asarray(ids))


def render_page(ecg: Ecg, style: Style, rng: np.random.Generator,
                size: tuple[int, int] = (1106, 786)) -> tuple[Image.Image, PageBoxes]:
    """Print ``ecg`` in ``style`` onto a page of ``size`` (W, H); returns the RGB page and its boxes."""
    drawn = draw_page(ecg, style, rng, size)
    return drawn.image, drawn.boxes
