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
the model's config uses is marked, and the best (value bits, T) printed last.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="folder written by `codesign train`")
    parser.add_argument("--data", help="wafer file (default: real highpu_dev.csv)")
    parser.add_argument("--split", choices=("test", "val"), default="test", help="which split of the file")
    parser.add_argument("--value-bits", type=int, nargs="+", help="cell value widths (default: the config's)")
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
    from codesign.models.sparse import occupancy
    from codesign.training import held_out_wafers, load_autoencoder

    ae, spec = load_autoencoder(args.model)
    if args.split == "test":
        calq = held_out_wafers(spec, args.data)
    else:
        wafers = source_wafers(args.data or REFERENCE_FILE, spec.training.seed, spec.training.n_synth_wafers)
        calq = wafers[split_indices(len(wafers), spec.training.split, seed=spec.training.seed).val]

    def emd_at(threshold: int | None, value_bits: int) -> np.ndarray:  # the model with other sparse settings
        encoder = dataclasses.replace(spec.encoder, sparse_max_occupancy=threshold, sparse_value_bits=value_bits)
        return exact_emd(calq, autoencoder_reconstruction(ae, dataclasses.replace(spec, encoder=encoder), calq).wafers)

    widths = args.value_bits or [spec.encoder.sparse_value_bits]
    emd_ae = emd_at(None, widths[0])  # latents only
    emd_cells = {v: emd_at(N_TC, v) for v in widths}  # cells only
    chip = {r.name: exact_emd(calq, r.wafers).mean() for r in chip_reconstructions(calq, elinks=spec.encoder.elinks)}
    best_chip = min(chip, key=chip.__getitem__)
    emd_bc = chip[best_chip]
    occ = occupancy(onchip_convert(calq).inputs)
    print(f"{len(calq)} {args.split} wafers; autoencoder alone {emd_ae.mean():.4f}, best chip algorithm {best_chip} "
          f"{emd_bc:.4f}")
    for v in widths:
        coding = FrameFormat.of(dataclasses.replace(spec.encoder, sparse_max_occupancy=N_TC, sparse_value_bits=v))
        print(f"  {v}-bit values: {coding.cell_coding.describe()}, cells alone {emd_cells[v].mean():.4f}")
    print("  T  sparse  " + "  ".join(f"hybrid {v}b  vs chip" for v in widths))
    best = (np.inf, 0, 0)
    for t in range(0, N_TC + 1):
        sparse = occ <= t
        hybrid = {v: np.where(sparse, emd_cells[v], emd_ae).mean() for v in widths}
        best = min(best, *((h, v, t) for v, h in hybrid.items()))
        mark = "  <- config" if t == spec.encoder.sparse_max_occupancy else ""
        if t % 2 == 0 or mark:
            cells = "  ".join(f"   {h:.4f}    {h / emd_bc:.3f}" for h in hybrid.values())
            print(f"{t:3d}  {sparse.mean():6.1%}  {cells}{mark}")
    print(f"best: {best[1]}-bit values, T = {best[2]}: {best[0]:.4f} ({best[0] / emd_bc:.3f} of {best_chip})")


if __name__ == "__main__":
    main()
