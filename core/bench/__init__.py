"""The benchmark (``python -m core bench``): each figure a ratio against a baseline measured in the same run."""
from core._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "suite": ("PAGE_SIZE", "BASELINE_SHAPE", "FROZEN_SPEC", "BenchPlan", "QUICK", "FULL", "load_average",
              "machine_info", "private_folders", "generate_pages", "bench_pipeline", "conv_throughput",
              "training_configs", "bench_training", "bench_live_demo", "bench_predict", "bench_frozen_transfer",
              "run", "chosen_sections", "SECTIONS", "Target", "TARGETS", "check_targets",),
    "digitize": ("bench_digitize", "bench_truth_pages", "bench_real_pages", "bench_other_sources",
                 "bench_reader_speed", "score_reading",),
    "app": ("APP_FILE", "BARE_APP", "TENSORFLOW_PROBE", "first_page_seconds", "tensorflow_free_pages",
            "bench_app_start",),
    "ecg_check_corpus": ("CorpusItem", "corpus", "cached_readings", "reader_hash",),
    "ecg_check_fit": ("fit_params", "report", "format_report",),
    "nonecg_sources": ("non_ecg_sources",),
    "baseline": ("naive_load", "NaiveBatches",),
})
