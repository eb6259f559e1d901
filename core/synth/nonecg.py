"""Images that are not ECGs: photos, documents, charts, grid-paper plots, textures and UI mock-ups.

The "grid paper" kind prints smooth curves on the same millimetre grid as the ECG pages, so a
model cannot call everything with a pink grid an ECG.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from core.synth.layout import PALETTES, load_font, paint_grid

KINDS: tuple[str, ...] = ("photo", "document", "chart", "grid_paper", "texture", "ui")
_WORDS = ("patient total report data value system annual review table amount invoice order "
          "summary results method sample figure analysis quarterly revenue project status meeting "
          "notes account balance service delivery quantity price item description reference").split()


@lru_cache(maxsize=1)
def _sample_photos() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_sample_images    # imported here: only non-ECG pages need it
    return tuple(load_sample_images().images)


def _colour(rng, low=0, high=256) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(low, high, 3))


def _sentence(rng, n_words: int) -> str:
    return " ".join(_WORDS[int(i)] for i in rng.integers(len(_WORDS), size=n_words)).capitalize()


def _photo(rng, size) -> Image.Image:
    """A crop of a stock photo, rotated, recoloured and scaled to the page."""
    photo = _sample_photos()[int(rng.integers(2))]
    h, w = photo.shape[:2]
    cw, ch = int(w * rng.uniform(0.35, 1.0)), int(h * rng.uniform(0.35, 1.0))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    angle = float(rng.uniform(-15, 15))
    image = Image.fromarray(photo[y:y + ch, x:x + cw]).rotate(angle, Image.Resampling.BILINEAR)
    a = np.deg2rad(abs(angle))
    zoom = np.cos(a) + np.sin(a) * max(cw / ch, ch / cw)      # enough to cut the empty corners
    kw, kh = cw / zoom / 2, ch / zoom / 2
    image = image.crop((int(cw / 2 - kw), int(ch / 2 - kh), int(np.ceil(cw / 2 + kw)), int(np.ceil(ch / 2 + kh))))
    mix = np.eye(3) * rng.uniform(0.6, 1.1) + rng.uniform(-0.25, 0.25, (3, 3))
    pixels = np.asarray(image, np.float32) @ mix.T.astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if rng.random() < 0.3:
        image = ImageOps.mirror(image)
    return image.resize(size, Image.Resampling.BILINEAR)


def _document(rng, size) -> Image.Image:
    """A page of text: paragraphs, sometimes a ruled table or an invoice's totals."""
    w, h = size
    image = Image.new("RGB", size, _colour(rng, 238))
    draw = ImageDraw.Draw(image)
    family = ("serif", "sans", "mono")[int(rng.integers(3))]
    body = load_font(family, max(6, int(h * rng.uniform(0.016, 0.024))))
    y = h * rng.uniform(0.04, 0.1)
    draw.text((w * 0.06, y), _sentence(rng, int(rng.integers(2, 5))).upper(), fill=(20, 20, 20),
              font=load_font(family, max(8, int(h * 0.04))))
    y += h * 0.08
    while y < h * 0.92:
        if rng.random() < 0.2:                       # a table
            rows, cols = int(rng.integers(3, 8)), int(rng.integers(2, 6))
            row_h = h * 0.035
            for r in range(rows + 1):
                draw.line([(w * 0.06, y + r * row_h), (w * 0.94, y + r * row_h)], fill=(60, 60, 60), width=1)
            for c in range(cols + 1):
                x = w * (0.06 + 0.88 * c / cols)
                draw.line([(x, y), (x, y + rows * row_h)], fill=(60, 60, 60), width=1)
            for r in range(rows):
                for c in range(cols):
                    cell = _sentence(rng, 1) if c == 0 else f"{rng.uniform(0, 9999):,.2f}"
                    draw.text((w * (0.07 + 0.88 * c / cols), y + r * row_h + row_h * 0.2), cell, fill=(30, 30, 30), font=body)
            y += (rows + 1) * row_h
            continue
        for _ in range(int(rng.integers(2, 7))):
            if y > h * 0.92:
                break
            width = rng.uniform(0.5, 0.88)
            draw.text((w * 0.06, y), _sentence(rng, int(width * 14)), fill=(25, 25, 25), font=body)
            y += h * 0.032
        y += h * 0.03
    return image


