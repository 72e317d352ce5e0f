"""Design-space speed: the same sweep with every point synthesised and with only the points near the front of
mean EMD vs da4ml's LUT estimate synthesised (``synthesis: front``), both measured in this run.

Prints wall time, points per hour and the number of Yosys runs of each, their ratio, and whether the true
front (mean EMD vs ASIC area of the synthesised points) of the full sweep is kept by the front-only one.

    python benchmarks/sweep_front.py [--elinks 3 4 5] [--filters 1 2 4] [--epochs 1] [--margin 0.05]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from codesign.sweep.engine import run_sweep
from codesign.sweep.pareto import pareto_front
from codesign.sweep.spec import load_sweep

ROOT = Path(__file__).resolve().parents[1]


def _sweep_file(folder: Path, args: argparse.Namespace, synthesis: str) -> Path:
    path = folder / f"{synthesis}.yaml"
    path.write_text(yaml.safe_dump({
        "name": f"bench_{synthesis}", "base": str(ROOT / "models" / "econt_sweep_base.yaml"),
        "grid": {"encoder.elinks": args.elinks, "encoder.conv_filters": args.filters,
                 "training": [{"sources": ["highpu_dev.csv"], "epochs": args.epochs}]},
        "stages": ["train", "evaluate", "rtl", "asic"], "synthesis": synthesis, "front_margin": args.margin,
        "evaluation": {"n_wafers": 200}, "cluster": {"kind": "local", "n_workers": 2}}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--elinks", type=int, nargs="+", default=[3, 4, 5])
    parser.add_argument("--filters", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--margin", type=float, default=0.05)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for synthesis in ("all", "front"):
            sweep = load_sweep(_sweep_file(Path(tmp), args, synthesis))
            start = time.perf_counter()
            rows = run_sweep(sweep, Path(tmp) / synthesis, progress=False)
            results[synthesis] = (time.perf_counter() - start, rows)
    full_wall, full_rows = results["all"]
    true_front = {r["id"] for r in pareto_front(full_rows, "area_mm2")}
    for synthesis, (wall, rows) in results.items():
        synthesised = sum(1 for r in rows if r.get("synthesized"))
        print(f"{synthesis:>5}: {len(rows)} points in {wall:7.1f} s = {3600 * len(rows) / wall:6.1f} points/hour, "
              f"{synthesised} synthesised ({wall / full_wall:.2f}x the full sweep's time)")
    front_rows = results["front"][1]
    kept = {r["id"] for r in front_rows if r.get("synthesized")}
    # same specs and stages give the same point ids in both sweeps
    print(f"true front (mean EMD vs area, full sweep): {len(true_front)} points, "
          f"{len(true_front & kept)} of them synthesised by the front-only sweep")


if __name__ == "__main__":
    main()
