"""Using a model on one image: prediction, explanation, the ECG check, diagnosis, guidance, reports and export."""
from core._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "prediction": ("IMAGE_TYPES", "MAX_ZIP_IMAGES", "MAX_ZIP_IMAGE_BYTES", "ATTRIBUTION_WIDTH", "ImageResult",
                   "gradcam_layer_of", "analyse_image", "explain_image", "page_heat", "TRACE_REACH_PX",
                   "MIN_INK_CONTRAST", "TraceShare", "heat_on_traces", "lead_attribution", "images_from_zip",
                   "result_row", "predict_many", "EXAMPLES_DIR_NAME", "Example", "bundled_examples",),
    "explain": ("METHODS", "COLORMAPS", "DISPLAY_SIDE", "SCORECAM_MAX_MAPS", "SALIENCY_BLUR_SIGMA", "PageView",
                "view_page", "heatmap_on_page", "colormap_lut", "colorize", "overlay", "peak_location", "png_bytes",
                "Saliency", "Explainer", "explainer_for",),
    "diagnosis": ("CONFIDENT", "UNCERTAIN", "NOT_AN_ECG", "STATUSES", "MIN_CONFIDENCE", "MIN_MARGIN", "PLAUSIBLE",
                  "ENERGY_THRESHOLD", "NOT_ECG_PROBABILITY", "Thresholds", "Diagnosis", "energy_score", "diagnose",),
    "guidance": ("GUIDANCE_FILE", "RISK_LEVELS", "RISK_COLORS", "SECTIONS", "SECTION_TITLES", "Source", "Advice",
                 "Guidance", "disclaimer", "sources", "known_classes", "class_guidance", "uncertain_risk",
                 "guidance_for", "risk_of",),
    "ood": ("REFERENCE_VERSION", "REFERENCE_PAGE", "REFERENCE_ECG_PER_CLASS", "REFERENCE_NON_ECG",
            "REFERENCE_SEED", "ENERGY_QUANTILE", "ENERGY_MARGIN", "EcgCheck", "reference_images",
            "fit_ecg_check", "ecg_check_for",),
    "ecg_check": ("NOT_ECG", "OUTSIDE_DOMAIN", "ECG", "OUTCOMES", "STANDARD_LAYOUTS", "DOMAIN_LAYOUTS",
                  "SYNTHETIC_LAYOUTS", "ModelDomain", "model_domain", "Evidence",
                  "EcgEvidence", "CheckOutcome", "reading_summary", "evidence_from_summary", "ecg_evidence",
                  "check_outcome",),
    "report": ("REPORT_IMAGE_SIDE", "ReportInput", "report_html", "model_details",),
    "exporting": ("FORMATS", "MODEL_FILES", "SIDECAR", "TFLITE_TOLERANCE", "CHECK_IMAGES", "ExportError",
                  "ExportResult", "sidecar", "tflite_bytes", "tflite_predict", "check_images", "compare_tflite",
                  "export_bundle", "zip_folder",),
})
