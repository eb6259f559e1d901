"""core.tensorflow_env: oneDNN on for x86, and TensorFlow's load-time notices kept off stderr."""
import importlib.abc
import importlib.util
import os
import platform
import subprocess
import sys

from core.paths import PROJECT_ROOT
from core.tensorflow_env import _FilteredStderrLoader


def test_the_filter_drops_the_notices_and_passes_everything_else_on(capfd):
    class Loud(importlib.abc.Loader):
        def create_module(self, spec):
            return None

        def exec_module(self, module):
            os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
                        b"I0000 port.cc:153] oneDNN custom operations are on. You may see ...\n"
                        b"a real warning\n")
            module.answer = 42

    spec = importlib.util.spec_from_loader("loud_module", _FilteredStderrLoader(Loud()))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    err = capfd.readouterr().err
    assert err == "a real warning\n"
    assert module.answer == 42 and isinstance(module.__loader__, Loud) and isinstance(module.__spec__.loader, Loud)


def test_tensorflow_loads_quietly_with_onednn_on_x86():
    code = ("import os, core, tensorflow as tf; "
            "print(os.environ['TF_ENABLE_ONEDNN_OPTS'] if 'TF_ENABLE_ONEDNN_OPTS' in os.environ else '-', "
            "tf.constant(2.0).numpy() * 2)")
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=True)
    on_x86 = platform.machine().lower() in ("x86_64", "amd64")
    assert done.stdout.split() == ["1" if on_x86 else "-", "4.0"]
    assert "oneDNN custom operations" not in done.stderr and "absl::InitializeLog" not in done.stderr
