"""Datasets: finding and scanning image folders, hashing, duplicates, duplicate-safe splits, archives and sources."""
from core._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "archive": ("ArchiveError", "safe_extract_zip",),
    "hashing": ("HASH_SIDE", "NEAR_DUPLICATE_THRESHOLD", "content_hash", "perceptual_hash", "hash_distance",
                "hash_bits",),
    "duplicates": ("near_pairs", "duplicate_groups", "DuplicateReport", "duplicate_report",),
    "splits": ("SPLITS", "SPLIT_METHODS", "LeakageError", "leaked_groups", "split_dataset", "group_kfold",
               "assert_no_leakage",),
    "dataset": ("INDEX_COLUMNS", "SKIPPED_COLUMNS", "SPLIT_NAMES", "HASH_THREADS", "discover", "ScanResult", "scan",),
    "sources": ("SYNTHETIC", "DatasetError", "DatasetSource", "synthetic_source", "prepare_when_drawn", "folder_source", "zip_source",
                "resolve_data_argument", "PreparedDataset", "prepare_dataset",),
    "gallery": ("thumbnail", "sample_page", "page_count", "outline_grid_box",),
})
