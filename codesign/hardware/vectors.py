"""Test vectors: CALQ inputs and the frames the Keras model says the hardware must emit.

A vectors folder holds
    inputs.hex     one wafer per line: the 48 CALQ values packed, CALQ_0 in the least significant bits
    expected.hex   the expected output frame per line (``codesign.models.frame`` layout)
    expected_chip.hex  the same wafers in the chip's autoencoder frame (wafer i at bunch crossing i), when the
                   encoder's format fits it (the RTL top's CHIP_FRAME = 1)
    vectors.json   formats, counts and the kind of every row (real / zero / one_hot / saturated / random)
Real wafers come first, then the corner cases: the all-zero wafer, one hot cell in each of the 48
positions (at 1 MIP_T and at the largest CALQ), every cell saturated, and random full-range wafers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import atomic_dir, provenance, write_json, write_text
from codesign.data.geometry import N_TC
from codesign.data.onchip import onchip_convert
from codesign.models.encoder import EncoderConfig, encoder_inputs, latent_integers
from codesign.models.frame import FRAME_KINDS, FrameFormat, chip_frame_problem, pack_chip_frames, pack_frames
from codesign.models.sparse import best_cells, cell_values, is_sparse

MIP_T = 35  # CALQ counts per transverse MIP
EXPECTED_FILES = {"project": "expected.hex", "chip": "expected_chip.hex"}


@dataclass(frozen=True)
class Vectors:
    calq: np.ndarray  # (n, 48) int64
    frames: list[int]
    kinds: list[str]
    calq_bits: int
    fmt: FrameFormat
    chip_frames: list[int] | None = None  # the chip's autoencoder frame, where the format fits it


def check_wafers(data: str | Path | None, limit: int | None = None) -> tuple[np.ndarray, str]:
    """Wafers to verify hardware on: ``data`` if given, else the real high-pileup set when present, else
    synthetic high-pileup wafers (seed 0). Returns them (at most ``limit``) and where they came from."""
    from codesign.data.io import REFERENCE_FILE, read_calq, real_data_dir
    from codesign.data.synth import generate_wafers, load_synth_config

    path = Path(data) if data else real_data_dir() / REFERENCE_FILE
    if data or path.is_file():
        calq, source = read_calq(path), str(path)
    else:
        calq, source = generate_wafers(load_synth_config("highpu"), limit or 3000, seed=0), "synthetic highpu"
    return calq[:limit], source


def corner_cases(calq_bits: int, n_random: int = 32, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    top = (1 << calq_bits) - 1
    rng = np.random.default_rng(seed)
    sparse = rng.random((n_random, N_TC)) < rng.random((n_random, 1))
    cases = [
        (np.zeros((1, N_TC), dtype=np.int64), "zero"),
        (np.eye(N_TC, dtype=np.int64) * MIP_T, "one_hot_mip"),
        (np.eye(N_TC, dtype=np.int64) * top, "one_hot_max"),
        (np.full((1, N_TC), top, dtype=np.int64), "saturated"),
        (rng.integers(0, top + 1, (n_random, N_TC)) * sparse, "random"),
    ]
    return np.concatenate([c for c, _ in cases]), [k for c, k in cases for _ in range(len(c))]


@dataclass(frozen=True)
class EncodedWafers:
    """What the chip makes of wafers, according to the Keras model: per wafer the latent integers, the sum
    code, whether it went in sparse mode, and the frame (``codesign.models.frame`` layout, an integer);
    ``chip_frames`` in the chip's autoencoder frame where the format fits it (else None)."""

    latents: np.ndarray  # (n, n_latents) unsigned integers
    sum_codes: np.ndarray  # (n,)
    sparse: np.ndarray  # (n,) bool: sent in sparse mode (hybrid encoder)
    frames: list[int]
    chip_frames: list[int] | None
    fmt: FrameFormat

    def __len__(self) -> int:
        return len(self.frames)


def encode(model: Any, cfg: EncoderConfig, calq: np.ndarray) -> EncodedWafers:
    """Run the on-chip conversion and the quantized encoder on (n, 48) CALQ wafers and pack their frames."""
    words = onchip_convert(calq)
    # Large batches: a third less time than 1,024 on a million wafers; the sums are exact in float32 either way.
    latents = latent_integers(model.predict(encoder_inputs(words.inputs, cfg), verbose=0, batch_size=8192), cfg)
    fmt = FrameFormat.of(cfg)
    values = cell_values(calq, words.inputs, fmt.cell_coding)
    sparse = is_sparse(values, cfg.sparse_max_occupancy)
    if not fmt.sparse_mode:
        chip = None if chip_frame_problem(fmt) else pack_chip_frames(latents, words.sum_code, fmt)
        return EncodedWafers(latents, words.sum_code, sparse, pack_frames(latents, words.sum_code, fmt), chip, fmt)
    mixed: list[int | None] = [None] * len(calq)
    rows = np.flatnonzero(sparse)  # only the sparse wafers' cells are chosen and packed (Python integers: slow)
    for row, payload in zip(rows.tolist(), fmt.cell_coding.pack(*best_cells(values[rows], fmt.sparse_cells)),
                            strict=True):
        mixed[row] = payload
    return EncodedWafers(latents, words.sum_code, sparse, pack_frames(latents, words.sum_code, fmt, sparse=mixed),
                         None, fmt)


