"""The nearest-sent-cell lever of the codec's table placement, on its own: the distance bin of each unsent
cell to the *nearest* sent cell instead of to the strongest one, and levels far below the top weighing 0.

The table placement (`codesign/econt/learned_backend.py`) weighed an unsent cell by its bin of distance to
the frame's strongest sent cell. With many sent cells (4-5 eLinks) that says little about where the unsent
energy lies; the nearest sent cell says more. Those tables span 40 or more half octaves, more than a
decoder's weights carry, so ``TablePlacement(distance_to="nearest", span=S)`` keeps S half octaves below
each unsent bin's top and weighs lower levels 0 (session 27 measured it here; `codesign econt arena-fit`
now chooses among both kinds).

For each module type and eLink count (the arena's codec): fit the variant on the training split of
highpu_dev.csv (the arena's 70/10/20 split, seed 0), with bin middles as charges and with a fitted charge per
symbol, choose that and the span on the validation split by mean exact EMD, decode in integers as a back end
would, and print mean and median exact EMD on the validation split and on the test split (what a report
quotes), beside the codec's own rule and the table the arena keeps (either kind).

    python benchmarks/table_nearest_sent.py [--counts hd:5 ld:4 ...] [--spans 6 8 10 12]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from codesign.arena import ARENA_SPLIT, load_arena, table_placed
from codesign.data.io import read_calq, real_data_dir
from codesign.data.normalise import unit_or_uniform
from codesign.data.splits import split_indices
from codesign.econt.backend import spread
from codesign.econt.learned_backend import TablePlacement, fit_symbol_charges, fit_table_placement
from codesign.emd.exact import exact_emd


def scores(calq: np.ndarray, cells: np.ndarray) -> tuple[float, float]:
    """Mean and median exact EMD of ``cells`` against the truth ``calq``."""
    emd = exact_emd(calq, unit_or_uniform(cells))
    return float(emd.mean()), float(np.median(emd))


def _pair(score: tuple[float, float]) -> str:
    return f"{score[0]:.4f} / {score[1]:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", nargs="+", default=[f"{m}:{n}" for m in ("hd", "ld") for n in (2, 3, 4, 5)],
                        help="module:eLinks pairs (default: both types at 2-5 eLinks)")
    parser.add_argument("--spans", type=int, nargs="+", default=[6, 8, 10, 12],
                        help="half octaves kept below the top level: the candidates, chosen on validation")
    args = parser.parse_args()
    calq = read_calq(real_data_dir() / "highpu_dev.csv")
    split = split_indices(len(calq), ARENA_SPLIT, seed=0)
    train, parts = calq[split.train], {"validation": calq[split.val], "test": calq[split.test]}
    arena = load_arena()
    print("| module | eLinks | split | codec's rule | the arena's table | nearest sent cell | change against "
          "the rule | chosen on validation |")
    print("|---|---|---|---|---|---|---|---|")
    for count in args.counts:
        module, elinks = count.split(":")
        codec, key = arena.codec(module, int(elinks)), f"entropy:{module}:{elinks}elink"
        fit_on = codec.encode(train)
        candidates: list[TablePlacement] = []
        for charges in ((), fit_symbol_charges(train, codec, fit_on, n_jobs=2)):
            reco, leftover = codec.reconstruction(fit_on, charges)
            table = fit_table_placement(train, reco, leftover.amount[:, 0], arena.back_ends.prior,
                                        distance_to="nearest", n_jobs=2)
            candidates += [replace(table, charges=charges, span=span) for span in args.spans]
        chosen = candidates[0]
        for name, wafers in parts.items():  # validation first: it makes the choice
            frames, out = codec.encode(wafers), codec.run(wafers)
            rule = scores(wafers, spread(out.reconstruction, out.leftover, arena.codec_rule(module, int(elinks)),
                                         arena.back_ends.prior))
            kept = arena.tables.get(key)
            today = _pair(scores(wafers, table_placed(kept, codec, frames))) if kept else "-"
            if name == "validation":
                chosen = min(candidates, key=lambda t: scores(wafers, table_placed(t, codec, frames))[0])
            near = scores(wafers, table_placed(chosen, codec, frames))
            print(f"| {module} | {elinks} | {name} | {_pair(rule)} | {today} | {_pair(near)} "
                  f"| {near[0] / rule[0] - 1:+.1%} / {near[1] / rule[1] - 1:+.1%} "
                  f"| {'fitted charges' if chosen.charges else 'bin middles'}, span {chosen.span} |", flush=True)


if __name__ == "__main__":
    main()
