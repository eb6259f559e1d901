"""Home: what the lab is, who it is for, and where to start."""
import streamlit as st

from pages.common import disclaimer, require_app_navigation

require_app_navigation()

st.title("ECG Image Lab")
st.markdown(
    "Learn how deep learning classifies **photos and scans of 12-lead ECG printouts** — and where it "
    "goes wrong. Everything runs on this computer, offline, on a built-in set of realistic synthetic "
    "ECG report pages, or on your own folder of images."
)

steps = st.columns(4)
steps[0].page_link("pages/explore.py", label="**Explore** the data", icon=":material/image_search:")
steps[0].caption("Class counts, sample pages, duplicates that leak into test sets, and what each "
                 "diagnosis looks like on paper.")
steps[1].page_link("pages/train.py", label="**Train** a model live", icon=":material/model_training:")
steps[1].caption("Pick a dataset and a model, press Train and watch accuracy and loss grow epoch by "
                 "epoch. The Live-demo preset finishes in 1–3 minutes on 2 cores.")
steps[2].page_link("pages/evaluate.py", label="**Evaluate** honestly", icon=":material/analytics:")
steps[2].caption("Confusion matrix, per-class report with confidence intervals, calibration and the "
                 "model's most confident mistakes.")
steps[3].page_link("pages/predict.py", label="**Predict** one ECG", icon=":material/stethoscope:")
steps[3].caption("Upload or photograph a page: predicted class, calibrated confidence, a Grad-CAM map "
                 "of the leads that drove the decision, and educational guidance.")

st.subheader("The five classes")
st.markdown(
    "| class | what the ECG shows |\n|---|---|\n"
    "| Myocardial Infarction | ST elevation in the leads of one coronary territory, with reciprocal depression |\n"
    "| History of MI | pathological Q waves and inverted T waves, without ST elevation |\n"
    "| Abnormal Heartbeat | an irregular or abnormal rhythm: atrial fibrillation, extra beats, block, too slow or fast |\n"
    "| Normal | sinus rhythm at 60–100 beats per minute, no findings |\n"
    "| Non-ECG | anything that is not an ECG page — the model should say so instead of guessing |"
)
disclaimer()
