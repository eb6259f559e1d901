"""Which leads drove the decision? Split a page heat map by lead and name the territory.

A standard 12-lead report prints four columns of 2.5 s (I II III | aVR aVL aVF | V1 V2 V3 | V4 V5
V6) in three rows, usually with a 10 s rhythm strip of lead II underneath ("3x4+1"). Lead regions
are placed *relative to the ECG grid box* — fractions of its width and height, never absolute
pixels — so the same layout fits a scan, a photo or a half-size copy. For synthetic pages the
real lead boxes are known (``findings.csv`` ``lead_boxes``) and can be passed instead.

Territories (the wall of the left ventricle a lead faces):
II, III, aVF → inferior; V1–V4 → anterior (V1–V2 anteroseptal); I, aVL, V5, V6 → lateral.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

Box = tuple[float, float, float, float]

LIMB_AND_CHEST = (("I", "II", "III"), ("aVR", "aVL", "aVF"), ("V1", "V2", "V3"), ("V4", "V5", "V6"))
LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
# Lead columns (each printed top to bottom, side by side in time) and rhythm strips per layout:
# the carts' standard formats (the generator draws its pages from the same table).
LAYOUT_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "3x4": LIMB_AND_CHEST, "3x4+1": LIMB_AND_CHEST, "3x4+3": LIMB_AND_CHEST,
    "6x2": (LEADS[:6], LEADS[6:]), "12x1": (LEADS,), "6x2+1": (LEADS[:6], LEADS[6:]),
}
RHYTHM_LEADS = {"3x4": (), "3x4+1": ("II",), "3x4+3": ("V1", "II", "V5"), "6x2": (), "12x1": (), "6x2+1": ("II",)}
LAYOUTS = tuple(LAYOUT_COLUMNS)
DEFAULT_LAYOUT = "3x4+1"
# Inside the grid: a calibration pulse on the left, a little paper on the right (in mm of a 25 mm/s
# page: 10.5 mm + 250 mm of traces + 7 mm). Small errors here move a boundary by a few pixels.
_LEFT, _TRACES, _RIGHT = 10.5, 250.0, 7.0

TERRITORIES: dict[str, tuple[str, ...]] = {
    "inferior": ("II", "III", "aVF"),
    "anterior": ("V1", "V2", "V3", "V4"),
    "lateral": ("I", "aVL", "V5", "V6"),
}
TERRITORY_WALLS = {
    "inferior": "the lower (inferior) wall of the heart, usually supplied by the right coronary artery",
    "anterior": "the front (anterior) wall, supplied by the left anterior descending artery",
    "anteroseptal": "the front of the wall between the ventricles (septum), supplied by the left anterior descending artery",
    "lateral": "the side (lateral) wall, supplied by the circumflex or diagonal arteries",
}
TOP_LEADS = 3


def rhythm_key(lead: str) -> str:
    return f"{lead} (rhythm)"


def lead_regions(grid_box: Box = (0.0, 0.0, 1.0, 1.0), layout: str = DEFAULT_LAYOUT) -> dict[str, Box]:
    """Lead regions of ``layout`` as ``(x0, y0, x1, y1)`` fractions of the page, given the grid box
    (also in page fractions; the default is a page that is all grid, e.g. an already-cropped one)."""
    if layout not in RHYTHM_LEADS:
        raise ValueError(f"The 'layout' parameter must be a str among {LAYOUTS}. Got {layout!r} instead.")
    gx0, gy0, gx1, gy1 = grid_box
    width, height = gx1 - gx0, gy1 - gy0
    total = _LEFT + _TRACES + _RIGHT
    columns, rhythm = LAYOUT_COLUMNS[layout], RHYTHM_LEADS[layout]
    left, column = gx0 + width * _LEFT / total, width * _TRACES / total / len(columns)
    rows = len(columns[0])
    row = height / (rows + len(rhythm))
    regions: dict[str, Box] = {}
    for c, leads in enumerate(columns):
        for r, lead in enumerate(leads):
            regions[lead] = (left + c * column, gy0 + r * row, left + (c + 1) * column, gy0 + (r + 1) * row)
    for i, lead in enumerate(rhythm):
        regions[rhythm_key(lead)] = (left, gy0 + (rows + i) * row, left + len(columns) * column,
                                     gy0 + (rows + 1 + i) * row)
    return regions


def parse_boxes(value) -> dict[str, Box]:
    """Lead boxes from a findings row (a JSON string in ``findings.csv``, a dict in ``.json``)."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    return {str(k): tuple(float(v) for v in box) for k, box in dict(value or {}).items()}


def _pixel_slices(box: Box, shape: tuple[int, int]) -> tuple[slice, slice]:
    h, w = shape
    x0, y0, x1, y1 = box
    r0, r1 = int(np.clip(round(y0 * h), 0, h)), int(np.clip(round(y1 * h), 0, h))
    c0, c1 = int(np.clip(round(x0 * w), 0, w)), int(np.clip(round(x1 * w), 0, w))
    return slice(r0, max(r1, r0)), slice(c0, max(c1, c0))


