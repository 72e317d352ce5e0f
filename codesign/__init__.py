"""Codesign of on-detector ML data compression for the CMS HGCAL (ECON-T).

The Python API (see the README, "Python API"): ``load_model`` gives a ``Model`` with ``predict`` (frames as
the chip sends them), ``reconstruct``, ``evaluate`` (against the chip's algorithms), ``to_hls`` (an
``HlsProject``: compile, predict, build) and ``to_rtl`` (an ``RtlDesign``: write, simulate, lint, synthesize);
``train`` trains a spec with keyword overrides; ``load_system`` / ``evaluate_system`` take a table system (the
reference systems: the codec on chip, a learned table decoder in the back end); ``read_calq`` / ``load_wafers``
read wafer files. The command line (``codesign``) runs the same functions.
"""

import os

from codesign.quiet import quiet_tensorflow_import  # noqa: E402

# TensorFlow's C++ start-up lines (absl, oneDNN, CPU features) are noise for users of this package; a value
# the user set is kept, and `codesign --verbose` (TF_CPP_MIN_LOG_LEVEL=0) shows them
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
quiet_tensorflow_import()

from codesign.api import (  # noqa: E402
    Evaluation,
    HlsProject,
    Model,
    RtlDesign,
    evaluate_system,
    load_model,
    load_system,
    train,
)
from codesign.data.io import load_wafers, read_calq  # noqa: E402
from codesign.errors import CodesignError, InputError, ToolFailure, VerificationError  # noqa: E402

__all__ = ["CodesignError", "Evaluation", "HlsProject", "InputError", "Model", "RtlDesign", "ToolFailure",
           "VerificationError", "evaluate_system", "load_model", "load_system", "load_wafers", "read_calq", "train"]
