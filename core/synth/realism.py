"""Capture effects for ground-truth pages: scans, phone photos, bent and folded paper, marks, screens.

Each effect is a small function ``(shot, rng) -> shot``. A ``Shot`` carries the image together
with the trace ink and the segment numbers under it, so every geometric change moves all three
with the same map and the trace mask stays exact. Named recipes (``EFFECTS``) chain effects;
``apply_effect`` runs one, each step with its own random stream.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np
from PIL import Image, ImageDraw

from core.synth.layout import load_font

PointMap = Callable[[np.ndarray], np.ndarray]      # (N, 2) px before -> (N, 2) px after


@dataclass(frozen=True)
class Shot:
    """An image on its way from the flat page to the capture, with its trace truth in step."""

    image: np.ndarray            # (H, W, 3) uint8 RGB
    ink: np.ndarray              # (H, W) float32: trace ink coverage in [0, 1]
    ids: np.ndarray              # (H, W) uint8: segment number of the trace under each pixel, 0 = none
    homography: np.ndarray       # 3x3, flat page px -> image px (the projective part of the geometry)
    forward: tuple[PointMap, ...] = ()   # every geometric step in order, to carry points and boxes
    nonprojective: bool = False  # a curvature or fold warp was applied
    sheet_size: tuple[int, int] = (0, 0)   # the flat page (W, H) in px

    def map_points(self, points: np.ndarray) -> np.ndarray:
        """Flat-page pixel positions (N, 2) -> positions in the current image."""
        for step in self.forward:
            points = step(points)
        return points


def start_shot(image: np.ndarray, ink: np.ndarray, ids: np.ndarray) -> Shot:
    """The flat page before any effect."""
    return Shot(image, ink, ids, np.eye(3), sheet_size=(image.shape[1], image.shape[0]))


# --- geometry -------------------------------------------------------------------------------


def _widened(ids: np.ndarray) -> np.ndarray:
    """Segment numbers spread one pixel around the trace before a nearest-neighbour resampling, so
    that every pixel the (bilinear) ink reaches still finds its number; the ink decides the mask."""
    return cv2.dilate(ids, np.ones((3, 3), np.uint8))


def _apply_homography(matrix: np.ndarray) -> PointMap:
    def step(points: np.ndarray) -> np.ndarray:
        mapped = np.c_[points, np.ones(len(points))] @ matrix.T
        return mapped[:, :2] / mapped[:, 2:]
    return step


def _warp_projective(shot: Shot, matrix: np.ndarray, size: tuple[int, int], border) -> tuple[Shot, np.ndarray]:
    """Resample everything through ``matrix`` (px -> px) into ``size``; also returns where the old image landed."""
    flags = cv2.INTER_LINEAR
    image = cv2.warpPerspective(shot.image, matrix, size, flags=flags, borderValue=border)
    ink = cv2.warpPerspective(shot.ink, matrix, size, flags=flags)
    ids = cv2.warpPerspective(_widened(shot.ids), matrix, size, flags=cv2.INTER_NEAREST)
    inside = cv2.warpPerspective(np.full(shot.ids.shape, 255, np.uint8), matrix, size, flags=flags)
    moved = replace(shot, image=image, ink=ink, ids=ids, homography=matrix @ shot.homography,
                    forward=shot.forward + (_apply_homography(matrix),))
    return moved, inside


Displacement = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _invert_displacement(field: Displacement) -> PointMap:
    """Points forward through the warp ``src = dst + field(dst)``: solve ``q + field(q) = p`` by iteration.

    The fields here are smooth and gentle (slopes well below 1), so a few steps converge to well
    under a pixel.
    """
    def step(points: np.ndarray) -> np.ndarray:
        q = points.astype(np.float64)
        for _ in range(8):
            dx, dy = field(q[:, 0], q[:, 1])
            q = points - np.c_[dx, dy]
        return q
    return step


def _warp_displacement(shot: Shot, field: Displacement) -> Shot:
    """A non-projective paper warp (bend, fold): each output pixel reads the page at ``dst + field(dst)``.

    ``field`` works elementwise; it is called with a row of x and a column of y and broadcast, so
    fields that separate into x and y parts (all of ours) cost one pass over the image.
    """
    h, w = shot.ink.shape
    xs, ys = np.arange(w, dtype=np.float32)[None, :], np.arange(h, dtype=np.float32)[:, None]
    dx, dy = field(xs, ys)
    # Fixed-point maps: built once, they make the three remaps below about twice as fast.
    map_x, map_y = cv2.convertMaps(np.broadcast_to(xs + dx, (h, w)).astype(np.float32),
                                   np.broadcast_to(ys + dy, (h, w)).astype(np.float32), cv2.CV_16SC2)
    paper = tuple(int(v) for v in shot.image[2, 2])
    image = cv2.remap(shot.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=paper)
    ink = cv2.remap(shot.ink, map_x, map_y, cv2.INTER_LINEAR)
    ids = cv2.remap(_widened(shot.ids), map_x, map_y, cv2.INTER_NEAREST)
    return replace(shot, image=image, ink=ink, ids=ids, forward=shot.forward + (_invert_displacement(field),),
                   nonprojective=True)


def skew(shot: Shot, rng: np.random.Generator) -> Shot:
    """A flatbed scan: the sheet a little rotated, scaled and shifted on the glass (white lid around)."""
    h, w = shot.ink.shape
    matrix = np.vstack([cv2.getRotationMatrix2D((w / 2 + rng.uniform(-0.01, 0.01) * w, h / 2),
                                                rng.uniform(-2.5, 2.5), rng.uniform(0.95, 1.02)),
                        [0, 0, 1]])
    matrix[:2, 2] += rng.uniform(-0.012, 0.012, 2) * (w, h)
    lid = int(rng.integers(225, 256))
    return _warp_projective(shot, matrix, (w, h), (lid, lid, lid))[0]


def _table(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """What the sheet lies on: dark cloth, wood, a grey or white desk; smooth texture and grain.

    Drawn at a quarter of the size and enlarged: it is out of focus anyway, and 16x cheaper.
    """
    w, h = size
    small = (max(2, w // 4), max(2, h // 4))
    base = np.array(((28, 28, 32), (140, 98, 62), (115, 115, 120), (205, 200, 190), (60, 45, 40))[int(rng.integers(5))],
                    np.float32)
    coarse = cv2.resize(rng.normal(0, 1, (6, 8)).astype(np.float32), small, interpolation=cv2.INTER_CUBIC)
    grain = cv2.resize(rng.normal(0, 1, (max(2, small[1] // 2), max(2, small[0] // 40))).astype(np.float32), small)
    texture = np.clip(base * (1 + 0.10 * coarse + 0.05 * grain)[..., None], 0, 255).astype(np.uint8)
    return cv2.resize(texture, size, interpolation=cv2.INTER_LINEAR)


def perspective(shot: Shot, rng: np.random.Generator) -> Shot:
    """A phone photo of the sheet on a table: camera distance, rotation, tilt; a 4:3 frame.

    Often (as in most real photos) the camera is so close that the frame cuts the sheet's margins or more.
    Now and then the sheet is photographed a quarter or half turn round; the frame is held the way
    the sheet then lies (portrait for a turned landscape sheet).
    """
    h, w = shot.ink.shape
    turn = (0, 90, 180, 270)[int(rng.choice(4, p=(0.88, 0.04, 0.04, 0.04)))]
    extent = (w, h) if turn in (0, 180) else (h, w)
    frame = (extent[0], round(extent[0] * 3 / 4)) if extent[0] >= extent[1] else (round(extent[1] * 3 / 4), extent[1])
    fill = rng.uniform(0.95, 1.2) if rng.random() < 0.4 else rng.uniform(0.6, 0.95)
    scale = fill * min(frame[0] / extent[0], frame[1] / extent[1])
    angle = np.deg2rad(rng.uniform(-6, 6) + turn)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    centred = (corners - (w / 2, h / 2)) * scale @ rot.T
    tilt = rng.uniform(-0.07, 0.07)                  # camera leaning forward/back: one edge narrower
    centred[:, 0] *= 1 + tilt * np.sign(centred[:, 1]) * (1 if rng.random() < 0.5 else -1)
    centred += rng.normal(0, 0.012, (4, 2)) * frame
    target = centred + (frame[0] / 2, frame[1] / 2) + rng.uniform(-0.04, 0.04, 2) * frame
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target.astype(np.float32))
    moved, inside = _warp_projective(shot, matrix, frame, (0, 0, 0))
    alpha = inside.astype(np.float32) / 255
    image = cv2.blendLinear(moved.image, _table(rng, frame), alpha, 1 - alpha)
    return replace(moved, image=image)


def curvature(shot: Shot, rng: np.random.Generator) -> Shot:
    """Paper that does not lie flat (rolled, lifted at one side): rows bow, columns bunch at the edges."""
    h, w = shot.ink.shape
    bow = rng.uniform(0.008, 0.025) * h * rng.choice((-1, 1))
    bunch = rng.uniform(0.0, 0.015) * w
    centre = rng.uniform(0.3, 0.7)

    def field(x, y):
        u = x / w - centre
        return bunch * u ** 3 * 8, bow * (4 * u ** 2) * (0.4 + y / h)
    # The bent parts face the light at another angle: shade them by how far they bend.
    u = np.arange(w, dtype=np.float32) / w - centre
    shade = 1 - rng.uniform(0.1, 0.35) * np.minimum(1, 4 * u ** 2) * rng.choice((0, 1), p=(0.3, 0.7))
    return _warp_displacement(_multiply(shot, np.broadcast_to(shade[None, :], (h, w))), field)


def _soft_abs(u, softness: float):
    return np.sqrt(u * u + softness * softness)


def folds(shot: Shot, rng: np.random.Generator) -> Shot:
    """Creases from folding the sheet in half or thirds: a kink in every line crossing the fold,
    a crease line on the paper and one panel in a slightly different light."""
    h, w = shot.ink.shape
    vertical = tuple(rng.uniform(0.3, 0.7, int(rng.integers(1, 3))) * w)
    horizontal = tuple(rng.uniform(0.35, 0.65, int(rng.integers(0, 2))) * h)
    slopes_v = rng.uniform(0.004, 0.015, len(vertical)) * rng.choice((-1, 1), len(vertical))
    slopes_h = rng.uniform(0.003, 0.01, len(horizontal)) * rng.choice((-1, 1), len(horizontal))
    image = shot.image.astype(np.float32)
    for position, is_vertical in [(p, True) for p in vertical] + [(p, False) for p in horizontal]:
        image = _crease(image, position, is_vertical, rng)

    def field(x, y):
        # Each panel tilts by its slope away from the fold line, which stays put.
        dy = sum(s * _soft_abs(x - p, 6.0) for s, p in zip(slopes_v, vertical))
        dx = sum(s * _soft_abs(y - p, 6.0) for s, p in zip(slopes_h, horizontal))
        return dx + 0 * y, dy + 0 * x    # "+ 0 * y": a shape to broadcast even when a sum is empty
    return _warp_displacement(replace(shot, image=np.clip(image, 0, 255).astype(np.uint8)), field)


def _crease(image: np.ndarray, position: float, vertical: bool, rng) -> np.ndarray:
    """Shade one side of a fold and draw the crease itself (a thin dark line with a light edge)."""
    h, w = image.shape[:2]
    axis = np.arange(w if vertical else h, dtype=np.float32) - position
    side = np.where(axis > 0, rng.uniform(0.86, 0.97), 1.0)
    line = 1 - rng.uniform(0.12, 0.3) * np.exp(-0.5 * (axis / 1.5) ** 2) + 0.06 * np.exp(-0.5 * ((axis - 3) / 2) ** 2)
    profile = (side * line).astype(np.float32)
    return image * (profile[None, :, None] if vertical else profile[:, None, None])


# --- marks on the paper ----------------------------------------------------------------------


def stains(shot: Shot, rng: np.random.Generator) -> Shot:
    """Coffee rings and blots: translucent, with a darker rim; the trace stays visible through them."""
    h, w = shot.ink.shape
    small = np.zeros((h // 4, w // 4), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        centre = (int(rng.integers(0, w // 4)), int(rng.integers(0, h // 4)))
        axes = (int(rng.uniform(0.03, 0.09) * w / 4),) * 2
        axes = (axes[0], int(axes[1] * rng.uniform(0.7, 1.0)))
        cv2.ellipse(small, centre, axes, rng.uniform(0, 180), 0, 360, rng.uniform(0.1, 0.35), -1)
        cv2.ellipse(small, centre, axes, 0, 0, 360, rng.uniform(0.35, 0.6), int(rng.integers(1, 3)))
    alpha = cv2.resize(cv2.GaussianBlur(small, (0, 0), 1.2), (w, h))[..., None]
    tea = np.array((150, 100, 55), np.float32) / 255
    image = shot.image * (1 - alpha * (1 - tea))
    return replace(shot, image=image.astype(np.uint8))


def _scribble(rng, start: tuple[float, float], height: float, length: float) -> np.ndarray:
    """A line of cursive-looking handwriting: loops of varying size riding on a slightly sloped line."""
    n = max(20, int(length / height * 14))
    t = np.linspace(0, length / height * 2 * np.pi * 0.9, n)
    lift = np.where(rng.random(n) < 0.06, rng.uniform(0.5, 1.2), 1.0)
    x = start[0] + t / t[-1] * length + height * 0.35 * np.cos(t * rng.uniform(0.9, 1.2))
    y = start[1] - height * 0.5 * np.abs(np.sin(t / 2)) * lift + t / t[-1] * length * rng.uniform(-0.05, 0.05)
    return np.c_[x, y].astype(np.int32)


def handwriting(shot: Shot, rng: np.random.Generator) -> Shot:
    """A doctor's notes and signature in blue or black pen, anywhere on the sheet (grid included)."""
    h, w = shot.ink.shape
    image = shot.image.copy()
    pen = ((25, 45, 150), (20, 20, 30), (30, 30, 110))[int(rng.integers(3))]
    thickness = max(1, round(w / 1100))
    for _ in range(int(rng.integers(1, 4))):
        height = rng.uniform(0.012, 0.03) * h
        start = (rng.uniform(0.05, 0.6) * w, rng.uniform(0.05, 0.95) * h)
        for word in range(int(rng.integers(1, 5))):
            points = _scribble(rng, (start[0] + word * height * 5, start[1]), height, height * rng.uniform(2, 4.5))
            cv2.polylines(image, [points], False, pen, thickness, cv2.LINE_AA)
    return replace(shot, image=image)