def _axes(draw, box, rng, font) -> None:
    x0, y0, x1, y1 = box
    draw.line([(x0, y0), (x0, y1), (x1, y1)], fill=(40, 40, 40), width=2)
    for k in range(6):
        y = y1 - (y1 - y0) * k / 5
        draw.line([(x0, y), (x1, y)], fill=(225, 225, 225), width=1)
        draw.text((x0 - 6, y), f"{k * rng.integers(1, 50)}", fill=(60, 60, 60), font=font, anchor="rm")


def _chart(rng, size) -> Image.Image:
    """A line, bar, stock or scatter chart with axes, ticks and a title."""
    w, h = size
    image = Image.new("RGB", size, (255, 255, 255) if rng.random() < 0.7 else _colour(rng, 225))
    draw = ImageDraw.Draw(image)
    font = load_font("sans", max(6, int(h * 0.02)))
    box = (w * 0.1, h * 0.12, w * 0.95, h * 0.88)
    draw.text((w * 0.5, h * 0.06), _sentence(rng, 3), fill=(20, 20, 20), font=load_font("sans", max(8, int(h * 0.035))), anchor="mm")
    kind = ("line", "bar", "stock", "scatter")[int(rng.integers(4))]
    if kind != "scatter":
        _axes(draw, box, rng, font)
    x0, y0, x1, y1 = box
    if kind == "bar":
        n = int(rng.integers(4, 16))
        for i, v in enumerate(rng.uniform(0.1, 1.0, n)):
            bx = x0 + (x1 - x0) * (i + 0.15) / n
            draw.rectangle([bx, y1 - v * (y1 - y0), bx + (x1 - x0) * 0.7 / n, y1], fill=_colour(rng, 30, 220))
    elif kind == "scatter":
        draw.rectangle(box, outline=(40, 40, 40), width=2)
        n = int(rng.integers(30, 300))
        px = rng.uniform(0, 1, n)
        py = np.clip(px * rng.uniform(-1, 1) + rng.normal(0.5, 0.15, n), 0, 1)
        r = h * 0.006
        colour = _colour(rng, 0, 200)
        for a, b in zip(px, py):
            cx, cy = x0 + a * (x1 - x0), y1 - b * (y1 - y0)
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    else:
        for _ in range(int(rng.integers(1, 4))):
            n = 200 if kind == "line" else 120
            walk = np.cumsum(rng.normal(0, 1, n))
            walk = (walk - walk.min()) / (np.ptp(walk) + 1e-9) * 0.8 + 0.1
            xs = x0 + np.linspace(0, 1, n) * (x1 - x0)
            ys = y1 - walk * (y1 - y0)
            draw.line(list(zip(xs.tolist(), ys.tolist())), fill=_colour(rng, 0, 200), width=int(rng.integers(1, 4)))
            if kind == "stock":
                break
    return image


