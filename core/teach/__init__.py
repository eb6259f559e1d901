"""Lessons for students: what each class looks like, the quiz, the inside of the CNN and how a page is read."""
from core._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "guide": ("class_guide", "explain_class",),
    "quiz": ("Question", "pick_question", "Score",),
    "inside": ("ModelView", "what_the_model_sees", "conv_block_outputs", "FeatureMaps", "feature_maps",
               "first_layer_filters", "shape_table",),
    "reading": ("QC_GLOSSARY", "quality_table", "ReadingStep", "reading_steps", "evidence_table",),
})
