"""Judging a model on a dataset: metrics, confusion, calibration and error tables."""
from core._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "evaluation": ("SPLITS", "REPORT_METRICS", "evaluation_index", "trained_on", "default_split", "ClassMatch", "match_classes", "Evaluation",
                   "evaluate_bundle", "outcome_evaluation", "leakage_check", "confusion_frame", "confusion_cells", "cell_predictions",
                   "classification_report_frame", "per_class_summary", "accuracy", "macro_f1", "roc_curves",
                   "pr_curves", "reliability_bins", "calibration_frame", "confident_errors", "history_frame",
                   "comparison_table", "summary",),
})
