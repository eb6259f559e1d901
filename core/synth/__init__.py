"""Synthetic ECG report pages and non-ECG images: the app's built-in dataset.

Ground-truth pages for the page reader (layouts, scans, photos, folds, ... with the signals and
trace masks drawn) are in ``core.synth.truth``; it needs OpenCV, so it is not imported here.
"""
from core.synth.dataset import GENERATOR_VERSION as GENERATOR_VERSION
from core.synth.dataset import builtin_dataset as builtin_dataset
from core.synth.dataset import generate_dataset as generate_dataset
from core.synth.dataset import page_seed as page_seed
from core.synth.dataset import render_example as render_example
from core.synth.effects import capture as capture
from core.synth.effects import map_box as map_box
from core.synth.layout import Style as Style
from core.synth.layout import render_page as render_page
from core.synth.layout import sample_style as sample_style
from core.synth.nonecg import render_non_ecg as render_non_ecg
from core.synth.waveforms import LEADS as LEADS
from core.synth.waveforms import TERRITORIES as TERRITORIES
from core.synth.waveforms import Ecg as Ecg
from core.synth.waveforms import synthesize_ecg as synthesize_ecg