def lead_shares(page_heat: np.ndarray, regions: Mapping[str, Box]) -> pd.DataFrame:
    """Saliency per lead region of a page heat map (shape ``(H, W)``, page fractions for regions).

    Columns: ``lead``; ``share``, each region's saliency *per unit area* as a share of the sum over
    regions (sums to 1 unless the map is empty) — per area, so the 10 s rhythm strip, four times
    as wide as a lead, does not win by size alone; ``total_share``, its share of all saliency
    inside the regions; ``mean`` (the density itself); ``peak``; ``territory`` (or ``""``).
    Sorted by ``share``, largest first. Among the 12 equally large lead panels both shares rank
    the leads the same way.
    """
    heat = np.clip(np.nan_to_num(np.asarray(page_heat, dtype="float64")), 0, None)
    rows = []
    for lead, box in regions.items():
        rs, cs = _pixel_slices(box, heat.shape)
        cell = heat[rs, cs]
        rows.append({"lead": lead, "sum": float(cell.sum()), "mean": float(cell.mean()) if cell.size else 0.0,
                     "peak": float(cell.max()) if cell.size else 0.0, "territory": territory_of_lead(lead)})
    table = pd.DataFrame(rows, columns=["lead", "sum", "mean", "peak", "territory"])
    total, density = table["sum"].sum(), table["mean"].sum()
    table.insert(1, "share", table["mean"] / density if density > 0 else 0.0)
    table.insert(2, "total_share", table["sum"] / total if total > 0 else 0.0)
    return table.drop(columns="sum").sort_values("share", ascending=False, kind="stable").reset_index(drop=True)


def territory_of_lead(lead: str) -> str:
    """The territory a lead faces (``""`` for aVR and rhythm strips)."""
    for name, leads in TERRITORIES.items():
        if lead in leads:
            return name
    return ""


def lead_at(point: tuple[float, float], regions: Mapping[str, Box]) -> str | None:
    """The lead whose region contains ``(x, y)`` (page fractions), or None."""
    x, y = point
    for lead, (x0, y0, x1, y1) in regions.items():
        if x0 <= x < x1 and y0 <= y < y1:
            return lead
    return None


@dataclass(frozen=True)
class Territory:
    """Where the top leads point: ``name`` is a key of :data:`TERRITORY_WALLS` or ``""``."""

    name: str
    leads: tuple[str, ...]
    sentence: str


def _join(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def name_territory(shares: pd.DataFrame, *, predicted: str | None = None, top: int = TOP_LEADS) -> Territory:
    """Name the territory the ``top`` 12-lead regions (by share) point to, with a sentence for students.

    Rhythm strips are left out of the vote (they show a lead that is already in the grid, and they
    matter for rhythm, not for territory); a rhythm strip that outweighs every lead is mentioned.
    """
    twelve = shares[shares["lead"].isin(LEADS)].sort_values("share", ascending=False, kind="stable")
    if twelve.empty or float(twelve["share"].sum()) <= 0:
        return Territory("", (), "The heat map is empty, so no lead stands out.")
    leads = tuple(twelve["lead"].head(top))
    votes = {name: sum(lead in members for lead in leads) for name, members in TERRITORIES.items()}
    best = max(votes, key=votes.get)
    strips = shares[~shares["lead"].isin(LEADS)]
    rhythm_note = ""
    if not strips.empty and float(strips["mean"].max()) > float(twelve["mean"].max()):
        rhythm_note = (f" It looked even harder at the rhythm strip ({strips.iloc[0]['lead'].replace(' (rhythm)', '')}),"
                       " where the beat-to-beat rhythm is easiest to read.")
    concentrated = float(twelve["share"].head(top).sum()) / float(twelve["share"].sum()) >= 1.5 * top / len(LEADS)
    if votes[best] < 2 or not concentrated:
        spread = "spread over several leads" if not concentrated else "on leads of different territories"
        return Territory("", leads, f"The model's attention is {spread} (top: {_join(leads)}), so it does not "
                                    f"point to one territory of the heart.{rhythm_note}")
    name = best
    if best == "anterior" and sum(lead in ("V1", "V2") for lead in leads) >= 2:
        name = "anteroseptal"
    members = [lead for lead in leads if lead in TERRITORIES[best]]
    verb = "is an" if len(members) == 1 else "are"
    kind = f"{name} lead" if len(members) == 1 else f"{name} leads"
    opening = (f"The model looked mostly at {_join(leads)}. {_join(members)} {verb} {kind}, facing "
               f"{TERRITORY_WALLS[name]}.")
    ending = ""
    if predicted in ("Myocardial Infarction", "History of MI"):
        article = "an" if name[0] in "aeiou" else "a"
        ending = f" An infarct there is called {article} {name} MI."
    return Territory(name, tuple(members), opening + ending + rhythm_note)


def hit_in_leads(point: tuple[float, float], boxes: Mapping[str, Box], leads: set[str] | frozenset[str]) -> bool:
    """Pointing game: is ``point`` inside the box of one of ``leads`` (or of their rhythm strips)?"""
    hit = lead_at(point, {k: b for k, b in boxes.items() if k.replace(" (rhythm)", "") in leads})
    return hit is not None


def area_share(boxes: Mapping[str, Box], leads: set[str] | frozenset[str], within: Box) -> float:
    """Pointing-game chance level: the area of ``leads``' boxes (and their rhythm strips) as a share
    of the ``within`` box (the region the heat map can peak in)."""
    wx0, wy0, wx1, wy1 = within
    total = max((wx1 - wx0) * (wy1 - wy0), 1e-12)
    area = 0.0
    for key, (x0, y0, x1, y1) in boxes.items():
        if key.replace(" (rhythm)", "") in leads:
            w = max(0.0, min(x1, wx1) - max(x0, wx0))
            h = max(0.0, min(y1, wy1) - max(y0, wy0))
            area += w * h
    return area / total
