"""Exact-EMD throughput (POT) on real high-pileup wafer pairs, one core vs all cores.

Prints pairs/s and the EMD scales (random pairs, wafer vs uniform). Falls back to synthetic high-pileup
wafers when the real data folder is absent, and says so.

    python benchmarks/emd_exact.py [--pairs 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from codesign.data.io import read_calq, real_data_dir
from codesign.data.synth import generate_wafers, load_synth_config
from codesign.emd.exact import distinct_pairs, exact_emd


def _wafers() -> tuple[np.ndarray, str]:
    path = real_data_dir() / "highpu_dev.csv"
    if path.is_file():
        return read_calq(path), str(path)
    return generate_wafers(load_synth_config("highpu"), 3000, seed=0), "synthetic highpu preset (no real data)"


def _timed(fn, *args, **kwargs) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    calq, source = _wafers()
    ia, ib = distinct_pairs(np.random.default_rng(args.seed), len(calq), args.pairs)
    cores = os.cpu_count() or 1
    one, t_one = _timed(exact_emd, calq[ia], calq[ib], n_jobs=1)
    many, t_many = _timed(exact_emd, calq[ia], calq[ib], n_jobs=cores)
    uniform = exact_emd(calq[ia], np.ones((args.pairs, 48)), n_jobs=cores)
    assert np.array_equal(one, many), "parallel and serial EMDs differ"
    print(f"data: {source}; {args.pairs} random pairs")
    print(f"exact EMD, 1 core      : {args.pairs / t_one:9.0f} pairs/s")
    print(f"exact EMD, {cores} cores     : {args.pairs / t_many:9.0f} pairs/s  ({t_one / t_many:.2f}x the 1-core rate)")
    print(f"mean EMD random pairs  : {one.mean():.3f}")
    print(f"mean EMD vs uniform    : {uniform.mean():.3f}")


if __name__ == "__main__":
    main()
