"""Draw what the reader found over the page it read: each lead's pen path in its own colour."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

# Distinct, colour-blind-safe-ish colours that stand out on pink, grey or white paper.
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
            "#bcbd22", "#006d2c", "#393b79", "#637939", "#843c39")


def trace_overlay(reading, *, fade: float = 0.55) -> Image.Image | None:
    """The sheet at the reader's working scale, faded, with every lead's pen path drawn and named.

    ``reading`` is a :class:`~core.ecg.reader.PageReading`; None when the reader kept no page
    (an image rejected before the sheet was found).
    """
    if reading.work_rgb is None:
        return None
    paper = reading.work_rgb.astype(np.float32)
    page = Image.fromarray((255 - (255 - paper) * (1 - fade)).astype(np.uint8))
    draw = ImageDraw.Draw(page)
    for k, (lead, paths) in enumerate(reading.paths.items()):
        colour = _COLOURS[k % len(_COLOURS)]
        for path in paths:
            ok = np.isfinite(path.y)
            if ok.sum() < 2:
                continue
            xs, ys = path.x[ok], path.y[ok]
            # Break the line where columns were skipped, so an unread stretch shows as a gap.
            breaks = np.flatnonzero(np.diff(xs) > 2) + 1
            for part_x, part_y in zip(np.split(xs, breaks), np.split(ys, breaks)):
                if len(part_x) > 1:
                    draw.line(list(zip(part_x.tolist(), part_y.tolist())), fill=colour, width=2)
            draw.text((float(xs[0]) + 2, float(np.nanmin(ys)) - 12), lead, fill=colour)
    return page
