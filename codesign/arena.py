"""The fair arena: every system is an on-chip encoder, its frame and the back end that decodes it.

``fit_arena`` fits what the non-learned systems' back ends and the entropy codec may learn from training
wafers (a per-cell prior, the super trigger cells' share on their largest cell, Huffman tables) and
chooses, on the validation split, the spreading rule of every chip algorithm that sends a sum and the
entropy codec's mantissa bits, at each eLink count and module type. The result (``Arena``) is stored like a
model (``arena.json``: tables, choices, every candidate's validation score, provenance); the committed
reference is ``models/reference/arena`` (fitted on ``highpu_dev.csv`` with the training recipes' split).

``arena_reconstructions`` then gives, on any wafers, the chip algorithms with the best back end
(``chip:<algorithm>:<module>:<n>elink``), the same frames decoded naively (``naive:chip:...``, the public
emulator's reconstruction) and the entropy codec (``codec:entropy:<module>:<n>elink``); ``floor:<module>``
is every cell at the chip's 7-bit precision with no bit budget.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import provenance, write_json
from codesign.baselines import Reconstruction, chip_algorithm_name
from codesign.data.floats import E4M3
from codesign.data.io import WaferFileError, real_data_dir
from codesign.data.normalise import unit_or_uniform
from codesign.data.splits import split_indices
from codesign.econt.algorithms import (
    MODULE_PRESETS,
    STC_TYPES,
    ChipOutput,
    EcontSettings,
    run_algorithm,
    supported_algorithms,
)
from codesign.econt.backend import PRIOR_DECIMALS, WEIGHTINGS, BackEndTable, Spreading, fit_prior, spread
from codesign.econt.entropy import MANTISSA_CHOICES, SPARSE_MAX_CELLS, EntropyCodec, EntropyFrames, fit_code_lengths
from codesign.econt.learned_backend import (
    PLACE_FRAC_BITS,
    LearnedPlacement,
    TablePlacement,
    fit_placement,
    fit_symbol_charges,
    fit_table_placement,
    strongest_cell,
)
from codesign.econt.mux import TcMux, load_tc_mux
from codesign.emd.exact import exact_emd
from codesign.errors import InputError
from codesign.paths import MODELS_DIR

ARENA_DIR = MODELS_DIR / "reference" / "arena"
ARENA_FILE = "arena.json"
COSTS_FILE = "costs.json"
ARENA_SPLIT = (0.7, 0.1, 0.2)  # the training recipes' split: train / validation (choices) / test (reports)
NEAR_SIGMAS = (1.0, 2.0, 4.0)
DEFAULT_ELINKS = tuple(range(1, 8))
FLOOR_MANTISSA = 3  # the chip's 7-bit charges: 4E3M
LEARNED_BACK_ENDS = ("entropy", "best-choice")  # the frames that send one sum for every unsent cell
LEARNED_LABEL = "learned placement"
TABLE_LABEL = "table placement"  # the learned back end a decoder builds (``TablePlacement``), scored in integers
NEAREST_SPANS = (6, 8, 10, 12)  # half octaves a nearest-sent-cell table keeps: the candidates, chosen on validation
SIMPLER_WITHIN = 0.005  # a rule must beat a simpler one by 0.5 % on validation to be chosen over it


MODULE_LINKS_FILE = "module_links.csv"
# AMD DS890: a VU13P's LUTs, flip-flops, DSP48E2s and 36 Kb block RAMs
VU13P_LUTS, VU13P_FFS, VU13P_DSPS, VU13P_BRAM36 = 1_728_000, 3_456_000, 12_288, 2_688
MODULES_PER_STAGE1_FPGA = 300


@dataclass(frozen=True)
class BackEndBudget:
    """What one module's decoder may spend in a Stage-1 trigger FPGA at one wafer per 25 ns: by default
    1/300 of a VU13P-class device (Serenity boards decode about 300 ECON-Ts each; public talk on the ECON-T
    receiver firmware, indico event 1255624), and only if the FPGA did nothing else."""

    luts: float = VU13P_LUTS / MODULES_PER_STAGE1_FPGA
    dsps: float = VU13P_DSPS / MODULES_PER_STAGE1_FPGA
    brams: float = VU13P_BRAM36 / MODULES_PER_STAGE1_FPGA  # 36 Kb blocks
    # a decoder that keeps short delays in flip-flops rather than shift-register LUTs spends these instead
    ffs: float = VU13P_FFS / MODULES_PER_STAGE1_FPGA

    def fits(self, luts: float, dsps: float, brams: float = 0.0, ffs: float = 0.0) -> bool:
        return luts <= self.luts and dsps <= self.dsps and brams <= self.brams and ffs <= self.ffs


@dataclass(frozen=True)
class SystemCost:
    """What one system costs, as measured (``benchmarks/arena_costs.py`` writes them): the on-chip encoder's
    gate equivalents (Yosys, the project's 65 nm model) and the back-end decoder's UltraScale+ resources per
    module at one wafer per 25 ns (Yosys ``synth_xilinx``); None where not measured."""

    on_chip_ge: float | None = None
    luts: int | None = None
    ffs: int | None = None
    dsps: int | None = None
    brams: float | None = None
    note: str = ""

    def back_end(self, budget: BackEndBudget) -> str:
        """``LUT / DSP[ / BRAM36] (fits | over budget)``, or the note where the decoder was not measured."""
        if self.luts is None or self.dsps is None:
            return self.note or "-"
        verdict = "fits" if budget.fits(self.luts, self.dsps, self.brams or 0.0, self.ffs or 0.0) else "over budget"
        memory = f" / {self.brams:g} BRAM36" if self.brams else ""
        return f"{self.luts:,} LUT / {self.dsps} DSP{memory} ({verdict})"


def load_costs(folder: str | Path | None = None) -> dict[str, SystemCost]:
    """{``<algorithm>:<module>:<n>elink``: cost} from ``costs.json`` beside the arena table (empty when none
    was measured)."""
    path = Path(folder if folder is not None else ARENA_DIR) / COSTS_FILE
    if not path.is_file():
        return {}
    try:
        return {str(k): SystemCost(**v) for k, v in json.loads(path.read_text())["systems"].items()}
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise InputError(f"{path}: not a cost table ({err})") from None


def module_counts(path: str | Path | None = None) -> dict[tuple[str, int], int]:
    """{(hd|ld, ECON-T eLinks): modules} of the detector's module map (``module_links.csv``)."""
    path = Path(path) if path is not None else real_data_dir() / MODULE_LINKS_FILE
    if not path.is_file():
        raise WaferFileError(f"{path}: no such file (the detector's module map)")
    counts: dict[tuple[str, int], int] = {}
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                key = (row["HD_LD"].strip().lower(), int(row["ECONT_eTX"]))
            except (KeyError, ValueError, AttributeError):
                raise WaferFileError(f"{path}: line {line}: expected HD_LD and an integer ECONT_eTX") from None
            if key[0] not in MODULE_PRESETS:
                raise WaferFileError(f"{path}: line {line}: HD_LD must be HD or LD, got {row['HD_LD']!r}")
            counts[key] = counts.get(key, 0) + 1
    return counts


def detector_mean(emd: dict[tuple[str, int], float], counts: dict[tuple[str, int], int]) -> tuple[float, float]:
    """(module-weighted mean EMD over the (module type, eLinks) cells that ``emd`` covers, the fraction of
    the modules in ``counts`` those cells hold)."""
    covered = {k: counts.get(k, 0) for k in emd}
    total = sum(covered.values())
    if total == 0:
        return float("nan"), 0.0
    return sum(emd[k] * w for k, w in covered.items()) / total, total / sum(counts.values())


def _key(module: str, elinks: int) -> str:
    return f"{module}:{elinks}elink"


@dataclass(frozen=True)
class Arena:
    """Back-end rules for the chip's frames, entropy codecs per ``<module>:<n>elink``, and how they were
    chosen: ``scores[<system>:<module>:<n>elink][<candidate>]`` = validation mean EMD."""

    back_ends: BackEndTable
    codecs: dict[str, EntropyCodec] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    learned: dict[str, LearnedPlacement] = field(default_factory=dict)
    tables: dict[str, TablePlacement] = field(default_factory=dict)

    def codec(self, module: str, elinks: int) -> EntropyCodec | None:
        return self.codecs.get(_key(module, elinks))

    def codec_named(self, name: str) -> EntropyCodec | None:
        """The codec of ``MODULE:ELINKS`` (e.g. ``hd:2``); None when the name is malformed or the table has none."""
        module, _, elinks = name.partition(":")
        return self.codec(module, int(elinks)) if elinks.isdigit() else None

    def placement(self, algorithm: str, module: str, elinks: int) -> LearnedPlacement | None:
        """The learned back end of ``algorithm``'s frames, if one was fitted (``fit_learned_back_ends``)."""
        return self.learned.get(f"{algorithm}:{_key(module, elinks)}")

    def table(self, module: str, elinks: int) -> TablePlacement | None:
        """The table placement of the codec's frames, where it beat the codec's rule on validation."""
        return self.tables.get(f"entropy:{_key(module, elinks)}")

    def codec_rule(self, module: str, elinks: int) -> Spreading:
        return self.back_ends.rule("entropy", module, elinks) or self.back_ends.default

    def to_json(self) -> dict[str, Any]:
        return {"back_ends": self.back_ends.to_json(),
                "codecs": {k: asdict(c) for k, c in sorted(self.codecs.items())},
                "learned_back_ends": {k: p.to_json() for k, p in sorted(self.learned.items())},
                "table_back_ends": {k: t.to_json() for k, t in sorted(self.tables.items())},
                "scores": self.scores}

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str) -> Arena:
        try:
            codecs = {str(k): EntropyCodec(**{**v, "code_lengths": tuple(v["code_lengths"])})
                      for k, v in obj.get("codecs", {}).items()}
            learned = {str(k): LearnedPlacement.from_json(v, f"{where}: learned_back_ends: {k}")
                       for k, v in obj.get("learned_back_ends", {}).items()}
            tables = {str(k): TablePlacement.from_json(v, f"{where}: table_back_ends: {k}")
                      for k, v in obj.get("table_back_ends", {}).items()}
            return cls(BackEndTable.from_json(obj["back_ends"], where), codecs, dict(obj.get("scores", {})), learned,
                       tables)
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"{where}: not an arena table ({err})") from None


