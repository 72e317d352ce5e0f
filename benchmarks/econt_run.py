"""Throughput of the ECON-T golden models: `codesign econt run` on 100,000 wafers, one core, per algorithm.

For each algorithm: wafers/s of the model alone (frames + reconstruction) and of the whole command (read the
CSV, run, write frames.txt, reconstructed.csv, summary.json). The reference measured in the same run is
numpy's argsort of the same wafers (an idealised Best-Choice's sort), so the ratios travel across machines.

    python benchmarks/econt_run.py [--wafers 100000] [--elinks 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the target states

import numpy as np  # noqa: E402

from codesign.cli import main as cli  # noqa: E402
from codesign.data.io import read_calq, real_data_dir, write_wafers  # noqa: E402
from codesign.econt import load_tc_mux, run_algorithm, supported_algorithms  # noqa: E402
from codesign.econt.algorithms import EcontSettings  # noqa: E402


def _timed(fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wafers", type=int, default=100_000)
    parser.add_argument("--elinks", type=int, default=2, help="eLink count (2: every STC type but STC4_7 "
                                                               "sends data; default 2)")
    args = parser.parse_args()
    real = read_calq(real_data_dir() / "highpu_dev.csv")
    calq = np.resize(real, (args.wafers, real.shape[1]))  # the real wafers repeated
    mux = load_tc_mux()
    t_ref = _timed(lambda: np.argsort(-calq, axis=1, kind="stable"))
    print(f"{args.wafers} real high-pileup wafers (repeated), {args.elinks} eLinks, one core; reference "
          f"np.argsort of the same wafers: {args.wafers / t_ref:,.0f} wafers/s")
    print(f"{'algorithm':>14} {'model w/s':>12} {'x argsort':>10} {'command w/s':>12} {'command s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "wafers.csv"
        write_wafers(data, calq)
        settings = EcontSettings(elinks=args.elinks, drop_lsb=3, buffer=True)
        for algorithm in supported_algorithms(args.elinks):
            t_model = _timed(lambda a=algorithm: run_algorithm(a, calq, mux, settings=settings))
            command = ["econt", "run", "--algorithm", algorithm, "--elinks", str(args.elinks), "--buffer",
                       "--data", str(data), "--out", str(Path(tmp) / algorithm)]
            t_cmd = _timed(lambda c=command: cli(c))
            print(f"{algorithm:>14} {args.wafers / t_model:12,.0f} {t_ref / t_model:10.2f} "
                  f"{args.wafers / t_cmd:12,.0f} {t_cmd:10.2f}", flush=True)


if __name__ == "__main__":
    main()
