"""Codesign of on-detector ML data compression for the CMS HGCAL (ECON-T).

The Python API (see the README, "Python API"): ``load_model`` gives a ``Model`` with ``predict`` (frames as
the chip sends them), ``reconstruct``, ``evaluate`` (against the chip's algorithms) and ``write_rtl``;
``read_calq`` / ``load_wafers`` read wafer files. The command line (``codesign``) runs the same functions.
"""

from codesign.api import Evaluation, Model, load_model
from codesign.data.io import load_wafers, read_calq

__all__ = ["Evaluation", "Model", "load_model", "load_wafers", "read_calq"]
