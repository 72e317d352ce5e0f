"""TensorFlow's C++ start-up lines stay hidden whatever the CPU (issue 33, item 4): checked in a fresh
interpreter with the log variables unset, since they print once per process."""

from __future__ import annotations

import os
import subprocess
import sys

from codesign.quiet import stderr_to_file

TF_LINES = ("absl::InitializeLog", "I0000", "oneDNN", "cpu_feature_guard")


def _stderr_of(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ABSL"))} | env
    return subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True).stderr


def test_importing_tensorflow_through_codesign_prints_nothing():
    quiet = _stderr_of("import codesign, keras, tensorflow as tf; tf.ones((2, 2)) @ tf.ones((2, 2))")
    assert not any(line in quiet for line in TF_LINES), quiet
    loud = _stderr_of("import codesign, tensorflow", TF_CPP_MIN_LOG_LEVEL="0")
    assert "I0000" in loud or "cpu_feature_guard" in loud or "oneDNN" in loud  # --verbose still shows them


def test_captured_stderr_is_restored_and_kept(capfd):
    with stderr_to_file() as captured:
        os.write(2, b"hidden\n")
        captured.seek(0)
        assert captured.read() == b"hidden\n"
    os.write(2, b"shown\n")
    err = capfd.readouterr().err
    assert "shown" in err and "hidden" not in err