def make_vectors(model: Any, cfg: EncoderConfig, real_calq: np.ndarray, *, calq_bits: int = 22,
                 seed: int = 0) -> Vectors:
    real_calq = np.asarray(real_calq, dtype=np.int64)
    if real_calq.size and real_calq.max() >= 1 << calq_bits:
        raise ValueError(f"real wafers hold CALQ {real_calq.max()} which does not fit {calq_bits} bits")
    corners, kinds = corner_cases(calq_bits, seed=seed)
    calq = np.concatenate([real_calq, corners])
    encoded = encode(model, cfg, calq)
    return Vectors(calq=calq, frames=encoded.frames, kinds=["real"] * len(real_calq) + kinds, calq_bits=calq_bits,
                   fmt=encoded.fmt, chip_frames=encoded.chip_frames)


def pack_calq(calq: np.ndarray, calq_bits: int) -> list[int]:
    words = []
    for row in np.asarray(calq, dtype=np.int64).tolist():
        word = 0
        for i, value in enumerate(row):
            word |= value << (calq_bits * i)
        words.append(word)
    return words


def write_vectors(out_dir: str | Path, vec: Vectors, *, force: bool = False, **meta: Any) -> None:
    in_digits = (N_TC * vec.calq_bits + 3) // 4
    kinds, counts = np.unique(vec.kinds, return_counts=True)
    with atomic_dir(out_dir, force) as tmp:
        write_text(tmp / "inputs.hex", "".join(f"{w:0{in_digits}x}\n" for w in pack_calq(vec.calq, vec.calq_bits)))
        write_text(tmp / EXPECTED_FILES["project"], "".join(f"{f:0{vec.fmt.hex_digits}x}\n" for f in vec.frames))
        if vec.chip_frames is not None:
            write_text(tmp / EXPECTED_FILES["chip"],
                       "".join(f"{f:0{vec.fmt.hex_digits}x}\n" for f in vec.chip_frames))
        write_json(tmp / "vectors.json", {
            "n_vectors": len(vec.frames),
            "counts": {str(k): int(c) for k, c in zip(kinds, counts, strict=True)},
            "calq_bits": vec.calq_bits,
            "frame": {"width": vec.fmt.width, "latent_bits": vec.fmt.latent_bits, "n_latents": vec.fmt.n_latents,
                      "sum_code_offset": vec.fmt.sum_offset, "elinks": vec.fmt.elinks,
                      "sparse_mode": vec.fmt.sparse_mode, "sparse_value_bits": vec.fmt.sparse_value_bits,
                      "sparse_values": vec.fmt.sparse_values},
            "frame_kinds": [k for k in FRAME_KINDS if k == "project" or vec.chip_frames is not None],
            "sparse_frames": sum((f >> vec.fmt.mode_bit) & 1 for f in vec.frames) if vec.fmt.sparse_mode else 0,
            "kinds": vec.kinds,
            "meta": provenance(**meta),
        })


def read_vectors(vectors_dir: str | Path, frame: str = "project") -> tuple[list[int], list[int], dict[str, Any]]:
    """(input words, expected frames of kind ``frame`` (``FRAME_KINDS``), vectors.json) of a vectors folder."""
    folder = Path(vectors_dir)
    if frame not in FRAME_KINDS:
        raise ValueError(f"unknown frame kind {frame!r}; choose one of {list(FRAME_KINDS)}")
    for name in ("inputs.hex", "vectors.json"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: no {name}; run `codesign vectors` first")
    if not (folder / EXPECTED_FILES[frame]).is_file():
        why = "" if frame == "project" else " (the encoder's format does not fit the chip frame, or old vectors)"
        raise FileNotFoundError(f"{folder}: no {EXPECTED_FILES[frame]}{why}; run `codesign vectors`")
    inputs = [int(line, 16) for line in (folder / "inputs.hex").read_text().split()]
    expected = [int(line, 16) for line in (folder / EXPECTED_FILES[frame]).read_text().split()]
    info = json.loads((folder / "vectors.json").read_text())
    if not len(inputs) == len(expected) == info["n_vectors"]:
        raise ValueError(f"{folder}: {len(inputs)} inputs, {len(expected)} expected frames, "
                         f"vectors.json says {info['n_vectors']}")
    return inputs, expected, info