def _grid_paper(rng, size) -> Image.Image:
    """Smooth curves (sines, decays, drifts) on ECG-style millimetre paper: a hard negative."""
    w, h = size
    palette = tuple(PALETTES)[int(rng.integers(len(PALETTES)))]
    paper = np.empty((h, w, 3), np.uint8)
    paper[:] = PALETTES[palette][0]
    box = (w * rng.uniform(0.02, 0.06), h * rng.uniform(0.03, 0.2), w * rng.uniform(0.94, 0.98), h * rng.uniform(0.88, 0.97))
    paint_grid(paper, box, (box[2] - box[0]) / rng.uniform(150, 280), palette,
               minor_lines=rng.random() < 0.7, dotted=rng.random() < 0.4)
    image = Image.fromarray(paper)
    draw = ImageDraw.Draw(image)
    rows = int(rng.integers(1, 6))
    t = np.linspace(0, 1, 600)
    for r in range(rows):
        base = box[1] + (box[3] - box[1]) * (r + 0.5) / rows
        amp = (box[3] - box[1]) / rows * rng.uniform(0.1, 0.4)
        curve = sum(rng.uniform(0.2, 1) * np.sin(2 * np.pi * (rng.uniform(0.5, 12) * t + rng.uniform(0, 1))) for _ in range(2))
        curve = curve * np.exp(-t * rng.uniform(0, 3)) if rng.random() < 0.4 else curve
        xs = box[0] + (box[2] - box[0]) * (0.03 + 0.94 * t)
        draw.line(list(zip(xs.tolist(), (base - amp * curve).tolist())), fill=(0, 0, 0), width=int(rng.integers(1, 3)))
    return image


def _texture(rng, size) -> Image.Image:
    """Noise, gradients and random shapes."""
    w, h = size
    coarse = rng.uniform(0, 255, (int(rng.integers(2, 40)), int(rng.integers(2, 40)), 3)).astype(np.uint8)
    image = Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(0, 25))):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.02, 0.2) * h
        shape = (draw.ellipse, draw.rectangle)[int(rng.integers(2))]
        shape([x - r, y - r, x + r, y + r * rng.uniform(0.3, 2)], fill=_colour(rng), outline=_colour(rng))
    return image


def _ui(rng, size) -> Image.Image:
    """A screenshot-like app window: title bar, sidebar, cards, buttons and text fields."""
    w, h = size
    bg = _colour(rng, 235)
    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    font = load_font("sans", max(6, int(h * 0.022)))
    accent = _colour(rng, 20, 200)
    draw.rectangle([0, 0, w, h * 0.07], fill=accent)
    draw.text((w * 0.02, h * 0.035), _sentence(rng, 2), fill=(255, 255, 255), font=font, anchor="lm")
    side = w * rng.uniform(0.15, 0.25)
    draw.rectangle([0, h * 0.07, side, h], fill=_colour(rng, 200, 245))
    for i in range(int(rng.integers(4, 10))):
        draw.text((w * 0.02, h * (0.12 + 0.06 * i)), _sentence(rng, 1), fill=(40, 40, 40), font=font)
    y = h * 0.12
    while y < h * 0.85:
        card_h = h * rng.uniform(0.1, 0.25)
        draw.rounded_rectangle([side + w * 0.03, y, w * 0.97, y + card_h], radius=int(h * 0.015),
                               fill=(255, 255, 255), outline=(210, 210, 210))
        draw.text((side + w * 0.05, y + h * 0.02), _sentence(rng, 4), fill=(30, 30, 30), font=font)
        if rng.random() < 0.5:
            bx = side + w * 0.05
            draw.rounded_rectangle([bx, y + card_h - h * 0.06, bx + w * 0.12, y + card_h - h * 0.02],
                                   radius=int(h * 0.01), fill=accent)
        else:
            draw.rectangle([side + w * 0.05, y + card_h - h * 0.06, w * 0.9, y + card_h - h * 0.02], outline=(150, 150, 150))
        y += card_h + h * 0.03
    return image


_GENERATORS = {"photo": _photo, "document": _document, "chart": _chart, "grid_paper": _grid_paper,
               "texture": _texture, "ui": _ui}


def render_non_ecg(rng: np.random.Generator, size: tuple[int, int] = (1106, 786)) -> tuple[Image.Image, str]:
    """One non-ECG image of ``size`` (W, H) and the name of its kind (one of ``KINDS``)."""
    kind = KINDS[int(rng.integers(len(KINDS)))]
    return _GENERATORS[kind](rng, size).convert("RGB"), kind
