"""The ECON-T chip's fixed algorithms as golden models: Threshold-Sum (with its buffer), Best-Choice, the four
super-trigger-cell types and the Repeater, frame for frame, and the back end's reconstruction; and the frame
the chip sends for its autoencoder (``codesign.econt.autoencoder``)."""

from codesign.econt.algorithms import (
    ALGORITHMS,
    BEST_CHOICE_CELLS,
    MODULE_PRESETS,
    BackEnd,
    ChipOutput,
    EcontSettings,
    ModulePreset,
    run_algorithm,
    supported_algorithms,
)
from codesign.econt.mux import TcMux, load_tc_mux
from codesign.econt.report import ChipSummary, write_chip_output

__all__ = [
    "ALGORITHMS",
    "BEST_CHOICE_CELLS",
    "MODULE_PRESETS",
    "BackEnd",
    "ChipOutput",
    "ChipSummary",
    "EcontSettings",
    "ModulePreset",
    "TcMux",
    "load_tc_mux",
    "run_algorithm",
    "supported_algorithms",
    "write_chip_output",
]
