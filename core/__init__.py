"""ECG Image Lab core: the path of an image through the lab, one sub-package per stage.

Nothing in this package imports Streamlit; the pages in ``pages/`` are thin UI over it and
``python -m core`` exposes the same functions on the command line.
"""
from core import tensorflow_env as _tensorflow_env

# The stages in the order an image goes through the lab. A module may import the top-level modules
# (paths, errors, classes, imageio, bundles, charts, ...), its own stage and earlier stages, never a
# later one; ``tests/test_layering.py`` holds every module to this order.
STAGES = ("ecg", "synth", "data", "learn", "evaluate", "use", "teach", "bench", "commands")

_tensorflow_env.install()
