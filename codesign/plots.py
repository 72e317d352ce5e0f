"""One plotting style for every figure the framework writes: labelled axes with units, the data set and
wafer count in the title, overflow marked, files written atomically. Matplotlib is imported on first use;
figures are ``matplotlib.figure.Figure`` objects drawn without pyplot, so a notebook's backend and its open
figures are left alone."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import atomic_path

# the ground distance of every EMD here (codesign.emd.exact): trigger-cell centres, neighbours 2.0 apart
EMD_UNIT = "[half TC pitch]"
EMD_AXIS = f"EMD {EMD_UNIT}"
_STYLE = {"axes.grid": True, "grid.alpha": 0.3, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 7,
          "xtick.labelsize": 8, "ytick.labelsize": 8}


@contextmanager
def figure(path: str | Path, nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (8, 5),
           dpi: int = 110, squeeze: bool = True) -> Iterator[tuple[Any, Any]]:
    """``(fig, axes)`` in the project's style; saved as PNG to ``path`` when the body finishes (not on an
    error). ``axes`` is as ``Figure.subplots`` gives it (a 2-D array with ``squeeze=False``)."""
    import matplotlib
    from cycler import cycler
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # ten colours, solid then dashed: an evaluation plot has a dozen algorithms, none may share a look
    lines = cycler(linestyle=["-", "--"]) * cycler(color=matplotlib.colormaps["tab10"].colors)  # type: ignore[attr-defined]
    with matplotlib.rc_context({**_STYLE, "axes.prop_cycle": lines}):  # type: ignore[dict-item]
        fig = Figure(figsize=figsize)
        FigureCanvasAgg(fig)  # draws PNGs itself: no pyplot, no global backend switch
        axes = fig.subplots(nrows, ncols, squeeze=squeeze)
        yield fig, axes
        fig.tight_layout()
        with atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)


def with_overflow(values: np.ndarray, top: float) -> np.ndarray:
    """``values`` clipped into the last bin below ``top`` so a histogram counts them there; label the axis
    with ``OVERFLOW``."""
    return np.minimum(values, np.nextafter(top, -np.inf))


OVERFLOW = "last bin: overflow"


def data_label(data: str) -> str:
    """What a plot title says about its wafers: ``synthetic highpu`` for ``synth:highpu``, else ``real NAME``."""
    name = Path(data).name if data else "wafers"
    return f"synthetic {data.split(':', 1)[1]}" if data.startswith("synth:") else (
        name if name.startswith(("real", "synthetic")) else f"real {name}")


MODULE_LINES = {"hd": "-", "ld": "--"}  # module type -> line style, in every plot that pairs hd and ld rows


def series_styles(names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """A look per series (``color``, ``linestyle``, ``marker``) for the systems of an evaluation: one colour per
    system (its name without the module type), the line style and marker by module type (hd solid with
    circles, ld dashed with squares), the uniform wafer grey and dotted; so the hd and ld rows of one system
    read as a pair and no two systems share a look (ten colours, then they repeat)."""
    colours: dict[str, str] = {}
    styles = {}
    for name in names:
        if name == "uniform":
            styles[name] = {"color": "0.5", "linestyle": ":", "marker": "."}
            continue
        parts = name.split(":")
        module = next((part for part in parts if part in MODULE_LINES), "hd")
        system = ":".join(part for part in parts if part not in MODULE_LINES)
        colour = colours.setdefault(system, f"C{len(colours) % 10}")
        styles[name] = {"color": colour, "linestyle": MODULE_LINES[module], "marker": "o" if module == "hd" else "s"}
    return styles
