"""What ``codesign econt run`` writes: the frames as text, the back end's wafers and a summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from codesign.artifacts import atomic_dir, provenance, write_json
from codesign.data.io import CALQ_COLUMNS
from codesign.econt.algorithms import ChipOutput

FRAMES_FILE = "frames.txt"
RECONSTRUCTED_FILE = "reconstructed.csv"
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class ChipSummary:
    algorithm: str
    elinks: int
    drop_lsb: int
    wafers: int
    link_bits_per_bx: int
    mean_bits_used: float  # bits that carry data (header and sums included), before padding
    max_bits_used: int
    mean_frame_bits: float  # with padding to whole words
    buffer_truncations: int | None  # Threshold-Sum with the buffer; None where there is no buffer

    @classmethod
    def of(cls, output: ChipOutput) -> ChipSummary:
        frames, s = output.frames, output.settings
        truncated = output.extra.get("truncated")
        return cls(output.algorithm, s.elinks, s.drop_lsb, len(frames), s.link_bits,
                   float(frames.used.mean()) if len(frames) else 0.0, int(frames.used.max(initial=0)),
                   float(frames.lengths.mean()) if len(frames) else 0.0,
                   None if truncated is None else int(truncated.sum()))


def write_chip_output(output: ChipOutput, out_dir: str | Path, *, force: bool = False, **meta: object) -> ChipSummary:
    """``frames.txt`` (one frame per wafer, first transmitted bit first), ``reconstructed.csv`` (decoded
    CALQ in this project's TC order) and ``summary.json``, written as one folder (``atomic_dir``: a folder of
    files codesign did not write is refused unless ``force``)."""
    summary = ChipSummary.of(output)
    with atomic_dir(out_dir, force) as out:
        (out / FRAMES_FILE).write_text("".join(f"{line}\n" for line in output.frames.strings()))
        np.savetxt(out / RECONSTRUCTED_FILE, output.reconstruction, fmt="%.10g", delimiter=",",
                   header=",".join(CALQ_COLUMNS), comments="")
        write_json(out / SUMMARY_FILE, {**asdict(summary), "settings": asdict(output.settings),
                                        "meta": provenance(**meta)})
    return summary