def write_arena(arena: Arena, folder: str | Path, **meta: Any) -> Path:
    path = Path(folder) / ARENA_FILE
    write_json(path, {**arena.to_json(), "meta": provenance(**meta)})
    return path


def load_arena(folder: str | Path | None = None) -> Arena:
    """The arena tables of ``folder`` (default: the committed reference, ``models/reference/arena``)."""
    path = Path(folder if folder is not None else ARENA_DIR) / ARENA_FILE
    if not path.is_file():
        raise InputError(f"{path}: no such file (an arena table: `codesign econt arena-fit --out DIR` writes one)")
    try:
        obj = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: line {err.lineno}: not JSON ({err.msg})") from None
    return Arena.from_json(obj, str(path))


def _candidates(algorithm: str, anchor_shares: tuple[float, ...]) -> dict[str, Spreading | None]:
    """The rules tried for one algorithm: the naive back end, then each weighting (and, for a super trigger
    cell, each with the fitted share on its largest cell)."""
    rules: list[Spreading] = [Spreading(w) for w in WEIGHTINGS if w != "near"]
    rules += [Spreading("near", sigma=s) for s in NEAR_SIGMAS]
    if algorithm in STC_TYPES:
        rules += [Spreading(r.weighting, r.sigma, anchor_shares) for r in rules]
    out: dict[str, Spreading | None] = {"naive": None} if algorithm != "entropy" else {}
    return out | {r.label(): r for r in rules}


