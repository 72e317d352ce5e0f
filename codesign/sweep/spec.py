"""Sweep configuration: a base autoencoder spec, a grid of overrides, the stages each point runs, and
where the work runs (Dask cluster).

A sweep YAML::

    name: bits12
    base: models/econt_sweep_base.yaml     # an autoencoder spec (codesign train --config)
    grid:                                  # dotted keys of the spec -> values; the product is swept
      encoder.input_frac_bits: [7, 5]
      encoder: [{weight_bits: 6, weight_frac_bits: 5}, {weight_bits: 4, weight_frac_bits: 3}]
      encoder.elinks: [3, 4, 5]
    sample: 0                              # > 0: a seeded random sample of that many grid points
    stages: [train, evaluate, rtl, asic, fpga]
    variants: [reconfig_tmr_r4]            # also synthesise these designs of each point's shape (optional)
    evaluation: {data: highpu_dev.csv, n_wafers: 600}
    cluster: {kind: local, n_workers: 2}

A grid value that is a mapping is merged into the section its key names, so fields that must change
together (a weight width and its fractional bits) are one grid axis. Keys are checked against the base
spec when the sweep is loaded; a value the spec rejects (a width out of range) fails only its own point.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from codesign.config import ConfigError, apply_overrides, from_mapping, read_yaml, to_mapping
from codesign.data.io import REFERENCE_FILE
from codesign.hardware.variants import parse_variant
from codesign.models.autoencoder import AutoencoderSpec
from codesign.paths import PROJECT_ROOT

MAX_POINTS = 10_000  # points of one sweep: beyond, the grid is a typo (and its specs alone take GBs)

Stage = Literal["train", "evaluate", "rtl", "asic", "fpga"]
STAGES: tuple[Stage, ...] = ("train", "evaluate", "rtl", "asic", "fpga")


@dataclass(frozen=True)
class ClusterSpec:
    """Where points run. ``local``: a LocalCluster of ``n_workers`` processes (0: one per core); ``htcondor``
    / ``slurm``: ``jobs`` batch jobs through dask-jobqueue, each one worker with these resources."""

    kind: Literal["local", "htcondor", "slurm"] = "local"
    n_workers: int = 0
    threads_per_worker: int = 1
    jobs: int = 2
    cores: int = 1
    memory: str = "8GB"
    disk: str = "10GB"  # HTCondor only
    walltime: str = "04:00:00"
    queue: str | None = None  # Slurm partition
    job_extra_directives: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.n_workers < 0 or self.jobs < 1 or self.threads_per_worker < 1:
            raise ValueError("n_workers must be >= 0, jobs and threads_per_worker >= 1")


@dataclass(frozen=True)
class EvaluationSpec:
    """Exact-EMD evaluation of every point on the held-out (test) split of ``data``, made with the point's
    own training seed and split, so no evaluated wafer was trained on."""

    data: str = REFERENCE_FILE
    n_wafers: int = 600  # first wafers of the test split; 0: all of it

    def __post_init__(self) -> None:
        if self.n_wafers < 0:
            raise ValueError(f"n_wafers must be >= 0 (0: the whole test split), got {self.n_wafers}")


@dataclass(frozen=True)
class SweepOptions:
    name: str
    base: str
    sample: int = 0
    seed: int = 0
    stages: tuple[Stage, ...] = STAGES
    synth_module: Literal["core", "top"] = "core"  # what Yosys synthesises: the encoder, or with the CALQ top
    # "front": synthesise (asic, fpga) only the points near the Pareto front of mean EMD vs da4ml's LUT
    # estimate, found after every point's train/evaluate/rtl; "all": every point
    synthesis: Literal["all", "front"] = "all"
    front_margin: float = 0.05  # "front" keeps points no other beats by more than this fraction in both
    # reconfigurable designs of each point's encoder shape synthesised beside its fixed core (names as
    # `make asic VARIANTS`, e.g. reconfig_tmr_r4 for a reuse factor of 4): columns area_mm2:VARIANT,
    # luts:VARIANT, ... and a Pareto front each
    variants: tuple[str, ...] = ()
    evaluation: EvaluationSpec = field(default_factory=EvaluationSpec)
    cluster: ClusterSpec = field(default_factory=ClusterSpec)

    def __post_init__(self) -> None:
        order = [STAGES.index(s) for s in self.stages]
        if not order or order[0] != 0 or order != list(range(len(order))):
            raise ValueError(f"stages must be a prefix of {list(STAGES)} (each needs the one before), "
                             f"got {list(self.stages)}")
        if self.front_margin < 0:
            raise ValueError(f"front_margin must be >= 0, got {self.front_margin}")
        if any(not parse_variant(name).reconfigurable for name in self.variants):
            raise ValueError("variants lists reconfigurable designs (e.g. reconfig_tmr_r4); the fixed core is "
                             "always synthesised")

    @property
    def hardware_stages(self) -> tuple[Stage, ...]:
        """The synthesis stages of this sweep (run last, on the front only with ``synthesis: front``)."""
        return tuple(s for s in self.stages if s in ("asic", "fpga"))

    @property
    def first_stages(self) -> tuple[Stage, ...]:
        """What every point runs: all stages, or all but synthesis with ``synthesis: front``."""
        hardware = self.hardware_stages if self.synthesis == "front" else ()
        return tuple(s for s in self.stages if s not in hardware)


@dataclass(frozen=True)
class Point:
    """One configuration of the sweep: its overrides and the full autoencoder-spec mapping they give."""

    id: str
    overrides: dict[str, Any]
    spec: dict[str, Any]

    @property
    def columns(self) -> dict[str, Any]:
        """The overrides as flat ``section.field`` columns (a mapping value gives one column per key)."""
        flat: dict[str, Any] = {}
        for key, value in self.overrides.items():
            if isinstance(value, dict):
                flat.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                flat[key] = value
        return flat


@dataclass(frozen=True)
class Sweep:
    options: SweepOptions
    grid: dict[str, list[Any]]
    base_spec: dict[str, Any]
    source: str

    @property
    def grid_size(self) -> int:
        return math.prod(len(values) for values in self.grid.values())

    def points(self) -> list[Point]:
        """The grid's points in ``itertools.product`` order, or ``sample`` of them (seeded), built one by one:
        a sampled grid of any size never exists in memory whole."""
        total = self.grid_size
        picks: Sequence[int] = range(total)
        if 0 < self.options.sample < total:
            picks = sorted(int(i) for i in np.random.default_rng(self.options.seed).choice(
                total, self.options.sample, replace=False))
        combos = [self._combo(i) for i in picks]
        specs = [apply_overrides(self.base_spec, c, kind="grid key") for c in combos]
        return [Point(point_id(spec, self.options.stages, self.options.variants), c, spec)
                for c, spec in zip(combos, specs, strict=True)]

    def _combo(self, index: int) -> dict[str, Any]:
        """The ``index``-th combination of ``itertools.product`` over the grid (the last key varies fastest)."""
        combo: dict[str, Any] = {}
        for key in reversed(list(self.grid)):
            index, digit = divmod(index, len(self.grid[key]))
            combo[key] = self.grid[key][digit]
        return {key: combo[key] for key in self.grid}

    def varied_columns(self) -> list[str]:
        """Override columns that take more than one value over the points (what a report should show)."""
        points = [p.columns for p in self.points()]
        keys = list(dict.fromkeys(k for p in points for k in p))
        return [k for k in keys if len({json.dumps(p.get(k), sort_keys=True) for p in points}) > 1]


def point_id(spec: dict[str, Any], stages: tuple[str, ...] = STAGES, variants: tuple[str, ...] = ()) -> str:
    """Stable short name of a point, from the full spec it trains, the stages it runs and the design variants
    it synthesises: the same point keeps its folder when the grid grows or is reordered (a restarted sweep
    skips it), while a changed base spec makes new points instead of reusing results of the old ones."""
    text = json.dumps([spec, list(stages), *([list(variants)] if variants else [])], sort_keys=True)
    return "p" + hashlib.sha256(text.encode()).hexdigest()[:10]


def _resolve(path: str, sweep_file: Path) -> Path:
    """Paths in a sweep file are relative to the project root (like the Makefile), else to the file."""
    for candidate in (Path(path), PROJECT_ROOT / path, sweep_file.parent / path):
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigError(f"{sweep_file}: base: {path} not found (relative to the project root or this file)")


def load_sweep(path: str | Path) -> Sweep:
    """Load and check a sweep YAML; errors name the file and the key."""
    path = Path(path)
    raw = read_yaml(path, "sweep file")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with name, base and grid")
    grid = raw.pop("grid", None)
    options = from_mapping(SweepOptions, raw, where=str(path))
    if not isinstance(grid, dict) or not grid:
        raise ConfigError(f"{path}: grid: expected a mapping of spec keys to lists of values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{path}: grid.{key}: expected a non-empty list of values, got {values!r}")
    total = math.prod(len(values) for values in grid.values())
    n_points = min(total, options.sample) if options.sample else total
    if n_points > MAX_POINTS:
        raise ConfigError(f"{path}: grid: {total:,} points; a sweep runs at most {MAX_POINTS:,} (each trains a "
                          "model): give sample: N or fewer values")
    if "evaluate" in options.stages:  # found now, not after every point trained
        from codesign.data.sources import SYNTH_PREFIX, source_path

        data = options.evaluation.data
        if not data.startswith(SYNTH_PREFIX) and not source_path(data).is_file():
            raise ConfigError(f"{path}: evaluation.data: {data}: no such file (nor in the real-data folder "
                              f"{source_path(data).parent})")
    base_file = _resolve(options.base, path)
    base_raw = read_yaml(base_file, "base spec")
    base = to_mapping(from_mapping(AutoencoderSpec, base_raw, where=str(base_file)))
    for key, values in grid.items():
        for value in values:
            apply_overrides(base, {key: value}, where=str(path), kind="grid key")
    return Sweep(options, grid, base, str(path))


def spec_of(point: Point) -> AutoencoderSpec:
    """The typed spec of a point; its range checks raise here, inside the point's task."""
    return from_mapping(AutoencoderSpec, point.spec, where=f"point {point.id} {point.overrides}")
