"""HGCAL wafer data: files, geometry, layouts, on-chip conversion, synthetic generator, splits."""

from codesign.data.io import WaferFileError, WaferSet, load_wafers, read_calq, real_data_dir, write_wafers
from codesign.data.normalise import ZeroSumError, normalise
from codesign.data.onchip import OnchipWords, onchip_convert

__all__ = [
    "OnchipWords",
    "WaferFileError",
    "WaferSet",
    "ZeroSumError",
    "load_wafers",
    "normalise",
    "onchip_convert",
    "read_calq",
    "real_data_dir",
    "write_wafers",
]
