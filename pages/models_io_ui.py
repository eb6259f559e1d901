"""The Train page's "Import or export a model" expander: bring in a Keras ``.h5``/``.keras`` file
(class names and preprocessing asked for) and download any bundle as ``.keras``, ``.h5``,
SavedModel or TFLite. Every action is one call into :mod:`core.learn.importing` or :mod:`core.use.exporting`.
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import streamlit as st

from core import bundles
from core.ecg import CROPS, RESIZES, Preprocessing
from core.errors import USER_ERRORS
from core.use import FORMATS
from pages.common import escape

FORMAT_LABELS = {"keras": "Keras (.keras)", "h5": "Keras legacy (.h5)", "savedmodel": "TensorFlow SavedModel",
                 "tflite": "TensorFlow Lite (.tflite)"}
EXPORT_KEY = "mio_export_result"


@st.cache_data(show_spinner="Reading the model safely…", max_entries=4)
def _inspect(data: bytes, file_name: str):
    """Save the upload where Keras can read it (it cannot load from memory) and describe it."""
    from core.learn import inspect_model_file
    from core.paths import cache_dir

    digest = hashlib.sha1(data).hexdigest()[:16]
    path = cache_dir() / "model-imports" / digest / Path(file_name).name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path), inspect_model_file(path)[1]


def _import_form() -> None:
    from core.learn import INPUT_SCALES, default_class_names, import_model

    upload = st.file_uploader("Keras model file", type=["h5", "hdf5", "keras"], key="mio_upload",
                              help="For example ecg_classifier.h5 or ecg_vgg16_model.h5 from the original notebooks.")
    if upload is None:
        return
    try:
        path, info = _inspect(upload.getvalue(), upload.name)
    except USER_ERRORS as exc:
        st.error(escape(exc))
        return
    key = hashlib.sha1(upload.getvalue()).hexdigest()[:8]   # fresh defaults for every new file
    height, width = info.input_size
    st.caption(f"Input {height or 'any'}×{width or 'any'}×{info.channels} · {info.n_outputs} outputs · "
               f"{info.layers} layers" + (" · Sequential, rebuilt as a functional model for Grad-CAM"
                                          if info.sequential else ""))
    prefill = default_class_names(info.n_outputs)
    if prefill:
        st.caption("Class names pre-filled with the original notebooks' order for this many outputs — check it.")
    classes = st.text_area("Class names, in output order (comma-separated)", ", ".join(prefill or []),
                           key=f"mio_classes_{key}")
    scales = list(INPUT_SCALES)
    scale = st.radio("The model expects", scales, index=scales.index(info.suggested_input_scale),
                     format_func=INPUT_SCALES.get, horizontal=True, key=f"mio_scale_{key}")
    default = info.default_preprocessing()
    c1, c2, c3, c4, c5 = st.columns(5)
    h = c1.number_input("Height", 16, 2048, default.height, key=f"mio_h_{key}", disabled=height is not None)
    w = c2.number_input("Width", 16, 2048, default.width, key=f"mio_w_{key}", disabled=width is not None)
    colors = ["rgb"] if info.channels == 3 else ["grayscale", "ink"]
    color = c3.selectbox("Colour mode", colors, key=f"mio_color_{key}")
    crop = c4.selectbox("Crop", CROPS, index=CROPS.index("none"), key=f"mio_crop_{key}")
    resize = c5.selectbox("Resize", RESIZES, key=f"mio_resize_{key}")
    name = st.text_input("Save as", Path(upload.name).stem, key=f"mio_name_{key}")
    if st.button("Import as a model bundle", key="mio_import", type="primary"):
        try:
            with st.spinner("Rebuilding and checking the model…"):
                import_model(path, classes, name=name, input_scale=int(scale),
                             preprocessing=Preprocessing(int(h), int(w), color, crop, resize))
        except USER_ERRORS as exc:
            st.error(escape(exc))
            return
        st.session_state["bundle_flash"] = f"Imported {upload.name} as {name}."
        st.rerun()


def _export_panel() -> None:
    from core.use import export_bundle, zip_folder

    table = bundles.list_bundles()
    names = list(table.loc[table["error"].isna(), "name"]) if not table.empty else []
    if not names:
        st.caption("No saved models to export yet.")
        return
    c1, c2, c3 = st.columns([2, 2, 1])
    name = c1.selectbox("Model", names, key="mio_export_model")
    fmt = c2.selectbox("Format", FORMATS, format_func=FORMAT_LABELS.get, key="mio_format")
    quantize = c3.checkbox("Quantise", key="mio_quantize", disabled=fmt != "tflite",
                           help="Dynamic-range: int8 weights, about 4× smaller; checked against the Keras model.")
    quantize = quantize and fmt == "tflite"
    if st.button("Prepare the export", key="mio_export"):
        try:
            with st.spinner("Exporting and checking…"), tempfile.TemporaryDirectory() as out:
                result = export_bundle(name, fmt, out, quantize=quantize)
                st.session_state[EXPORT_KEY] = {"request": (name, fmt, quantize), "zip": zip_folder(result.folder),
                                                "file": f"{result.folder.name}.zip", "result": result.to_dict()}
        except USER_ERRORS as exc:
            st.session_state.pop(EXPORT_KEY, None)
            st.error(escape(exc))
    done = st.session_state.get(EXPORT_KEY)
    if done and done["request"] == (name, fmt, quantize):
        result = done["result"]
        if result["max_abs_diff"] is not None:
            st.metric("TFLite vs Keras: largest probability difference", f"{result['max_abs_diff']:.1e}",
                      help=f"On {result['check_images']} example pages; the export fails above "
                           f"{result['tolerance']:g}.")
        st.download_button(f"Download {done['file']}", data=done["zip"], file_name=done["file"],
                           mime="application/zip", on_click="ignore", key="mio_download")


def models_io_expander() -> None:
    """Import a Keras file as a bundle, or export a bundle for deployment."""
    with st.expander("Import a Keras model · export for deployment"):
        importing, exporting = st.tabs(["Import .h5 / .keras", "Export"])
        with importing:
            _import_form()
        with exporting:
            _export_panel()
