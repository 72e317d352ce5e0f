"""Feedback on long work (issue 17): heartbeats name the log, nest, and go quiet with --quiet; reports
render to markdown and a self-contained HTML page; plots follow one style."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from codesign import progress
from codesign.document import Document
from codesign.plots import data_label, figure, with_overflow
from codesign.tools import run_tool


@pytest.fixture(autouse=True)
def _normal_level():
    progress.set_level(progress.Level.NORMAL)
    yield
    progress.set_level(progress.Level.NORMAL)


def test_heartbeat_names_the_log_and_only_the_innermost_beats(capsys):
    with progress.heartbeat("outer", every=0.05), progress.heartbeat("yosys", "/tmp/yosys.log", every=0.05):
        time.sleep(0.3)
    err = capsys.readouterr().err
    assert "yosys: still running" in err and "(log: /tmp/yosys.log)" in err
    assert "outer" not in err


def test_short_work_is_silent_and_quiet_silences_everything(capsys):
    with progress.heartbeat("quick", every=5):
        pass
    assert capsys.readouterr().err == ""
    progress.set_level(progress.Level.QUIET)
    with progress.heartbeat("slow", every=0.05):
        time.sleep(0.2)
    progress.note("a stage line")
    bar = progress.bar(10, "work", "item")
    bar.update(10)
    bar.close()
    assert capsys.readouterr().err == ""


def test_a_tool_run_beats_while_it_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(progress, "HEARTBEAT_S", 0.05)
    run_tool([sys.executable, "-c", "import time; time.sleep(0.3)"], cwd=tmp_path, log=tmp_path / "tool.log")
    assert "still running" in capsys.readouterr().err


def test_stages_time_each_stage(capsys):
    stages = progress.Stages(2)
    with stages.stage("first"):
        pass
    with stages.stage("second", beat=False):
        pass
    assert list(stages.times) == ["first", "second"]
    err = capsys.readouterr().err
    assert "[1/2] first" in err and "[2/2] second: done in 0 s" in err


def test_document_renders_markdown_and_a_self_contained_page(tmp_path):
    with figure(tmp_path / "plot.png") as (_, ax):
        ax.plot([0, 1], [0, 1])
    doc = Document("demo <report>")
    doc.heading("Numbers")
    doc.paragraph("see `out/x` and **this**")
    doc.table(["a", "b"], [["1", "<2>"]])
    doc.image(tmp_path / "plot.png", "a line")
    page = doc.write(tmp_path / "report.md")
    md = (tmp_path / "report.md").read_text()
    assert md.startswith("# demo <report>") and "| a | b |" in md and "![a line](plot.png)" in md
    text = page.read_text()
    assert "<title>demo &lt;report&gt;</title>" in text and "<code>out/x</code>" in text and "<b>this</b>" in text
    assert "<td>&lt;2&gt;</td>" in text and "data:image/png;base64," in text


def test_plots_mark_overflow_and_say_what_the_wafers_are():
    clipped = with_overflow(np.array([1.0, 7.5, 100.0]), 6.0)
    assert clipped[0] == 1.0 and np.all(clipped[1:] < 6.0) and np.all(clipped[1:] > 5.99)
    assert data_label("synth:highpu") == "synthetic highpu"
    assert data_label("../shared/data/hgcal/highpu_dev.csv") == "real highpu_dev.csv"