def fitted_anchor_shares(calq: np.ndarray, mux: TcMux, group_size: int, *, min_groups: int = 20) -> tuple[float, ...]:
    """Mean share of a super trigger cell's sum on its largest cell over the (training) wafers' non-empty
    groups of ``group_size`` post-mux cells, by the bit length of the group sum (a bin with fewer than
    ``min_groups`` groups takes its neighbour's share below, or 1.0)."""
    groups = mux.to_chip(np.asarray(calq, dtype=np.int64)).reshape(-1, group_size)
    groups = groups[groups.sum(axis=1) > 0]
    sums = groups.sum(axis=1)
    length = np.frexp(sums.astype(np.float64))[1]
    share = groups.max(axis=1) / sums
    shares, last = [], 1.0
    for bits in range(int(length.max(initial=0)) + 1):
        in_bin = length == bits
        last = float(share[in_bin].mean()) if in_bin.sum() >= min_groups else last
        shares.append(round(last, 4))
    return tuple(shares)


def _best(calq: np.ndarray, naive: np.ndarray, leftover: Any, candidates: dict[str, Spreading | None],
          prior: np.ndarray, n_jobs: int | None) -> tuple[Spreading | None, dict[str, float]]:
    scores = {}
    for label, rule in candidates.items():
        reco = naive if rule is None else spread(naive, leftover, rule, prior)
        scores[label] = float(exact_emd(calq, unit_or_uniform(reco), n_jobs=n_jobs).mean())
    return candidates[_simplest_within(scores)], scores


