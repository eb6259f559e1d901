"""ECG-specific parts of the lab that need no Streamlit: the page reader lives in ``core.ecg.reader``."""
