"""Mean exact EMD of a hybrid encoder against its sparse-mode threshold, with the chip's algorithms in the same run.

    python benchmarks/hybrid_threshold.py --model out/models/econt_5elink_hybrid [--data FILE.csv] [--split val]

On the model's held-out test wafers (as `codesign evaluate`), or its validation wafers to choose T without
looking at the test split: the exact EMD of the autoencoder alone and of the
sparse-mode cells alone, per wafer, then for every threshold T the hybrid (cells for wafers with at most T
non-zero on-chip inputs, latents otherwise), its ratio to the chip's best algorithm at the encoder's eLink
count (the lower of the two module types' best), and the fraction of wafers in sparse mode. The threshold
the model's config uses is marked.
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
    args = parser.parse_args()

    from codesign.baselines import chip_reconstructions
    from codesign.data.geometry import N_TC
    from codesign.data.io import REFERENCE_FILE
    from codesign.data.onchip import onchip_convert
    from codesign.data.sources import source_wafers
    from codesign.data.splits import split_indices
    from codesign.emd.exact import exact_emd
    from codesign.evaluation import autoencoder_reconstruction
    from codesign.hardware.frame import FrameFormat
    from codesign.models.sparse import occupancy
    from codesign.training import held_out_wafers, load_autoencoder

    ae, spec = load_autoencoder(args.model)
    if args.split == "test":
        calq = held_out_wafers(spec, args.data)
    else:
        wafers = source_wafers(args.data or REFERENCE_FILE, spec.training.seed, spec.training.n_synth_wafers)
        calq = wafers[split_indices(len(wafers), spec.training.split, seed=spec.training.seed).val]

    def emd_at(threshold: int | None) -> np.ndarray:  # the model's reconstruction with another threshold
        encoder = dataclasses.replace(spec.encoder, sparse_max_occupancy=threshold)
        return exact_emd(calq, autoencoder_reconstruction(ae, dataclasses.replace(spec, encoder=encoder), calq).wafers)

    emd_ae, emd_cells = emd_at(None), emd_at(N_TC)  # latents only, cells only
    fmt = FrameFormat.of(dataclasses.replace(spec.encoder, sparse_max_occupancy=N_TC))
    chip = {r.name: exact_emd(calq, r.wafers).mean() for r in chip_reconstructions(calq, elinks=fmt.elinks)}
    best_chip = min(chip, key=chip.__getitem__)
    emd_bc = chip[best_chip]
    occ = occupancy(onchip_convert(calq).inputs)
    print(f"{len(calq)} {args.split} wafers; autoencoder alone {emd_ae.mean():.4f}, {fmt.sparse_cells} cells alone "
          f"{emd_cells.mean():.4f}, best chip algorithm {best_chip} {emd_bc:.4f}")
    print("  T  sparse  hybrid  vs best chip")
    for t in range(0, 49, 2):
        sparse = occ <= t
        hybrid = np.where(sparse, emd_cells, emd_ae).mean()
        mark = "  <- config" if t == spec.encoder.sparse_max_occupancy else ""
        print(f"{t:3d}  {sparse.mean():6.1%}  {hybrid:.4f}  {hybrid / emd_bc:.3f}{mark}")


if __name__ == "__main__":
    main()
