"""core.use.ood: a model without a Non-ECG class still rejects photos and charts."""
from __future__ import annotations

import pathlib

import pandas as pd
import pytest
import sklearn.datasets

from core.use import NOT_AN_ECG

PHOTOS = sorted((pathlib.Path(sklearn.datasets.__file__).parent / "images").glob("*.jpg"))
CHART = pathlib.Path(__file__).resolve().parents[2] / "assets" / "examples" / "synthetic-non-ecg-chart.jpg"


@pytest.fixture(scope="module")
def four_class_bundle(tiny_dataset, tmp_path_factory):
    """A compact CNN trained on the four ECG classes only (no Non-ECG class to fall back on)."""
    from core.bundles import load_bundle
    from core.data import folder_source, prepare_dataset
    from core.ecg import Preprocessing
    from core.learn import TrainConfig, save_outcome, train

    data = prepare_dataset(folder_source(tiny_dataset), seed=0)
    index = data.index[data.index["class"] != "Non-ECG"]
    outcome = train(index, TrainConfig(epochs=3, batch_size=8, preprocessing=Preprocessing(64, 128), patience=0))
    return load_bundle(save_outcome(outcome, tmp_path_factory.mktemp("four") / "four"))


def test_photos_and_a_stock_chart_are_not_ecgs_for_a_four_class_model(four_class_bundle):
    from core.use import analyse_image

    assert "Non-ECG" not in four_class_bundle.metadata.classes and len(PHOTOS) >= 2
    for image in [*PHOTOS, CHART]:
        d = analyse_image(four_class_bundle, image).diagnosis
        assert d.status == NOT_AN_ECG, (image.name, d)
        assert d.predicted in four_class_bundle.metadata.classes     # softmax still named a class


def test_most_ecg_pages_pass_the_check(four_class_bundle, tiny_dataset):
    from core.use import analyse_image

    findings = pd.read_csv(tiny_dataset / "findings.csv")
    pages = findings[findings["class"] != "Non-ECG"]["path"]
    rejected = [p for p in pages if analyse_image(four_class_bundle, tiny_dataset / p).diagnosis.status == NOT_AN_ECG]
    assert len(rejected) <= len(pages) // 4, rejected


def test_the_check_is_fitted_once_and_cached_on_disk(four_class_bundle, monkeypatch):
    import core.use.ood as ood
    from core.learn import bundle_preprocessing
    from core.use import explainer_for

    explainer = explainer_for(four_class_bundle.model)
    spec = bundle_preprocessing(four_class_bundle.metadata)
    first = ood.ecg_check_for(four_class_bundle, explainer, spec)
    assert ood._cache_file(four_class_bundle).is_file()
    ood._CHECKS.clear()

    def refit(*args, **kwargs):
        raise AssertionError("the cached check should have been used")

    monkeypatch.setattr(ood, "fit_ecg_check", refit)
    again = ood.ecg_check_for(four_class_bundle, explainer, spec)
    assert (again.coef == first.coef).all() and again.intercept == first.intercept
