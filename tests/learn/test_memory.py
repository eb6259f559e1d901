"""A server process trains and predicts over and over for a whole class: its memory must level off.

Two leaks were found and fixed, each pinned by a quick test here:

* ``test_a_predicted_model_is_freed_once_dropped``: every model that Predict had analysed an image
  with stayed alive (``core.use.explain.Explainer`` held it strongly while ``explainer_for`` keyed a
  WeakKeyDictionary by it).
* ``test_a_training_leaves_no_traced_graph_behind``: every training run left its traced train-step
  graphs (~9 MB each) in TensorFlow's process-wide gradient registry, through the
  ``@tf.custom_gradient`` of tf.distribute's all-reduce that Keras's optimizer uses
  (tensorflow/tensorflow#97697); ``core.learn.training`` drops those entries after ``fit``.

The opt-in soak (``pytest -m soak``, about 3 minutes) runs 13 cycles of what the server does for a
class (``core.bench.soak.training_cycles``: a training job in its thread, its run recorded and bundle
saved, then the bundle loaded and a page predicted) in one process, with no
``keras.backend.clear_session()`` (the app does not call it, and ``pages.keras_state`` stops
Streamlit calling it after each script run), and asserts the issue's bound: at most 5 MB a cycle
over the 10 cycles after three of warm-up. ``python -m core bench --only soak`` reports the same
figure. Measured on 2 busy cores, RSS per cycle in MB (20 cycles of ``train()`` alone):

* before the registry fix (2026-11-22): 898, 931, 950, 968, 987, 1007, 1025, … 1231, 1252, 1270
  (~19 MB a cycle);
* with it (2026-12-06, load 6): 922, 934, 941, 940, 940, 943, 942, 904, 942, 941, 943, 942, 940,
  944, 943, 909, 943, 940, 943, 941 (flat after the first three cycles, TensorFlow's one-off
  allocations).
"""
from __future__ import annotations

import gc
import weakref

import pytest

MAX_GROWTH_MB_PER_CYCLE = 5   # the bound; the registry leak was ~19


@pytest.mark.soak
def test_training_cycles_keep_the_servers_memory_flat(tiny_dataset, models_root):
    from core.bench.soak import JUDGED, WARM_UP, growth_per_cycle, training_cycles
    from core.data import folder_source, prepare_dataset

    data = prepare_dataset(folder_source(tiny_dataset), seed=0)
    readings = training_cycles(data.index, WARM_UP + JUDGED)
    growth = growth_per_cycle(readings)
    print(f"RSS per cycle (MB): {[round(r) for r in readings]}; growth {growth:.2f} MB a cycle")
    assert growth <= MAX_GROWTH_MB_PER_CYCLE, [round(r) for r in readings]


def test_a_training_leaves_no_traced_graph_behind(tiny_dataset):
    from tensorflow.python.framework.func_graph import FuncGraph

    from core.data import folder_source, prepare_dataset
    from core.ecg import Preprocessing
    from core.learn import TrainConfig, train

    def graphs() -> int:
        gc.collect()
        return sum(isinstance(o, FuncGraph) for o in gc.get_objects())

    data = prepare_dataset(folder_source(tiny_dataset), seed=0)
    config = TrainConfig(epochs=1, batch_size=8, preprocessing=Preprocessing(64, 128), patience=0)
    before = graphs()
    outcome = train(data.index, config)
    model = weakref.ref(outcome.model)
    del outcome
    after = graphs()
    assert model() is None, "the trained model stays alive after its outcome is dropped"
    # With the leak every run left ~70 graphs (the train step's and its optimizer's branches).
    assert after <= before, f"a training run left {after - before} traced graphs alive"


def test_a_predicted_model_is_freed_once_dropped(tiny_bundle, tiny_dataset):
    from core.bundles import load_bundle
    from core.use import analyse_image

    image = next(tiny_dataset.rglob("*.jpg")).read_bytes()
    refs = []
    for _ in range(2):
        bundle = load_bundle(tiny_bundle)
        analyse_image(bundle, image)          # builds and caches the model's explainer
        refs.append(weakref.ref(bundle.model))
        del bundle
        gc.collect()
    assert [r() for r in refs] == [None, None], "a model stays alive after its bundle is dropped"
