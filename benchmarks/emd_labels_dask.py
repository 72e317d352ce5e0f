"""Exact-EMD pair labels on Dask: throughput with 1 and 2 local worker processes, measured in one run, and
the check that both give the same labels bit for bit.

    python benchmarks/emd_labels_dask.py [--pairs 60000] [--shard-size 5000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from codesign.data.io import REFERENCE_FILE, read_calq, real_data_dir
from codesign.data.synth import generate_wafers, load_synth_config
from codesign.emd.labels import read_pair_labels
from codesign.emd.sharded import sharded_pair_labels
from codesign.sweep.engine import open_client
from codesign.sweep.spec import ClusterSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=60_000, help="pairs in all (half random, half perturbed)")
    parser.add_argument("--shard-size", type=int, default=5000)
    args = parser.parse_args()
    path = real_data_dir() / REFERENCE_FILE
    calq = read_calq(path) if path.is_file() else generate_wafers(load_synth_config("highpu"), 3000, seed=0)
    half = args.pairs // 2
    results, labels = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            out = Path(tmp) / f"w{workers}"
            with open_client(ClusterSpec(n_workers=workers)) as client:
                results[workers] = sharded_pair_labels(client, calq, half, n_perturbed=half, seed=0, out_dir=out,
                                                       shard_size=args.shard_size, progress=False)
            labels[workers] = read_pair_labels(out / "labels.h5")
    same = np.array_equal(labels[1].emd, labels[2].emd) and np.array_equal(labels[1].a, labels[2].a)
    for workers, r in results.items():
        print(f"{workers} worker(s): {r['pairs']} pairs in {r['shards']} shards, {r['wall_s']:.1f} s, "
              f"{r['pairs_per_s']:,.0f} pairs/s")
    print(f"2 vs 1 worker: {results[2]['pairs_per_s'] / results[1]['pairs_per_s']:.2f}x; "
          f"labels identical: {same}")


if __name__ == "__main__":
    main()
