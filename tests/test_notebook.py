"""What a notebook user meets (issue 33, item 5): plotting leaves the session's matplotlib backend alone,
the error classes come with ``import codesign``, and the package says it is typed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import codesign


def test_plots_leave_the_backend_and_pyplot_alone(tmp_path):
    code = ("import matplotlib; matplotlib.use('svg'); import sys\n"
            "from codesign.plots import figure\n"
            f"with figure({str(tmp_path / 'p.png')!r}) as (fig, ax): ax.plot([0, 1], [1, 0])\n"
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_error_classes_and_typing_marker_come_with_the_package():
    assert issubclass(codesign.InputError, codesign.CodesignError)
    assert {"CodesignError", "InputError", "VerificationError", "ToolFailure"} <= set(codesign.__all__)
    assert (Path(codesign.__file__).parent / "py.typed").is_file()
