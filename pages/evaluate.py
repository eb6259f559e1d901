"""Evaluate: coming in its own issue."""
import streamlit as st

st.title("Evaluate")
st.info("Coming soon: this page is being built.")
