"""What radiation hardening protects: compression quality of a trained encoder when random bits of its
configuration register (the reconfigurable chip's weights) are flipped and not corrected (no TMR).

For 1, 2, 4, ... flips, ``draws`` random sets of register bits are flipped in the image the chip would hold
(``codesign.hardware.reconfig`` map: two's-complement words, Keras order), the words are written back into the
autoencoder's encoder, and the exact EMD between input and reconstruction is measured on held-out wafers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import provenance, write_json
from codesign.document import Document
from codesign.emd.exact import exact_emd
from codesign.evaluation import autoencoder_reconstruction
from codesign.hardware.reconfig import register_map, register_words
from codesign.plots import EMD_AXIS, figure


def flip_bits(words: np.ndarray, weight_bits: int, positions: np.ndarray) -> np.ndarray:
    """Signed words with the register bits at ``positions`` (bit weight_bits*w + b of word w) inverted."""
    mask = (1 << weight_bits) - 1
    raw = np.asarray(words, dtype=np.int64) & mask
    np.bitwise_xor.at(raw, positions // weight_bits, np.left_shift(1, positions % weight_bits))
    return np.where(raw >= 1 << (weight_bits - 1), raw - (1 << weight_bits), raw)


def set_register_words(model: Any, cfg: Any, words: np.ndarray) -> None:
    """Load register-map words into the model's ``conv`` and ``latent`` layers (inverse of register_words)."""
    rmap = register_map(cfg)
    scale = 2.0**cfg.weight_frac_bits
    conv, dense = model.get_layer("conv"), model.get_layer("latent")
    targets = {"conv_kernel": conv.kernel, "conv_bias": conv.bias, "dense_kernel": dense.kernel,
               "dense_bias": dense.bias}
    for name, first in rmap.first_words().items():
        shape = getattr(rmap, name)
        values = words[first:first + int(np.prod(shape))].reshape(shape) / scale
        targets[name].assign(values.astype(np.float32))


def upset_scan(ae: Any, spec: Any, calq: np.ndarray, *, flips: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64),
               draws: int = 10, seed: int = 0) -> dict[str, Any]:
    """Mean exact EMD (input vs reconstruction) without upsets and for each number of flips."""
    cfg = spec.encoder
    words = register_words(ae, cfg)
    n_bits = register_map(cfg).n_bits
    rng = np.random.default_rng(seed)
    clean = float(exact_emd(calq, autoencoder_reconstruction(ae, spec, calq).wafers).mean())
    rows = []
    try:
        for n in flips:
            means = []
            for _ in range(draws):
                set_register_words(ae, cfg, flip_bits(words, cfg.weight_bits, rng.choice(n_bits, n, replace=False)))
                means.append(float(exact_emd(calq, autoencoder_reconstruction(ae, spec, calq).wafers).mean()))
            rows.append({"flips": n, "mean_emd": float(np.mean(means)), "std_over_draws": float(np.std(means)),
                         "worst_draw": float(np.max(means))})
    finally:
        set_register_words(ae, cfg, words)
    return {"n_wafers": len(calq), "register_bits": n_bits, "draws": draws, "seed": seed, "no_upset": clean,
            "scan": rows}


def write_upset_report(result: dict[str, Any], out_dir: str | Path, **meta: Any) -> None:
    out = Path(out_dir)
    write_json(out / "upsets.json", {**result, "meta": provenance(**meta)})
    with figure(out / "upsets.png", figsize=(6, 4)) as (_, ax):
        scan = result["scan"]
        ax.errorbar([r["flips"] for r in scan], [r["mean_emd"] for r in scan],
                    yerr=[r["std_over_draws"] for r in scan], fmt="o-", label="no TMR")
        ax.axhline(result["no_upset"], ls="--", c="k", label="no upsets / TMR")
        ax.set(xscale="log", xlabel=f"flipped configuration bits (of {result['register_bits']:,})",
               ylabel=f"mean {EMD_AXIS}", title=f"Weight upsets, {result['n_wafers']} held-out wafers")
        ax.legend()
    doc = Document("Weight upsets without TMR")
    doc.paragraph(f"{result['n_wafers']} held-out wafers, {result['draws']} random draws per point, "
                  f"{result['register_bits']} configuration bits; no upsets: mean EMD {result['no_upset']:.3f}.")
    doc.table(["flipped bits", "mean EMD", "std over draws", "worst draw", "vs no upsets"],
              [[str(r["flips"]), f"{r['mean_emd']:.3f}", f"{r['std_over_draws']:.3f}", f"{r['worst_draw']:.3f}",
                f"{r['mean_emd'] / result['no_upset']:.2f}x"] for r in result["scan"]])
    doc.paragraph("With TMR every single upset is outvoted and rewritten on the next clock edge "
                  "(`codesign asic faults`): these degradations are what it removes.")
    doc.image(out / "upsets.png", "mean EMD against the number of flipped configuration bits")
    doc.write(out / "upsets.md")
