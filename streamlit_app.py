"""ECG Image Lab: the Streamlit entry point. It only registers the pages and the sidebar status;
each page in ``pages/`` is thin UI over the ``core`` package."""
import streamlit as st

from pages.common import sidebar_status
from pages.handout import apply_query_params
from pages.keras_state import keep_keras_state_across_reruns


def main() -> None:
    keep_keras_state_across_reruns()  # before this run ends, for the training threads' sake
    st.set_page_config(page_title="ECG Image Lab", page_icon=":material/ecg_heart:", layout="wide")
    page = apply_query_params()  # a hand-out link: dataset, model, preset, classroom, page
    navigation = st.navigation(
        {
            "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
            "Learn": [
                st.Page("pages/explore.py", title="Explore", icon=":material/image_search:"),
                st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
                st.Page("pages/learn.py", title="Inside the CNN", icon=":material/neurology:",
                        url_path="learn"),
            ],
            "Use": [
                st.Page("pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
                st.Page("pages/predict.py", title="Predict", icon=":material/stethoscope:"),
            ],
        }
    )
    if page:  # once per session, so the link does not pin the page
        st.switch_page(page)
    sidebar_status()
    navigation.run()


main()
