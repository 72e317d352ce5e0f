"""How the dense layer's weight coding moves its switching: the shared core's sign-apart sums against
sign-magnitude products, on the reference encoders and their held-out wafers.

The reconfigurable core at reuse factor R computes latent sR + p of slot s in phase p from activations held
for the wafer (`codesign/hardware/reconfig.py`). Two codings of a product a x w (a unsigned, w signed):

- ``sign apart`` (the core since session 25): a x (w mod 2^(wb-1)) into one sum, a into a second sum where
  w < 0 (subtracted x 2^(wb-1)); a weight of -1 multiplies as 31.
- ``sign-magnitude`` (issue 31's untried lever): a x |w| into a positive or a negative sum by w's sign.

For each, the cycle-by-cycle values of the products and of every node of a balanced adder tree over the
slot's terms, wafer after wafer; the bit changes between consecutive cycles are counted. This is a proxy of
the gate-level toggles (no carries inside an adder, no multiplier internals), good for comparing the two
codings, not for nJ. Prints one markdown table with the ratio sign-magnitude / sign apart.

    python benchmarks/dense_sign_coding.py [--models econt_2elink_hybrid ...] [--wafers 300] [--reuse 4]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import codesign
from codesign.data.onchip import onchip_convert
from codesign.hardware.reconfig import _phase_slots, register_map, register_words
from codesign.models.encoder import encoder_inputs
from codesign.models.store import load_encoder

REFERENCE = Path(__file__).parents[1] / "models" / "reference"
WEIGHT_BITS = 6
CODINGS = ("sign apart", "sign-magnitude")


def bit_changes(values: np.ndarray) -> int:
    """Bit changes of (cycles, n) non-negative integers between consecutive cycles."""
    changed = np.ascontiguousarray(values[1:] ^ values[:-1], dtype=np.int64)
    return int(np.unpackbits(changed.view(np.uint8)).sum())


def tree_changes(terms: np.ndarray) -> int:
    """Bit changes of the leaves and every node of a balanced adder tree over (cycles, n) terms."""
    total, level = 0, terms
    while True:
        total += bit_changes(level)
        if level.shape[1] == 1:
            return total
        if level.shape[1] % 2:
            level = np.concatenate([level, np.zeros((len(level), 1), np.int64)], axis=1)
        level = level[:, 0::2] + level[:, 1::2]


def dense_changes(activations: np.ndarray, kernel: np.ndarray, reuse: int, coding: str) -> tuple[float, float]:
    """(product, adder-tree) bit changes per wafer of the dense layer under ``coding``."""
    n_latents = kernel.shape[1]
    products = trees = 0
    for phases in _phase_slots(n_latents, reuse):  # the core's own slot -> latent per phase
        latents = [j for j in phases if j is not None]
        a = np.repeat(activations, len(latents), axis=0)  # one row per cycle: wafer-major, phase-minor
        w = np.tile(kernel[:, latents].T, (len(activations), 1))
        if coding == "sign apart":
            low, sign_sum = a * (w & (2 ** (WEIGHT_BITS - 1) - 1)), a * (w < 0)
            products += bit_changes(low)
            trees += tree_changes(low) + tree_changes(sign_sum)
        else:
            magnitude = a * np.abs(w)
            products += bit_changes(magnitude)
            trees += tree_changes(np.where(w >= 0, magnitude, 0)) + tree_changes(np.where(w < 0, magnitude, 0))
    return products / len(activations), trees / len(activations)


def main() -> None:
    import keras

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=[f"econt_{n}elink_hybrid" for n in (2, 3, 4, 5)],
                        help="reference encoders (folders of models/reference)")
    parser.add_argument("--wafers", type=int, default=300, help="held-out wafers, in their order")
    parser.add_argument("--reuse", type=int, default=4, help="the core's reuse factor R")
    args = parser.parse_args()
    print("| encoder | zero activations | mean abs weight | coding | product changes / wafer | tree changes / wafer "
          "| products + trees, ratio |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        model, cfg = load_encoder(REFERENCE / name)
        if cfg.weight_bits != WEIGHT_BITS:
            raise SystemExit(f"{name}: {cfg.weight_bits}-bit weights; this study assumes {WEIGHT_BITS}")
        calq = codesign.load_model(REFERENCE / name).held_out(n_wafers=args.wafers)
        conv = keras.Model(model.input, model.get_layer("conv_relu").output)
        x = encoder_inputs(onchip_convert(calq).inputs_float(), cfg)
        scale = 2 ** (cfg.conv_act_bits - cfg.conv_act_int_bits)
        act = np.rint(np.asarray(conv.predict(x, verbose=0)).reshape(len(x), -1) * scale).astype(np.int64)
        rmap, words = register_map(cfg), register_words(model, cfg)
        first = rmap.first_words()["dense_kernel"]
        kernel = words[first : first + int(np.prod(rmap.dense_kernel))].reshape(rmap.dense_kernel)
        base = None
        for coding in CODINGS:
            products, trees = dense_changes(act, kernel, args.reuse, coding)
            base = base or products + trees
            print(f"| {name} | {np.mean(act == 0):.0%} | {np.abs(kernel).mean():.2f} | {coding} | {products:,.0f} "
                  f"| {trees:,.0f} | {(products + trees) / base:.3f} |", flush=True)


if __name__ == "__main__":
    main()
