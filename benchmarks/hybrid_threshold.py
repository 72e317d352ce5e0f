"""Mean exact EMD of a hybrid encoder against its sparse-mode threshold and cell value width, with the chip's
algorithms in the same run.

    python benchmarks/hybrid_threshold.py --model out/models/econt_5elink_hybrid [--data FILE.csv] [--split val]
        [--value-bits 6 7 8]

On the model's held-out test wafers (as `codesign evaluate`), or its validation wafers to choose T without
looking at the test split: the exact EMD of the autoencoder alone and of the
sparse-mode cells alone, per wafer, then for every threshold T the hybrid (cells for wafers with at most T
non-zero on-chip inputs, latents otherwise), its ratio to the chip's best algorithm at the encoder's eLink
count (the lower of the two module types' best), and the fraction of wafers in sparse mode, for each cell
value width (fewer bits: more cells per frame, see ``codesign.models.sparse.CellCoding``). The threshold
the model's config uses is marked, and the best (cells, T) printed last. ``--charge`` adds the charge cells
(``sparse_values: charge``: the chip's 4E3M words of the CALQ, chosen and counted on those words).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="folder written by `codesign train`")
    parser.add_argument("--data", help="wafer file (default: real highpu_dev.csv)")
    parser.add_argument("--split", choices=("test", "val"), default="test", help="which split of the file")
    parser.add_argument("--value-bits", type=int, nargs="+", help="cell value widths (default: the config's)")
    parser.add_argument("--charge", action="store_true",
                        help="also the charge cells (sparse_values: charge, the chip's 4E3M words)")
    args = parser.parse_args()

    from codesign.baselines import chip_reconstructions
    from codesign.data.geometry import N_TC
    from codesign.data.io import REFERENCE_FILE
    from codesign.data.onchip import onchip_convert
    from codesign.data.sources import source_wafers
    from codesign.data.splits import split_indices
    from codesign.emd.exact import exact_emd
    from codesign.evaluation import autoencoder_reconstruction
    from codesign.models.frame import FrameFormat
    from codesign.models.sparse import cell_values, occupancy
    from codesign.training import held_out_wafers, load_autoencoder

    ae, spec = load_autoencoder(args.model)
    if args.split == "test":
        calq = held_out_wafers(spec, args.data)
    else:
        wafers = source_wafers(args.data or REFERENCE_FILE, spec.training.seed, spec.training.n_synth_wafers)
        calq = wafers[split_indices(len(wafers), spec.training.split, seed=spec.training.seed).val]

    def encoder(threshold: int | None, coding: tuple[str, int]) -> Any:  # the model with other sparse settings
        return dataclasses.replace(spec.encoder, sparse_max_occupancy=threshold, sparse_values=coding[0],
                                   sparse_value_bits=coding[1])

    def emd_at(threshold: int | None, coding: tuple[str, int]) -> np.ndarray:
        model = dataclasses.replace(spec, encoder=encoder(threshold, coding))
        return exact_emd(calq, autoencoder_reconstruction(ae, model, calq).wafers)

    codings = [("input", v) for v in args.value_bits or [spec.encoder.sparse_value_bits]]
    codings += [("charge", 8)] if args.charge else []
    emd_ae = emd_at(None, codings[0])  # latents only
    emd_cells = {c: emd_at(N_TC, c) for c in codings}  # cells only
    inputs = onchip_convert(calq).inputs
    occ = {c: occupancy(cell_values(calq, inputs, FrameFormat.of(encoder(N_TC, c)).cell_coding)) for c in codings}
    chip = {r.name: exact_emd(calq, r.wafers).mean() for r in chip_reconstructions(calq, elinks=spec.encoder.elinks)}
    best_chip = min(chip, key=chip.__getitem__)
    emd_bc = chip[best_chip]
    print(f"{len(calq)} {args.split} wafers; autoencoder alone {emd_ae.mean():.4f}, best chip algorithm {best_chip} "
          f"{emd_bc:.4f}")
    names = {c: "charge" if c[0] == "charge" else f"{c[1]}b" for c in codings}
    for c in codings:
        coding = FrameFormat.of(encoder(N_TC, c)).cell_coding
        print(f"  {names[c]}: {coding.describe()}, cells alone {emd_cells[c].mean():.4f}")
    print("  T  " + "  ".join(f"sparse hybrid {names[c]:>6s} vs chip" for c in codings))
    best: tuple[float, str, int] = (np.inf, "", 0)
    for t in range(0, N_TC + 1):
        hybrid = {c: np.where(occ[c] <= t, emd_cells[c], emd_ae) for c in codings}
        best = min(best, *((h.mean(), names[c], t) for c, h in hybrid.items()))
        mark = "  <- config" if t == spec.encoder.sparse_max_occupancy else ""
        if t % 2 == 0 or mark:
            cells = "  ".join(f"{(occ[c] <= t).mean():6.1%} {h.mean():.4f} {h.mean() / emd_bc:.3f}"
                              for c, h in hybrid.items())
            print(f"{t:3d}  {cells}{mark}")
    print(f"best: {best[1]} cells, T = {best[2]}: {best[0]:.4f} ({best[0] / emd_bc:.3f} of {best_chip})")


if __name__ == "__main__":
    main()
