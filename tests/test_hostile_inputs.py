"""The bad-input corpus (tests/badfiles.py) through every path a file can take: the loader, the
scanner CLI, batch prediction, the predict CLI and the Predict page. Each bad file gives its own
message, nothing crashes, and names with HTML or Markdown are shown escaped.

The scanner and ``load_image`` themselves are covered in tests/data/test_imageio.py.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from badfiles import make_bad_files

REPO = Path(__file__).resolve().parent.parent


def _expected() -> dict[str, str | None]:
    with tempfile.TemporaryDirectory() as folder:  # make_bad_files is deterministic
        return make_bad_files(folder)


EXPECTED = _expected()
BAD = [name for name, message in EXPECTED.items() if message is not None]
GOOD = [name for name, message in EXPECTED.items() if message is None]


def shown(name: str) -> str:
    """A file name as a browser hands it over: the non-UTF-8 byte becomes U+FFFD."""
    return os.fsencode(name).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    make_bad_files(folder)
    return folder


@pytest.mark.parametrize("name", list(EXPECTED))
def test_loader_gives_the_specific_message_or_a_network_input(corpus, name):
    from core.ecg import Preprocessing, load_and_prepare
    from core.imageio import ImageLoadError

    spec = Preprocessing(64, 128)
    if EXPECTED[name] is None:
        assert load_and_prepare(corpus / name, spec).shape[:2] == (64, 128)
        return
    with pytest.raises(ImageLoadError) as caught:
        load_and_prepare(corpus / name, spec)
    assert EXPECTED[name] in str(caught.value) and name in str(caught.value)


def test_batch_predict_gives_each_bad_file_its_message_and_predicts_the_rest(corpus, tiny_bundle):
    from core.bundles import load_bundle
    from core.use import predict_many

    bundle = load_bundle(tiny_bundle)
    table = predict_many(bundle, [(name, (corpus / name).read_bytes()) for name in EXPECTED]).set_index("file")
    for name, message in EXPECTED.items():
        row = table.loc[shown(name)]
        if message is None:
            assert row["error"] == "" and row["predicted"] in bundle.metadata.classes, name
        else:
            assert message in row["error"], (name, row["error"])


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *map(os.fsencode, args)], cwd=REPO,
                          capture_output=True, timeout=600)


def test_predict_cli_reports_every_bad_file_on_its_own_line(corpus, tiny_bundle):
    files = [str(corpus / name) for name in EXPECTED]
    result = run_cli("predict", "--model", str(tiny_bundle), "--json", *files)
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 1, stderr  # some files failed, the others were predicted
    assert "Traceback" not in stderr
    rows = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert len(rows) == len(EXPECTED)
    for row, name in zip(rows, EXPECTED):
        if EXPECTED[name] is None:
            assert "error" not in row and row["predicted"], row
        else:
            assert EXPECTED[name] in row["error"], row


def test_predict_cli_plain_text_mode_survives_odd_names(corpus, tiny_bundle):
    names = ["<script>alert(1)<script>.jpg", "caf\udce9_latin1.PNG", "notes.jpg"]
    result = run_cli("predict", "--model", str(tiny_bundle), *[str(corpus / n) for n in names])
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 1 and "Traceback" not in stderr, stderr
    assert "it looks like text" in stderr and len(result.stdout.splitlines()) == 2


def test_scan_cli_lists_each_bad_file_with_its_reason(corpus, tmp_path):
    dataset = tmp_path / "data"
    shutil.copytree(corpus, dataset / "Normal")
    result = run_cli("scan", str(dataset), "--json")
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 0 and "Traceback" not in stderr, stderr
    summary = json.loads(result.stdout)
    skipped = {Path(row["path"]).name: row["reason"] for row in summary["skipped"]}
    assert set(skipped) == set(BAD)
    for name in BAD:
        assert EXPECTED[name] in skipped[name]
    assert summary["counts"] == {"all": {"Normal": len(GOOD)}}


# --- the Predict page -------------------------------------------------------------------------

def _texts(at) -> list[str]:
    return [e.value for kind in ("markdown", "error", "warning", "caption", "info") for e in at.get(kind)]


def test_predict_page_shows_each_bad_upload_as_a_message_and_names_escaped(app_test, corpus, tiny_bundle,
                                                                          models_root):
    from pages.common import escape

    shutil.copytree(tiny_bundle, models_root / "tiny")
    at = app_test("pages/predict.py")
    problems = []
    for name in EXPECTED:  # one AppTest for the whole corpus: a fresh one per file would take minutes
        at.file_uploader(key="predict_upload").upload(shown(name), (corpus / name).read_bytes(), "image/jpeg")
        at.run()
        if at.exception:
            problems.append((name, [e.value for e in at.exception]))
            continue
        texts = _texts(at)
        if any("<script>" in t for t in texts):
            problems.append((name, "raw <script> rendered"))
        if EXPECTED[name] is None:
            if f"#### Result for {escape(shown(name))}" not in texts:
                problems.append((name, "no result heading"))
        else:
            errors = [e.value for e in at.error]
            if not any(escape(EXPECTED[name]) in e and escape(shown(name)) in e for e in errors):
                problems.append((name, errors))
    assert not problems


def test_predict_page_batch_of_the_whole_corpus(app_test, corpus, tiny_bundle, models_root):
    shutil.copytree(tiny_bundle, models_root / "tiny")
    at = app_test("pages/predict.py")
    at.radio(key="predict_source").set_value("batch").run()
    uploader = at.file_uploader(key="predict_batch")
    for name in EXPECTED:
        uploader.upload(shown(name), (corpus / name).read_bytes(), "image/png")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value.set_index("file")
    assert len(table) == len(EXPECTED)
    for name, message in EXPECTED.items():
        error = table.loc[shown(name), "error"]
        assert (error == "") if message is None else (message in error), (name, error)
    assert any(f"{len(GOOD)} predicted, {len(BAD)} could not be read" in c.value for c in at.caption)