def _simplest_within(scores: dict[str, float]) -> str:
    """The first label (candidates come simplest first) whose score is within ``SIMPLER_WITHIN`` of the best:
    300 validation wafers cannot tell apart rules closer than that, and a simpler back end costs less firmware."""
    good_enough = min(scores.values()) * (1 + SIMPLER_WITHIN)
    return next(label for label, score in scores.items() if score <= good_enough)


def fit_arena(calq: np.ndarray, *, seed: int = 0, elinks: Sequence[int] = DEFAULT_ELINKS,
              modules: Sequence[str] = ("hd", "ld"), algorithms: Sequence[str] | None = None,
              mux: TcMux | None = None, n_jobs: int | None = None, progress: bool = True) -> Arena:
    """Fit on the training split, choose on the validation split (``ARENA_SPLIT`` with ``seed``): the rules
    of the chip's ``algorithms`` (default: every one each count supports; ``()``: the codec alone) and the
    entropy codec with its rule."""
    mux = mux or load_tc_mux()
    split = split_indices(len(calq), ARENA_SPLIT, seed=seed)
    train, val = calq[split.train], calq[split.val]
    prior = np.round(fit_prior(train), PRIOR_DECIMALS)  # as arena.json stores it: a loaded arena refits the same
    shares = {name: fitted_anchor_shares(train, mux, t.group_size) for name, t in STC_TYPES.items() if t.index_bits}
    rules: dict[str, Spreading | None] = {}
    codecs: dict[str, EntropyCodec] = {}
    scores: dict[str, dict[str, float]] = {}
    for module in modules:
        drop = MODULE_PRESETS[module].drop_lsb
        for n in elinks:
            settings = EcontSettings(elinks=n, drop_lsb=drop, buffer=True)
            for algorithm in supported_algorithms(n) if algorithms is None else algorithms:
                out = run_algorithm(algorithm, val, mux, settings=settings)
                if out.leftover is None:
                    continue
                rule, scores[f"{algorithm}:{_key(module, n)}"] = _best(
                    val, out.reconstruction, out.leftover, _candidates(algorithm, shares.get(algorithm, ())),
                    prior, n_jobs)
                rules[f"{algorithm}:{_key(module, n)}"] = rule
            best_codec, best_score = None, np.inf
            for m in MANTISSA_CHOICES:
                codec = fit_code_lengths(train, elinks=n, drop_lsb=drop, mantissa_bits=m,
                                         sparse_cells=SPARSE_MAX_CELLS)
                naive, leftover = codec.reconstruction(codec.encode(val))
                rule, codec_scores = _best(val, naive, leftover, _candidates("entropy", ()), prior, n_jobs)
                scores.setdefault(f"entropy:{_key(module, n)}", {}).update(
                    {f"m={m}, {label}": s for label, s in codec_scores.items()})
                if rule is not None and codec_scores[rule.label()] < best_score:
                    best_codec, best_score = codec, codec_scores[rule.label()]
                    rules[f"entropy:{_key(module, n)}"] = rule
            assert best_codec is not None
            codecs[_key(module, n)] = best_codec
            if progress:
                print(f"[arena] {module} {n} eLinks: entropy codec m = {best_codec.mantissa_bits} "
                      f"(validation mean EMD {best_score:.3f})", file=sys.stderr, flush=True)
    return Arena(BackEndTable(prior, rules), codecs, scores)


