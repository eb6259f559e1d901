"""A one-line Streamlit app: Streamlit's own first-page time on this machine, the bench's floor."""
import streamlit as st

st.title("ECG Image Lab")
