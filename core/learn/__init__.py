"""Learning: architectures, model builders, the input pipeline, augmentation, training, jobs, runs, cross-validation, tuning, calibration, batch inference and model import."""
from core._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "architectures": ("Architecture", "ARCHITECTURES", "keras_weights_dir", "expected_weights_path",
                      "find_imagenet_weights",),
    "models": ("LAST_CONV", "build_compact", "build_leadnet", "build_leadnet_hr", "build_seed_cnn",
               "build_transfer_base", "build_head", "build_transfer", "gradcam_layer", "build_model",
               "count_flops", "summary_table",),
    "augment": ("RandomJpegNoise",),
    "pipeline": ("PreparedImages", "prepare_images", "jpeg_min_quality", "make_augmenter", "make_dataset",),
    "callbacks": ("ProgressCallback",),
    "training": ("TrainConfig", "PRESETS", "default_preprocessing", "TrainOutcome", "class_weight_map", "train",
                 "raw_probability_column", "test_metrics", "with_overrides", "outcome_metadata", "save_outcome",),
    "jobs": ("MAX_CONCURRENT_TRAININGS", "JobState", "TrainingJob",),
    "runs": ("MAX_LEAKED_GROUPS_STORED", "runs_file", "make_record", "record_run", "load_runs", "runs_table",
             "run_label", "curves_frame", "compare_metrics", "leakage_pair",),
    "crossval": ("distinct_pages", "holdout_split", "training_index", "cross_validate", "out_of_fold_temperature",
                 "summarise", "format_summary",),
    "tuning": ("COLUMNS", "SearchSpace", "TuningResult", "cv_indexes", "rank_table", "config_from_row", "tune",),
    "calibration": ("probabilities_to_logits", "apply_temperature", "fit_temperature", "expected_calibration_error",),
    "inference": ("bundle_preprocessing", "temperature_of", "predict_arrays", "BatchPrediction", "predict_files",
                  "prepare_for_bundle",),
    "importing": ("MODEL_SUFFIXES", "INPUT_SCALES", "DEFAULT_SIZE", "ORIGINAL_CLASS_ORDERS", "ModelImportError",
                  "ModelInfo", "default_class_names", "parse_class_names", "check_class_names", "read_model_config",
                  "check_config_safe", "load_model_file", "describe_model", "inspect_model_file",
                  "rebuild_functional", "check_same_outputs", "import_model",),
})
