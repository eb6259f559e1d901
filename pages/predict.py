"""Predict: coming in its own issue."""
import streamlit as st

st.title("Predict")
st.info("Coming soon: this page is being built.")