def stamp(shot: Shot, rng: np.random.Generator) -> Shot:
    """A rubber stamp (box or ring with text) in red or blue, patchy ink, at an angle."""
    h, w = shot.ink.shape
    size = int(rng.uniform(0.1, 0.18) * w)
    layer = Image.new("L", (size, size // 2), 0)
    draw = ImageDraw.Draw(layer)
    draw.rectangle((2, 2, size - 3, size // 2 - 3), outline=255, width=max(2, size // 60))
    font = load_font("sans", max(8, size // 9))
    words = ("RECEIVED", "REVIEWED", "COPY", "CARDIOLOGY", "CONFIDENTIAL")
    draw.text((size / 2, size / 5), words[int(rng.integers(len(words)))], fill=255, font=font, anchor="mm")
    draw.text((size / 2, size / 3), f"{int(rng.integers(1, 29)):02d}.{int(rng.integers(1, 13)):02d}.20{int(rng.integers(15, 26))}",
              fill=255, font=font, anchor="mm")
    alpha = np.asarray(layer.rotate(rng.uniform(-25, 25), expand=True), np.float32) / 255
    alpha *= rng.uniform(0.55, 0.95) * np.clip(rng.normal(1, 0.35, alpha.shape), 0, 1)   # patchy ink
    ah, aw = alpha.shape
    x, y = int(rng.integers(0, max(1, w - aw))), int(rng.integers(0, max(1, h - ah)))
    colour = np.array(((200, 40, 60), (40, 60, 170))[int(rng.integers(2))], np.float32)
    region = shot.image[y:y + ah, x:x + aw].astype(np.float32)
    a = alpha[:region.shape[0], :region.shape[1], None]
    image = shot.image.copy()
    image[y:y + ah, x:x + aw] = (region * (1 - a) + colour * a).astype(np.uint8)
    return replace(shot, image=image)


# --- light, occlusion and the sensor ---------------------------------------------------------


_GAIN_ONE = 128          # multiplier fields are uint8 with 128 = x1 (up to x2): cv2 multiplies them fast


def _multiply(shot: Shot, field: np.ndarray) -> Shot:
    """Image times ``field`` (float, (H, W) or (H, W, 3), at most 2), saturating."""
    gains = cv2.convertScaleAbs(field, alpha=_GAIN_ONE)
    if gains.ndim == 2:
        gains = cv2.cvtColor(gains, cv2.COLOR_GRAY2RGB)
    return replace(shot, image=cv2.multiply(shot.image, gains, scale=1 / _GAIN_ONE))


def uneven_light(shot: Shot, rng: np.random.Generator) -> Shot:
    """Room light: brighter on one side, a warm or cool colour cast, and an exposure that leaves
    white paper light grey, as phone photos of printouts mostly show it."""
    h, w = shot.ink.shape
    cast = np.array(((1.0, 0.97, 0.86), (0.9, 0.97, 1.0), (1.0, 1.0, 1.0), (0.97, 1.0, 0.92))[int(rng.integers(4))],
                    np.float32)
    exposure = rng.uniform(0.72, 1.0)
    coarse = rng.uniform(rng.uniform(0.6, 0.85), 1.0, (3, 4, 1)).astype(np.float32) * cast * exposure
    return _multiply(shot, cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC))


def hard_shadow(shot: Shot, rng: np.random.Generator) -> Shot:
    """The shadow of the phone or a hand: a straight, slightly soft edge across part of the sheet."""
    h, w = shot.ink.shape
    angle = rng.uniform(0, 2 * np.pi)
    normal = np.array([np.cos(angle), np.sin(angle)])
    offset = rng.uniform(0.2, 0.45) * (abs(normal[0]) * w + abs(normal[1]) * h)
    depth = rng.uniform(0.45, 0.8)
    # The shadowed half-plane {p : (p - centre) . normal > offset} as a polygon, its edge softened.
    along = np.array([-normal[1], normal[0]]) * 2 * (w + h)
    edge = np.array([w / 2, h / 2]) + normal * offset
    polygon = np.array([edge - along, edge + along, edge + along + normal * 2 * (w + h),
                        edge - along + normal * 2 * (w + h)], np.int32)
    shadow = cv2.fillPoly(np.zeros((h, w), np.uint8), [polygon], 255)
    shadow = cv2.GaussianBlur(shadow, (0, 0), rng.uniform(1, 12))
    return _multiply(shot, 1 - (1 - depth) * shadow.astype(np.float32) / 255)


def finger(shot: Shot, rng: np.random.Generator) -> Shot:
    """A thumb holding the sheet at one of its edges: opaque, so the trace under it is gone from the truth."""
    h, w = shot.ink.shape
    sw, sh = shot.sheet_size
    along = rng.uniform(0.2, 0.8)
    # A point on a sheet edge and one a little inside it, carried into the image: the thumb lies
    # across the edge, pointing inwards.
    edge, inner = [((0, along * sh), (0.1 * sw, along * sh)), ((sw, along * sh), (0.9 * sw, along * sh)),
                   ((along * sw, 0), (along * sw, 0.1 * sh)), ((along * sw, sh), (along * sw, 0.9 * sh))][int(rng.integers(4))]
    centre, inward = shot.map_points(np.array([edge, inner], float))
    length, width = rng.uniform(0.08, 0.16) * w, rng.uniform(0.035, 0.06) * w
    angle = np.degrees(np.arctan2(*(inward - centre)[::-1])) + rng.uniform(-20, 20)
    reach = int(length + 8)                          # work on the finger's own patch only
    x0, y0 = max(0, int(centre[0]) - reach), max(0, int(centre[1]) - reach)
    x1, y1 = min(w, int(centre[0]) + reach), min(h, int(centre[1]) + reach)
    if x1 <= x0 or y1 <= y0:                         # that edge of the sheet is out of the frame
        return shot
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.ellipse(mask, (int(centre[0]) - x0, int(centre[1]) - y0), (int(length), int(width)), angle, 0, 360, 255, -1)
    alpha = cv2.GaussianBlur(mask, (0, 0), 2.0).astype(np.float32)[..., None] / 255
    skin = np.array(((224, 172, 140), (198, 134, 96), (141, 85, 56), (240, 195, 170))[int(rng.integers(4))], np.float32)
    shading = cv2.GaussianBlur(mask, (0, 0), width / 3).astype(np.float32)[..., None] / 255
    image, ink, ids = shot.image.copy(), shot.ink.copy(), shot.ids.copy()
    patch = image[y0:y1, x0:x1]
    image[y0:y1, x0:x1] = (patch * (1 - alpha) + skin * (0.7 + 0.3 * shading) * alpha).astype(np.uint8)
    covered = alpha[..., 0] > 0.5
    ink[y0:y1, x0:x1][covered] = 0
    ids[y0:y1, x0:x1][covered] = 0
    return replace(shot, image=image, ink=ink, ids=ids)


def _outer_cos_sin(row: np.ndarray, column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of ``column[:, None] + row[None, :]`` from 1-D trigonometry and outer products."""
    cr, sr, cc, sc = (f(v).astype(np.float32) for v in (row, column) for f in (np.cos, np.sin))
    return np.outer(cc, cr) - np.outer(sc, sr), np.outer(sc, cr) + np.outer(cc, sr)


def moire(shot: Shot, rng: np.random.Generator) -> Shot:
    """Photographing a screen: the screen's pixel pitch beats against the sensor's into coloured,
    gently curved fringes, wide enough (14-60 px) to survive the lens blur."""
    h, w = shot.ink.shape
    period = rng.uniform(14, 60)
    angle = rng.uniform(0, np.pi)
    xs, ys = np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)
    bend = rng.uniform(0, 4e-4)                      # fringes curve with the lens distortion
    # The phase separates into x and y parts, so no trigonometry runs over the whole image.
    cos_p, sin_p = _outer_cos_sin(2 * np.pi * (xs * np.cos(angle) + bend * (xs - w / 2) ** 2) / period,
                                  2 * np.pi * ys * np.sin(angle) / period)
    strength = np.float32(rng.uniform(0.05, 0.13))
    # Each colour channel's fringes shifted by a third of a period: cos(p + k) = cos p cos k - sin p sin k.
    field = cv2.merge([1 + strength * (cos_p * np.float32(np.cos(k)) - sin_p * np.float32(np.sin(k)))
                       for k in (0.0, 2.1, 4.2)])
    return _multiply(shot, field)


def blur(shot: Shot, rng: np.random.Generator) -> Shot:
    """Focus, and on a third of the pages camera shake (a short straight smear)."""
    image = cv2.GaussianBlur(shot.image, (0, 0), rng.uniform(0.5, 1.6))
    if rng.random() < 0.35:
        length = int(rng.integers(3, 8))
        kernel = np.zeros((length, length), np.float32)
        cv2.line(kernel, (0, int(rng.integers(length))), (length - 1, int(rng.integers(length))), 1.0, 1)
        image = cv2.filter2D(image, -1, kernel / kernel.sum())
    return replace(shot, image=image)


def noise(shot: Shot, rng: np.random.Generator) -> Shot:
    """Sensor grain (brightness only)."""
    h, w = shot.ink.shape
    # Drawn at half size: a phone's demosaicing makes 2-px grain anyway, and it is 4x cheaper.
    half = rng.standard_normal(((h + 1) // 2, (w + 1) // 2), np.float32) * rng.uniform(2, 8) + 128
    grain = cv2.resize(np.clip(half, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    return replace(shot, image=cv2.addWeighted(shot.image, 1, cv2.cvtColor(grain, cv2.COLOR_GRAY2RGB), 1, -128))


def grey(shot: Shot, rng: np.random.Generator) -> Shot:
    """A greyscale scan or copy."""
    gray = cv2.cvtColor(shot.image, cv2.COLOR_RGB2GRAY)
    return replace(shot, image=np.repeat(gray[..., None], 3, axis=2))


def black_and_white(shot: Shot, rng: np.random.Generator) -> Shot:
    """A thresholded black-and-white print or fax: the light grid lines drop out or turn black.

    Every pixel is now all ink or none, and so is the trace: its faint edge pixels either went
    black (full ink) or white (no ink).
    """
    gray = cv2.cvtColor(shot.image, cv2.COLOR_RGB2GRAY)
    black = gray < rng.uniform(150, 215)
    ink = np.where(black, np.where(shot.ink > 0.15, 1.0, shot.ink), 0.0).astype(np.float32)
    binary = np.where(black, 0, 255).astype(np.uint8)
    return replace(shot, image=np.repeat(binary[..., None], 3, axis=2), ink=ink)


def low_resolution(shot: Shot, rng: np.random.Generator) -> Shot:
    """A low-dpi scan or a photo shrunk by a messaging app: the whole image, truth included, gets smaller."""
    h, w = shot.ink.shape
    scale = rng.uniform(0.4, 0.8)
    size = (round(w * scale), round(h * scale))
    matrix = np.diag([size[0] / w, size[1] / h, 1.0])
    ids = cv2.resize(_widened(shot.ids), size, interpolation=cv2.INTER_NEAREST)
    return replace(shot, image=cv2.resize(shot.image, size, interpolation=cv2.INTER_AREA),
                   ink=cv2.resize(shot.ink, size, interpolation=cv2.INTER_AREA), ids=ids,
                   homography=matrix @ shot.homography, forward=shot.forward + (_apply_homography(matrix),))


def jpeg(shot: Shot, rng: np.random.Generator) -> Shot:
    """Lossy compression, as saved by a phone, scanner or chat app."""
    _, data = cv2.imencode(".jpg", shot.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 92))])
    return replace(shot, image=cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].copy())


def maybe(effect: Callable[[Shot, np.random.Generator], Shot], chance: float):
    """``effect`` on a share ``chance`` of the pages (decided by the step's own random stream)."""
    def step(shot: Shot, rng: np.random.Generator) -> Shot:
        return effect(shot, rng) if rng.random() < chance else shot
    step.__name__ = f"maybe_{effect.__name__}"
    return step


def _scan_steps(colour_chance: float = 0.5) -> tuple:
    return (skew, maybe(grey, 1 - colour_chance), maybe(low_resolution, 0.6), maybe(blur, 0.3), noise, jpeg)


_PHOTO = (perspective, uneven_light, maybe(hard_shadow, 0.6), maybe(finger, 0.25), blur, noise,
          maybe(low_resolution, 0.5), jpeg)

# Named recipes, applied in order. Marks and paper warps come first: they happen to the sheet,
# before it is scanned or photographed.
EFFECTS: dict[str, tuple] = {
    "clean": (),
    "scan": _scan_steps(),
    "scan_bw": (skew, maybe(low_resolution, 0.6), black_and_white, maybe(blur, 0.5), jpeg),
    "photo": _PHOTO,
    "curved": (curvature,) + _PHOTO,
    "folded": (folds,) + _PHOTO,
    "marked": (stains, handwriting, stamp) + _scan_steps(colour_chance=0.8),
    "moire": (perspective, moire, uneven_light, blur, noise, jpeg),
    "monitor": (maybe(jpeg, 0.5),),    # a screen capture; the page itself is drawn screen-style
}


def apply_effect(shot: Shot, effect: str, rng: np.random.Generator) -> Shot:
    """Run the recipe ``effect`` on ``shot``; each step draws from its own child of ``rng``."""
    steps = EFFECTS[effect]
    for step, step_rng in zip(steps, rng.spawn(len(steps))):
        shot = step(shot, step_rng)
    return shot