def _frames(algorithm: str, calq: np.ndarray, arena: Arena, module: str, elinks: int, mux: TcMux) -> ChipOutput:
    """``algorithm``'s output on ``calq`` as the arena runs it (the entropy codec with its fitted table)."""
    if algorithm == "entropy":
        codec = arena.codec(module, elinks)
        if codec is None:
            raise InputError(f"the arena table has no entropy codec for {module} modules at {elinks} eLinks")
        return codec.run(calq)
    settings = EcontSettings(elinks=elinks, drop_lsb=MODULE_PRESETS[module].drop_lsb, buffer=True)
    return run_algorithm(algorithm, calq, mux, settings=settings)


def _placed(placement: LearnedPlacement, out: ChipOutput) -> np.ndarray:
    assert out.leftover is not None and out.leftover.amount.shape[1] == 1, "one group of unsent cells"
    return placement.place(out.reconstruction, out.leftover.amount[:, 0])


def fit_learned_back_ends(calq: np.ndarray, arena: Arena, *, seed: int = 0, elinks: Sequence[int] = DEFAULT_ELINKS,
                          modules: Sequence[str] = ("hd", "ld"), algorithms: Sequence[str] | None = None,
                          mux: TcMux | None = None, n_jobs: int | None = None, progress: bool = True) -> Arena:
    """``arena`` with a learned back end (``LearnedPlacement``) for the frames of each of ``algorithms`` (of
    ``LEARNED_BACK_ENDS``; default: the best non-learned frames, the codec's at every count and Best-Choice's
    at 1 eLink) at every eLink count and module type: fitted on the training split, scored on the
    validation split beside the arena's rules (``scores[...]["learned placement"]``)."""
    if unknown := set(algorithms or ()) - set(LEARNED_BACK_ENDS):
        raise ValueError(f"no learned back end for {sorted(unknown)}: one of {', '.join(LEARNED_BACK_ENDS)}")
    mux = mux or load_tc_mux()
    split = split_indices(len(calq), ARENA_SPLIT, seed=seed)
    train, val = calq[split.train], calq[split.val]
    learned, scores = dict(arena.learned), {k: dict(v) for k, v in arena.scores.items()}
    for module in modules:
        for n in elinks:
            for algorithm in algorithms or (LEARNED_BACK_ENDS if n == 1 else ("entropy",)):
                if algorithm == "entropy" and arena.codec(module, n) is None:
                    continue
                key = f"{algorithm}:{_key(module, n)}"
                fit_on, scored_on = (_frames(algorithm, x, arena, module, n, mux) for x in (train, val))
                assert fit_on.leftover is not None, "every frame of LEARNED_BACK_ENDS sends a sum"
                placement = fit_placement(train, fit_on.reconstruction, fit_on.leftover.amount[:, 0],
                                          arena.back_ends.prior)
                score = float(exact_emd(val, unit_or_uniform(_placed(placement, scored_on)), n_jobs=n_jobs).mean())
                learned[key] = placement
                scores.setdefault(key, {})[LEARNED_LABEL] = score
                if progress:
                    rule = min((v for c, v in scores[key].items() if c != LEARNED_LABEL), default=float("nan"))
                    print(f"[arena] {key}: learned placement {score:.3f} on validation (best non-learned "
                          f"candidate {rule:.3f})", file=sys.stderr, flush=True)
    return Arena(arena.back_ends, arena.codecs, scores, learned, arena.tables)


