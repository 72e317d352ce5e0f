"""Configuration images and the verification of the reconfigurable encoder (two weight sets) and of the universal
encoder block (every encoder it serves, one build)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import provenance, write_json, write_text
from codesign.hardware.block import EncoderBlockSpec, write_block_image, write_encoder_block
from codesign.hardware.reconfig import (
    I2C_REGISTER_BITS,
    check_i2c_shape,
    i2c_registers,
    register_image,
    register_map,
    register_words,
)
from codesign.hardware.rtl import write_reconfigurable_rtl
from codesign.hardware.sim.runner import Phase, SimResult, run_phases, run_simulation, upset_campaign
from codesign.hardware.vectors import make_vectors, write_vectors
from codesign.models.store import load_encoder, load_encoder_config

TESTBENCH = "codesign.hardware.sim.reconfig_testbench"


def write_config_image(model: Any, cfg: Any, path: str | Path, *, econt_i2c: bool = False) -> int:
    """Write the register image (hex, bit 0 = first bit shifted in) and ``<path>.json`` (map + protocol);
    ``econt_i2c`` also writes ``<path>.i2c.csv``: one row of the chip's 12 I2C register values in hex."""
    rmap = register_map(cfg)
    if econt_i2c:
        check_i2c_shape(cfg)
    image = register_image(register_words(model, cfg), cfg.weight_bits)
    path = Path(path)
    if econt_i2c:
        digits = -(-I2C_REGISTER_BITS // 4)
        write_text(path.with_suffix(path.suffix + ".i2c.csv"),
                   ",".join(f"{r:0{digits}x}" for r in i2c_registers(image)) + "\n")
    write_text(path, f"{image:0{(rmap.n_bits + 3) // 4}x}\n")
    offsets = {name: {"first_word": first, "shape": list(getattr(rmap, name)), "order": "Keras (row-major)"}
               for name, first in rmap.first_words().items()}
    write_json(path.with_suffix(path.suffix + ".json"), {
        "n_bits": rmap.n_bits, "n_words": rmap.n_words, "word_bits": cfg.weight_bits,
        "word_format": f"two's complement, {cfg.weight_frac_bits} fractional bits",
        "protocol": "hold cfg_en high for n_bits clock edges, presenting image bit i on cfg_in before edge i; "
                    "cfg_out shows register bit 0 (read-back: n_bits more edges with cfg_in = cfg_out)",
        "words": offsets, "meta": provenance(encoder=asdict(cfg))})
    return image


def verify_two_weight_sets(model_a: str | Path, model_b: str | Path, calq: np.ndarray, *, out_dir: str | Path,
                           simulator: str = "verilator", reuse: int = 1, tmr: bool = False) -> SimResult:
    """Build the reconfigurable RTL once (with reuse factor ``reuse``, TMR if ``tmr``), load A then B through
    the serial port, check both bit-exactly."""
    out = Path(out_dir)
    (ka, cfg), (kb, cfg_b) = load_encoder(model_a), load_encoder(model_b)
    if asdict(cfg) != asdict(cfg_b):
        raise ValueError(f"{model_a} and {model_b} have different encoder shapes or formats")
    write_reconfigurable_rtl(cfg, out / "rtl", tmr=tmr, reuse=reuse)
    env = {}
    for tag, model in (("A", ka), ("B", kb)):
        write_config_image(model, cfg, out / f"image_{tag}.hex")
        write_vectors(out / f"vectors_{tag}", make_vectors(model, cfg, calq))
        env[f"CODESIGN_IMAGE_{tag}"] = str((out / f"image_{tag}.hex").resolve())
    env["CODESIGN_VECTORS_B_DIR"] = str((out / "vectors_B").resolve())
    return run_simulation(out / "rtl", out / "vectors_A", simulator, testbench=TESTBENCH, extra_env=env)


def fault_campaign(model_dir: str | Path, calq: np.ndarray, out_dir: str | Path, *, n_faults: int = 1000,
                   seed: int = 0, reuse: int = 1) -> dict[str, dict[str, Any]]:
    """The same upset campaign on the reconfigurable design with and without TMR; the two reports."""
    out = Path(out_dir)
    model, cfg = load_encoder(model_dir)
    write_config_image(model, cfg, out / "image.hex")
    write_vectors(out / "vectors", make_vectors(model, cfg, calq))
    return upset_campaign(out, lambda folder, tmr: write_reconfigurable_rtl(cfg, folder, tmr=tmr, reuse=reuse),
                           n_faults=n_faults, seed=seed)


def block_fault_campaign(model_dir: str | Path, calq: np.ndarray, out_dir: str | Path, *,
                         served: Sequence[str | Path], n_faults: int = 1000, seed: int = 0,
                         reuse: int = 1) -> dict[str, dict[str, Any]]:
    """``fault_campaign`` on the universal encoder block that serves ``served`` (``model_dir`` among them),
    with ``model_dir``'s image loaded: upsets in the weights and in the settings alike."""
    out = Path(out_dir)
    model, cfg = load_encoder(model_dir)
    spec = EncoderBlockSpec.for_encoders([load_encoder_config(d) for d in served], reuse=reuse)
    write_block_image(model, cfg, spec, out / "image.hex")
    write_vectors(out / "vectors", make_vectors(model, cfg, calq), force=True)
    return upset_campaign(out, lambda folder, tmr: write_encoder_block(replace(spec, tmr=tmr), folder, force=True),
                           n_faults=n_faults, seed=seed)


@dataclass(frozen=True)
class BlockCheck:
    """A passed check of the universal encoder block: per encoder image, the wafers whose frames were equal."""

    models: tuple[str, ...]
    wafers: tuple[int, ...]
    config_bits: int
    build_seconds: float
    test_seconds: float
    rtl_dir: str


def verify_encoder_block(model_dirs: Sequence[str | Path], calq: np.ndarray, out_dir: str | Path, *,
                         tmr: bool = False, reuse: int = 1, simulator: str = "verilator") -> BlockCheck:
    """Build the universal encoder block that serves every model of ``model_dirs`` once; load each model's
    image in turn through the serial port (idle clocks between bits, no reset between images), stream
    ``calq`` and the corner cases (every other image with idle cycles between wafers), and require every frame
    equal to that model's golden frame; ``VerificationError`` names the first wrong one."""
    out = Path(out_dir)
    encoders = [load_encoder(d) for d in model_dirs]
    spec = EncoderBlockSpec.for_encoders([cfg for _, cfg in encoders], tmr=tmr, reuse=reuse)
    info = write_encoder_block(spec, out / "rtl", force=True)
    phases = []
    for i, (model, cfg) in enumerate(encoders):
        image = out / f"image_{i}.hex"
        write_block_image(model, cfg, spec, image)
        write_vectors(out / f"vectors_{i}", make_vectors(model, cfg, calq), force=True)
        phases.append(Phase(image, out / f"vectors_{i}", idle_seed=i if i % 2 else None))
    wafers, result = run_phases(out / "rtl", phases, out, design=f"econt_block ({len(encoders)} encoders)",
                                golden="the encoder's golden frames (codesign.hardware.vectors)", simulator=simulator)
    return BlockCheck(tuple(str(d) for d in model_dirs), tuple(wafers), info.config_bits, result.build_seconds,
                      result.test_seconds, str(out / "rtl"))
