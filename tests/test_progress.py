"""Feedback on long work (issue 17): heartbeats name the log, nest, and go quiet with --quiet; reports
render to markdown and a self-contained HTML page; plots follow one style."""

from __future__ import annotations

import re
import sys
import time

import numpy as np
import pytest

from codesign import progress
from codesign.document import Document
from codesign.fpga.synth import nextpnr_step
from codesign.hardware.yosys import yosys_pass
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


def test_a_tool_heartbeat_says_where_the_tool_is(tmp_path, capsys, monkeypatch):
    """The heartbeat quotes the last progress line of the tool's log, as its ``describe`` reads it."""
    monkeypatch.setattr(progress, "HEARTBEAT_S", 0.05)
    script = ("import sys, time\n"
              "print('Info:     iter=1 wires=10 overused=45998 overuse=1', flush=True)\n"
              "print('Info: a line that says nothing', flush=True)\n"
              "time.sleep(0.4)\n")
    run_tool([sys.executable, "-c", script], cwd=tmp_path, log=tmp_path / "nextpnr.log", describe=nextpnr_step)
    assert re.search(r"still running, \d+ s: router2 iteration 1, 45998 wires overused \(log: .*nextpnr\.log\)",
                     capsys.readouterr().err)


def test_log_lines_of_nextpnr_and_yosys_are_read_as_progress(tmp_path):
    """Placement, its refinement, the placed estimate, router2 and router1 lines of nextpnr 0.11; Yosys
    passes; a log that is missing or says nothing yet gives no status."""
    lines = {
        "Info:     at iteration #18, type ALL: wirelen solved = 398057, spread = 477756, legal = 493788; time = 2.59s":
            "analytic placement, iteration 18",
        "Info:   at iteration #25: temp = 0.000000, timing cost = 6417, wirelen = 428436":
            "placement refinement, iteration 25",
        "Info: Max frequency for clock '$glbnet$clk$TRELLIS_IO_IN': 53.44 MHz (PASS at 40.00 MHz)":
            "53.44 MHz estimated after placement",
        "Info:     iter=7 wires=636241 overused=9660 overuse=9847 archfail=NA":
            "router2 iteration 7, 9660 wires overused",
        "Info:      97000 |    35968      61031 |  416   584 |    111615|      12.19     419.47|":
            "router1, 111615 arcs to route",
        "Info:    IterCnt |  w/ripup   wo/ripup |  w/r  wo/r |      arcs| batch(sec) total(sec)|": None,
    }
    assert {line: nextpnr_step(line) for line in lines} == lines
    assert yosys_pass("21.49. Executing CHECK pass (checking for obvious problems).") == "CHECK pass"
    assert yosys_pass("Number of cells:              49144") is None
    log = tmp_path / "yosys.log"
    status = progress.log_status(log, yosys_pass)
    assert status() is None
    log.write_text("1. Executing Verilog-2005 frontend.\n2. Executing HIERARCHY pass.\n2.1. Executing ABC pass.\nx\n")
    assert status() == "ABC pass"


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


def test_a_tool_past_its_timeout_is_stopped_with_its_children(tmp_path):
    """issue 33, item 2: the timeout is a ToolFailure (exit 3, not a traceback) and a grandchild (yosys-abc,
    g++) does not outlive it."""
    import os

    from codesign.errors import ToolFailure
    from codesign.tools import ToolTimeout, run_tool

    script = "sleep 60 & echo $! > child.pid; wait"
    start = time.monotonic()
    with pytest.raises(ToolTimeout, match="timed out after 1 s.*log: ") as err:
        run_tool(["bash", "-c", script], cwd=tmp_path, log=tmp_path / "tool.log", timeout=1)
    assert isinstance(err.value, ToolFailure) and time.monotonic() - start < 20
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 10  # the grandchild gets SIGTERM with its group; give the kernel time
    while time.monotonic() < deadline and os.path.exists(f"/proc/{child}") and "Z" not in _state(child):
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{child}") or "Z" in _state(child)


def _state(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0]
    except OSError:
        return "gone"


def test_html_tables_right_align_numbers_only():
    """Issue 33, item 11: text columns (system names, notes) read left-aligned, number columns right-aligned."""
    doc = Document("t")
    doc.table(["system", "mean / median", "change", "note"],
              [["codec:entropy:hd:2elink", "0.688 / 0.676", "-2.4 %", "fits"],
               ["uniform", "3.22 / 3.10", "+370 %", ""]])
    text = doc.html()
    assert "<td>codec:entropy:hd:2elink</td><td class='num'>0.688 / 0.676</td><td class='num'>-2.4 %</td>" \
           "<td>fits</td>" in text
    assert "<th>system</th><th class='num'>mean / median</th>" in text and ".num{text-align:right}" in text


def test_markdown_cells_escape_the_column_bar_and_hardware_reports_have_pages(tmp_path):
    """Issue 33, item 9: a `|` inside a cell does not split it; the ASIC and FPGA reports are Documents, so each
    has its HTML page beside its markdown."""
    from codesign.asic.flow import asic_summary
    from codesign.asic.synth import AreaPart, add_split

    doc = Document("t")
    doc.table(["a|b", "c"], [["x | y", "1"]])
    assert "| a\\|b | c |" in doc.markdown(tmp_path) and "| x \\| y | 1 |" in doc.markdown(tmp_path)
    summary = asic_summary({})
    add_split(summary, (AreaPart("part", 10.0, 4.0), AreaPart("rest", 30.0, None)), 1.44)
    page = summary.write(tmp_path / "summary.md")
    assert page.name == "summary.html" and "<th>design</th>" in page.read_text()
    assert "| rest | 30 | - | 0.0000 | 75.0 % |" in (tmp_path / "summary.md").read_text()