def table_placed(table: TablePlacement, codec: EntropyCodec, frames: EntropyFrames) -> np.ndarray:
    """(n, 48) CALQ of ``codec``'s ``frames`` decoded with ``table``'s charges and placement in a decoder's
    integers (the quarter counts of ``TablePlacement.integer_cells``; ``EntropyDecoder`` gives the same bits)."""
    reco, leftover = codec.reconstruction(frames, table.charges)
    charges = np.rint(reco).astype(np.int64)
    residual = np.maximum(np.rint(leftover.amount[:, 0]).astype(np.int64), 0)
    cells = table.integer_cells(charges, residual, charges.sum(axis=1), strongest_cell(charges))
    return cells / float(1 << PLACE_FRAC_BITS)


def table_label(table: TablePlacement) -> str:
    """The arena's name of a table placement: ``TABLE_LABEL``, then what differs from today's default."""
    nearest = f", nearest sent cell, span {table.span}" if table.distance_to == "nearest" else ""
    return f"{TABLE_LABEL}{nearest}{', fitted charges' if table.charges else ''}"


def _table_candidates(train: np.ndarray, codec: EntropyCodec, prior: np.ndarray, *,
                      n_jobs: int) -> list[TablePlacement]:
    """The table placements of ``codec``'s frames fitted on ``train``, simplest first: by distance to the
    strongest sent cell, then to the nearest one at each of ``NEAREST_SPANS``; bin middles before fitted charges."""
    fit_on = codec.encode(train)
    strongest: list[TablePlacement] = []
    nearest: list[TablePlacement] = []
    for charges in ((), fit_symbol_charges(train, codec, fit_on, n_jobs=n_jobs)):
        reco, leftover = codec.reconstruction(fit_on, charges)
        for distance_to, kept in (("strongest", strongest), ("nearest", nearest)):
            table = replace(fit_table_placement(train, reco, leftover.amount[:, 0], prior, distance_to=distance_to,
                                                n_jobs=n_jobs), charges=charges)
            kept.append(table)
    return strongest + [replace(t, span=span) for span in NEAREST_SPANS for t in nearest]


def fit_table_back_ends(calq: np.ndarray, arena: Arena, *, seed: int = 0, elinks: Sequence[int] = DEFAULT_ELINKS,
                        modules: Sequence[str] = ("hd", "ld"), n_jobs: int | None = None,
                        progress: bool = True) -> Arena:
    """``arena`` with a table placement of the codec's frames at each count where, decoded in integers, it
    beats the codec's chosen rule by ``SIMPLER_WITHIN`` on the validation split: of the candidates
    (``_table_candidates``, fitted on the training split) the simplest within ``SIMPLER_WITHIN`` of the best.
    Every candidate's score is kept, under its ``table_label``."""
    split = split_indices(len(calq), ARENA_SPLIT, seed=seed)
    train, val = calq[split.train], calq[split.val]
    jobs = (os.cpu_count() or 1) if n_jobs is None else n_jobs
    tables, scores = dict(arena.tables), {k: dict(v) for k, v in arena.scores.items()}
    for module in modules:
        for n in elinks:
            codec = arena.codec(module, n)
            if codec is None:
                continue
            key = f"entropy:{_key(module, n)}"
            scored_on = codec.encode(val)
            by_label = {table_label(t): t for t in _table_candidates(train, codec, arena.back_ends.prior,
                                                                     n_jobs=jobs)}
            fitted = {label: float(exact_emd(val, unit_or_uniform(table_placed(table, codec, scored_on)),
                                             n_jobs=n_jobs).mean()) for label, table in by_label.items()}
            others = {c: v for c, v in scores.get(key, {}).items() if not c.startswith(TABLE_LABEL)}
            rule = min(v for c, v in others.items() if c != LEARNED_LABEL)
            scores[key] = others | fitted
            best = _simplest_within(fitted)
            tables.pop(key, None)
            wins = fitted[best] < rule * (1 - SIMPLER_WITHIN)
            if wins:
                tables[key] = by_label[best]
            if progress:
                print(f"[arena] {key}: {best} {fitted[best]:.4f} on validation, the codec's rule {rule:.4f}: "
                      f"{'kept' if wins else 'not kept'}", file=sys.stderr, flush=True)
    return Arena(arena.back_ends, arena.codecs, scores, arena.learned, tables)


