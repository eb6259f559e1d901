"""Reading an ECG page: the page reader (`core.ecg.reader`: sheet, grid, traces, layout, signals, quality), the grid
crop, the lead geometry and the preparation of a page for a network."""
from core._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "crop": ("WORK_SIDE", "GridBox", "WHOLE_IMAGE", "find_grid_box", "crop_to_grid",),
    "preprocess": ("COLOR_MODES", "CROPS", "RESIZES", "Preprocessing", "crop_page", "prepare_image",
                   "network_min_side", "load_page", "load_and_prepare",),
    "leads": ("LIMB_AND_CHEST", "LEADS", "LAYOUT_COLUMNS", "RHYTHM_LEADS", "LAYOUTS", "DEFAULT_LAYOUT", "TERRITORIES",
              "TERRITORY_WALLS", "TOP_LEADS", "rhythm_key", "lead_regions", "parse_boxes", "lead_shares",
              "territory_of_lead", "lead_at", "Territory", "name_territory", "hit_in_leads", "area_share",),
})
