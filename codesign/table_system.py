"""The arena's learned systems as reference folders: on chip the entropy-coded sparse codec (one image of the
universal codec block per module type, ``codesign asic config``), its frame, and in the back end the learned
table placement its decoder builds (``TablePlacement``, Verilog in ``codesign.hardware.backend_rtl``).

A recipe (``models/econt_<n>elink_table.yaml``) names the eLink count, the module types, the wafer file and
the split seed; ``fit_table_system`` fits on the training split and chooses on the validation split exactly as
``codesign econt arena-fit`` does for that count (the codec's mantissa bits and rule by ``fit_arena``, the
table by ``fit_table_back_ends``), so a system folder holds the committed arena's entries bit for bit
(``tests/test_table_system.py``). A module type whose table did not beat the codec's rule on validation keeps
the rule: the system is then the codec itself, and says so.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.arena import (
    ARENA_SPLIT,
    Arena,
    BackEndBudget,
    fit_arena,
    fit_table_back_ends,
    table_label,
    table_placed,
)
from codesign.artifacts import atomic_dir, provenance, write_json, write_text
from codesign.baselines import Reconstruction
from codesign.config import from_mapping, read_yaml, to_mapping
from codesign.data.io import REFERENCE_FILE, read_calq
from codesign.data.normalise import unit_or_uniform
from codesign.data.sources import source_path
from codesign.econt.algorithms import MODULE_PRESETS
from codesign.econt.entropy import EntropyCodec
from codesign.econt.learned_backend import TablePlacement
from codesign.errors import InputError

SYSTEM_FILE = "system.json"
HW_DIR = "hw"  # a system folder's committed decoder reports (benchmarks/shared_decoders.py --commit)
RECIPE_FILE = "spec.yaml"
RECIPE_KEY = "table_system"  # the top-level key that makes a recipe a table system's, not an autoencoder's
SYSTEM_PREFIX = "system:"  # metrics key of a system's row: system:<name>:<module>


@dataclass(frozen=True)
class TableSystemFit:
    """What a table system is fitted on: ``elinks``, the ``modules`` it serves, the wafer file ``data`` (a
    bare name is looked up in the real-data folder) and the ``seed`` of its 70/10/20 split (``ARENA_SPLIT``)."""

    elinks: int
    modules: tuple[str, ...] = ("hd", "ld")
    data: str = REFERENCE_FILE
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.elinks <= 7:
            raise ValueError(f"elinks: the arena's counts are 1..7, got {self.elinks}")
        if not self.modules or set(self.modules) - set(MODULE_PRESETS) or len(set(self.modules)) < len(self.modules):
            raise ValueError(f"modules: distinct module types of {sorted(MODULE_PRESETS)}, got {list(self.modules)}")
        if self.seed < 0:
            raise ValueError(f"seed: >= 0, got {self.seed}")


@dataclass(frozen=True)
class TableSystemSpec:
    """A table system's recipe: its ``name`` and ``table_system`` (``TableSystemFit``)."""

    name: str
    table_system: TableSystemFit


def is_table_system_recipe(path: str | Path) -> bool:
    """Whether YAML ``path`` is a table system's recipe (its top-level ``table_system`` key)."""
    content = read_yaml(path)
    return isinstance(content, dict) and RECIPE_KEY in content


def load_table_system_spec(path: str | Path) -> TableSystemSpec:
    return from_mapping(TableSystemSpec, read_yaml(path), where=str(path))


