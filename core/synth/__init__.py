"""The generator: synthetic ECG report pages with their findings (the built-in dataset), non-ECG images,
and ground-truth pages for the page reader (``truth``: every layout and capture effect, with the signals
and trace masks drawn)."""
from core._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "waveforms": ("LEADS", "TERRITORIES", "SINUS", "ARRHYTHMIAS", "Ecg", "synthesize_ecg",),
    "layout": ("SUPERSAMPLE", "SPEED_MM_S", "GAIN_MM_MV", "LAYOUT_COLUMNS", "LAYOUTS", "PALETTES", "GRID_COLOURS",
               "Style", "PageBoxes", "load_font", "se3_style", "SE3_SHARE", "sample_style", "paint_grid",
               "Segment", "layout_segments", "DrawnPage", "draw_page", "render_page",),
    "effects": ("PHOTO_FRACTION", "Capture", "map_box", "capture",),
    "nonecg": ("KINDS", "render_non_ecg",),
    "dataset": ("GENERATOR_VERSION", "DEFAULT_PAGE_SIZE", "BUILTIN_PER_CLASS", "COLUMNS", "page_seed",
                "render_example", "generate_dataset", "builtin_path", "is_complete", "builtin_dataset",),
    "background": ("BACKGROUND_NICE", "Generation", "builtin_generation",),
    "realism": ("Shot", "start_shot", "skew", "perspective", "curvature", "folds", "stains", "handwriting", "stamp",
                "uneven_light", "hard_shadow", "finger", "moire", "blur", "noise", "grey", "black_and_white",
                "low_resolution", "jpeg", "maybe", "EFFECTS", "apply_effect",),
    "truth": ("TRUTH_LAYOUTS", "TRUTH_EFFECTS", "TRUTH_GRIDS", "SCREEN_GRID", "DEFAULT_TRUTH_SIZE",
              "MASK_COVERAGE", "LeadTruth", "PageTruth", "FlatSegment", "capture_truth", "render_truth_page",
              "truth_plan", "truth_page_seed", "truth_set",),
    "ecg_plot_pages": ("ECG_PLOT_LAYOUTS", "DEFAULT_DPI", "render_ecg_plot_page",),
})
