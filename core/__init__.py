"""ECG Image Lab core: datasets, synthetic ECG pages, models, training, evaluation and explanation.

Nothing in this package imports Streamlit; the pages in ``pages/`` are thin UI over it and
``python -m core`` exposes the same functions on the command line.
"""
from core import tensorflow_env as _tensorflow_env

_tensorflow_env.install()