@dataclass(frozen=True)
class TableSystem:
    """One fitted system: ``arena`` holds its codec, the codec's rule and (where it won on validation) the
    table of each module type at ``spec.table_system.elinks``, with every candidate's validation score."""

    spec: TableSystemSpec
    arena: Arena
    folder: Path | None = None  # where it was loaded from (its hw/ reports)

    @property
    def elinks(self) -> int:
        return self.spec.table_system.elinks

    @property
    def modules(self) -> tuple[str, ...]:
        return self.spec.table_system.modules

    def codec(self, module: str) -> EntropyCodec:
        codec = self.arena.codec(module, self.elinks)
        if codec is None:
            raise InputError(f"{self.spec.name}: no codec for {module} modules (it serves {', '.join(self.modules)})")
        return codec

    def table(self, module: str) -> TablePlacement | None:
        return self.arena.table(module, self.elinks)

    def back_end(self, module: str) -> str:
        """What decodes the ``module`` frames: the table (its ``table_label``) or the codec's rule."""
        table = self.table(module)
        return table_label(table) if table is not None else self.arena.codec_rule(module, self.elinks).label()

    def shared_decoder(self, module: str) -> str | None:
        """What the folder's committed decoder of ``module`` frames shared by several modules costs
        (``hw/decoder_<module>/``: its UltraScale+ LUTs, DSPs and block RAMs per module against ``BackEndBudget``,
        its routed ECP5 clock against the one it needs); None where the folder holds none."""
        hw = self.folder / HW_DIR / f"decoder_{module}" if self.folder is not None else None
        if hw is None or not (hw / "fpga_report.json").is_file():
            return None
        try:
            xilinx = json.loads((hw / "fpga_report.json").read_text())
            ecp5 = json.loads((hw / "ecp5_report.json").read_text())
            shared, luts = int(xilinx["modules_per_decoder"]), float(xilinx["LUT_per_module"])
            dsps, fmax, target = xilinx["DSP"] / shared, ecp5["fmax_mhz"] or 0.0, float(ecp5["target_mhz"])
            brams, ffs = float(xilinx.get("BRAM36", 0.0)) / shared, float(xilinx["FF"]) / shared
            clocked = bool(ecp5["meets_timing"])
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise InputError(f"{hw}: not a shared decoder's fpga_report.json and ecp5_report.json ({err!r})") from None
        fits = BackEndBudget().fits(luts, dsps, brams, ffs)
        verdict = "too slow" if not clocked else "fits" if fits else "over budget"
        memory = f" / {brams:g} BRAM36" if brams else ""
        return (f"shared by {shared}: {luts:,.0f} LUT / {dsps:g} DSP{memory} a module at {fmax:.1f} of {target:.0f} "
                f"MHz ({verdict})")

    def reconstructions(self, calq: np.ndarray) -> list[Reconstruction]:
        """``system:<name>:<module>`` per module type: the codec's frames of ``calq`` decoded by the table in
        the decoder's integers, or by the codec's rule where the system kept it."""
        recos = []
        for module in self.modules:
            codec, table = self.codec(module), self.table(module)
            out = codec.run(calq)
            if table is not None:
                wafers = table_placed(table, codec, codec.parse(out.frames))
            else:
                wafers = out.decoded(self.arena.codec_rule(module, self.elinks), self.arena.back_ends.prior)
            shared = self.shared_decoder(module)
            recos.append(Reconstruction(f"{SYSTEM_PREFIX}{self.spec.name}:{module}", unit_or_uniform(wafers),
                                        float(out.frames.used.mean()),
                                        {"elinks": float(self.elinks), "back_end": self.back_end(module),
                                         **({"shared_decoder": shared} if shared else {})}))
        return recos


def fit_table_system(spec: TableSystemSpec, calq: np.ndarray | None = None, *, n_jobs: int | None = None,
                     progress: bool = True) -> TableSystem:
    """Fit ``spec`` on its wafer file (or on ``calq``): the codec and its rule (``fit_arena``, the codec
    alone), then the tables (``fit_table_back_ends``), as ``codesign econt arena-fit`` fits that count."""
    fit = spec.table_system
    if calq is None:
        calq = read_calq(source_path(fit.data))
    if progress:
        print(f"[{spec.name}] fitting on {len(calq)} wafers ({fit.data}, split seed {fit.seed}, "
              f"{'/'.join(f'{f:g}' for f in ARENA_SPLIT)})", file=sys.stderr, flush=True)
    arena = fit_arena(calq, seed=fit.seed, elinks=(fit.elinks,), modules=fit.modules, algorithms=(),
                      n_jobs=n_jobs, progress=progress)
    arena = fit_table_back_ends(calq, arena, seed=fit.seed, elinks=(fit.elinks,), modules=fit.modules,
                                n_jobs=n_jobs, progress=progress)
    return TableSystem(spec, arena)


def write_table_system(system: TableSystem, out_dir: str | Path, *, force: bool = False, **meta: Any) -> Path:
    """``out_dir`` with ``system.json`` (the recipe, the fitted arena entries, provenance) and the recipe as
    ``spec.yaml``, written as one folder (``atomic_dir``)."""
    with atomic_dir(out_dir, force) as out:
        write_json(out / SYSTEM_FILE, {"spec": to_mapping(system.spec), "arena": system.arena.to_json(),
                                       "meta": provenance(**meta)})
        write_text(out / RECIPE_FILE, _recipe_yaml(system.spec))
    return Path(out_dir)


def _recipe_yaml(spec: TableSystemSpec) -> str:
    import yaml

    return yaml.safe_dump(to_mapping(spec), sort_keys=False)


def is_table_system(folder: str | Path) -> bool:
    return (Path(folder) / SYSTEM_FILE).is_file()


def load_table_system(folder: str | Path) -> TableSystem:
    """The system folder ``folder`` (``codesign train`` of a table system's recipe)."""
    path = Path(folder) / SYSTEM_FILE
    if not path.is_file():
        raise InputError(f"{path}: no such file (a table system folder: `codesign train --config "
                         f"models/econt_2elink_table.yaml --out DIR` writes one)")
    try:
        obj = json.loads(path.read_text())
        spec = from_mapping(TableSystemSpec, obj["spec"], where=f"{path}: spec")
        arena = Arena.from_json(obj["arena"], f"{path}: arena")
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: line {err.lineno}: not JSON ({err.msg})") from None
    except (KeyError, TypeError) as err:
        raise InputError(f"{path}: not a table system ({err!r} missing or malformed)") from None
    return TableSystem(spec, arena, Path(folder))