def floor_reconstruction(calq: np.ndarray, module: str) -> Reconstruction:
    """Every cell at the chip's 7-bit precision (4E3M after the module's DropLSB), no bit budget."""
    drop = MODULE_PRESETS[module].drop_lsb
    codes = E4M3.encode(np.minimum(np.asarray(calq, dtype=np.int64) >> drop, (1 << 18) - 1))
    return Reconstruction(f"floor:{module}", unit_or_uniform(E4M3.decode(codes, drop).astype(np.float64)),
                          float(7 * 48))


def lossless_fraction(calq: np.ndarray, module: str, elinks: int) -> float:
    """Fraction of wafers whose every non-zero cell fits the entropy codec's frame at the chip's 7-bit
    precision (a Huffman code fitted on these wafers): what a lossless code of those cells would fit."""
    codec = fit_code_lengths(calq, elinks=elinks, drop_lsb=MODULE_PRESETS[module].drop_lsb,
                             mantissa_bits=FLOOR_MANTISSA, rounds=1)
    nonzero = (codec.values(calq) > 0).sum(axis=1)
    return float((codec.cells_sent(calq) == nonzero).mean())


def arena_reconstructions(calq: np.ndarray, arena: Arena | None, *, elinks: int,
                          modules: Sequence[str] = ("hd", "ld"), mux: TcMux | None = None) -> list[Reconstruction]:
    """Every non-learned system at ``elinks`` for each module type, as the chip runs it (Threshold-Sum
    through its buffer, wafers one per bunch crossing; bits per BX: the mean bits that carry data).

    With an ``arena``: the chip's algorithms with the arena's back end (``chip:...``), the same frames decoded
    naively where the frame carries a sum (``naive:chip:...``), the entropy codec (``codec:entropy:...``)
    and the floor (``floor:<module>``). Without one: the chip's algorithms decoded naively, as ``chip:...``."""
    mux = mux or load_tc_mux()
    recos = []
    for module in modules:
        drop = MODULE_PRESETS[module].drop_lsb
        settings = EcontSettings(elinks=elinks, drop_lsb=drop, buffer=True)
        extra = {"elinks": float(elinks), "drop_lsb": float(drop)}
        outputs = [run_algorithm(a, calq, mux, settings=settings) for a in supported_algorithms(elinks)]
        codec = None if arena is None else arena.codec(module, elinks)
        if codec is not None:
            outputs.append(codec.run(calq))
        for out in outputs:
            name = (f"codec:entropy:{module}:{elinks}elink" if out.algorithm == "entropy"
                    else chip_algorithm_name(out.algorithm, module, elinks))
            more = extra | {f"{k}_fraction" if v.dtype == bool else f"mean_{k}": float(v.mean())
                            for k, v in out.extra.items()}
            bits = float(out.frames.used.mean())
            if arena is None:
                recos.append(Reconstruction(name, unit_or_uniform(out.reconstruction), bits, more))
                continue
            rule = arena.back_ends.rule(out.algorithm, module, elinks) if out.leftover is not None else None
            label = "cells only" if out.leftover is None else rule.label() if rule else "naive"
            recos.append(Reconstruction(name, unit_or_uniform(out.decoded(rule, arena.back_ends.prior)), bits,
                                        more | {"back_end": label}))
            if out.leftover is not None and out.algorithm != "entropy":
                recos.append(Reconstruction(f"naive:{name}", unit_or_uniform(out.reconstruction), bits, more))
            table = arena.table(module, elinks) if out.algorithm == "entropy" else None
            if table is not None and codec is not None:
                placed = table_placed(table, codec, codec.parse(out.frames))
                recos.append(Reconstruction(f"table:{name}", unit_or_uniform(placed), bits,
                                            more | {"back_end": table_label(table)}))
            placement = arena.placement(out.algorithm, module, elinks)
            if placement is not None:
                recos.append(Reconstruction(f"learned:{name}", unit_or_uniform(_placed(placement, out)), bits,
                                            more | {"back_end": LEARNED_LABEL}))
        if arena is not None:
            recos.append(floor_reconstruction(calq, module))
    return recos
