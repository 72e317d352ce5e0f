"""The evaluation plot's looks: the hd and ld rows of one system read as a pair, no two systems look alike,
and the legend sits outside the panels (issue 33, item 11)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from codesign.plots import series_styles

REFERENCE_METRICS = Path(__file__).parents[1] / "models" / "reference" / "econt_2elink_hybrid" / "eval" / "metrics.json"


def test_hd_and_ld_rows_of_a_system_share_a_colour_and_differ_in_line():
    names = ["autoencoder:econt_2elink_hybrid", "codec:entropy:hd:2elink", "codec:entropy:ld:2elink",
             "learned:codec:entropy:hd:2elink", "learned:codec:entropy:ld:2elink",
             "naive:chip:best-choice:hd:2elink", "naive:chip:best-choice:ld:2elink", "uniform"]
    styles = series_styles(names)
    for system in ("codec:entropy", "learned:codec:entropy", "naive:chip:best-choice"):
        hd, ld = styles[f"{system}:hd:2elink"], styles[f"{system}:ld:2elink"]
        assert hd["color"] == ld["color"] and (hd["linestyle"], ld["linestyle"]) == ("-", "--")
    looks = [tuple(sorted(look.items())) for look in styles.values()]
    assert len(set(looks)) == len(names)  # every series its own look
    colours = {styles[n]["color"] for n in names if ":ld:" not in n}
    assert len(colours) == 5  # the encoder, three systems, the uniform wafer


def test_evaluation_plot_puts_its_legend_outside(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from codesign.evaluation import _plots

    legends = []
    original = Figure.savefig

    def record(fig, *args, **kwargs):
        legends.extend(ax.get_legend() for ax in fig.axes)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    metrics = json.loads(REFERENCE_METRICS.read_text())["algorithms"]
    rng = np.random.default_rng(0)
    emds = {name: rng.gamma(4.0, m["mean_emd"] / 4, 600) for name, m in metrics.items()}
    _plots(metrics, emds, tmp_path, "highpu_dev.csv")
    assert (tmp_path / "emd.png").stat().st_size > 10_000
    shown = [legend for legend in legends if legend is not None]
    assert len(shown) == 1 and shown[0].get_bbox_to_anchor().x0 > shown[0].axes.bbox.x1 - 1
