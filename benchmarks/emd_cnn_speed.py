"""Learned-EMD throughput against the exact EMD, both on one CPU core, measured in the same run.

    python benchmarks/emd_cnn_speed.py [--model models/emd_cnn] [--pairs 20480]

TensorFlow is pinned to one thread (intra- and inter-op) and POT runs in this process only, so the ratio
is per core. Batch size 1024.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/emd_cnn")
    parser.add_argument("--pairs", type=int, default=20480)
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from codesign.emd.exact import distinct_pairs, exact_emd
    from codesign.emd.learned import predict_emd
    from codesign.emd.training import load_learned_emd
    from codesign.hardware.vectors import check_wafers

    calq, source = check_wafers(None)
    ia, ib = distinct_pairs(np.random.default_rng(0), len(calq), args.pairs)
    a, b = calq[ia], calq[ib]
    model, spec = load_learned_emd(args.model)
    predict_emd(model, a[:1024], b[:1024], batch_size=1024)  # warm-up
    start = time.perf_counter()
    learned = predict_emd(model, a, b, batch_size=1024)
    t_learned = time.perf_counter() - start
    n_exact = min(args.pairs, 4000)
    start = time.perf_counter()
    exact = exact_emd(a[:n_exact], b[:n_exact], n_jobs=1)
    t_exact = time.perf_counter() - start
    rate_learned, rate_exact = args.pairs / t_learned, n_exact / t_exact
    rel = (learned[:n_exact] - exact) / exact
    print(f"data: {source}; model {args.model} ({spec.model.architecture})")
    print(f"learned EMD, 1 core, batch 1024 : {rate_learned:10.0f} pairs/s")
    print(f"exact EMD (POT), 1 core         : {rate_exact:10.0f} pairs/s")
    print(f"ratio                           : {rate_learned / rate_exact:10.1f}x")
    print(f"on these pairs: bias {100 * rel.mean():+.2f} %, std {100 * rel.std():.2f} %")


if __name__ == "__main__":
    main()
