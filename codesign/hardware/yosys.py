"""Yosys on an RTL folder (``codesign rtl``): the flow scripts filled in and run, the statistics read back.

The scripts live in ``asic_flow/`` as templates with ``{sources}``, ``{top}``, ``{flatten}`` and
``{stat_file}`` fill-ins (plus their own); each ends with ``stat -json`` into ``{stat_file}``, which
``read_stats`` turns into typed module statistics. Yosys 0.23's JSON has no library area, so a script
mapped to a liberty also writes the text ``stat -liberty`` into ``{liberty_stat_file}`` for that one number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from codesign.hardware.rtl import RtlInfo
from codesign.paths import ASIC_FLOW_DIR
from codesign.tools import ToolError, require, run_tool

STAT_FILE = "yosys_stat.json"
_TREE_LINE = re.compile(r"^\s+[^\s\"{}\[\]]+\s+\d+\s*$")  # "   econt_sparse_by_tc   1": not JSON
LIBERTY_STAT_FILE = "yosys_stat_liberty.txt"


@dataclass(frozen=True)
class ModuleStat:
    """One module's cells as ``stat`` counts them: its instances of other modules count as one cell each."""

    module: str
    cells: dict[str, int]
    n_cells: int


@dataclass(frozen=True)
class YosysStats:
    modules: dict[str, ModuleStat]  # by module name, each module's own cells
    design: ModuleStat  # the whole design below the top, every module instance expanded
    chip_area: float | None = None  # library units, from ``stat -liberty``


def _module_stat(name: str, entry: dict[str, object]) -> ModuleStat:
    cells = entry.get("num_cells_by_type")
    n_cells = entry.get("num_cells")
    if not isinstance(cells, dict) or not isinstance(n_cells, int):
        raise ValueError(f"module {name}: no cell counts in the Yosys statistics")
    return ModuleStat(name, {str(c): int(n) for c, n in cells.items()}, n_cells)


def parse_stat_json(text: str, *, source: str = "Yosys statistics") -> YosysStats:
    """The output of ``stat -json``: every module (names without Yosys' leading backslash) and the design
    total (Yosys' ``design`` entry; a single module when there is none). Yosys 0.23 also prints the lines of
    its hierarchy tree below the first level (``   name   count``, unquoted) between the modules and the total;
    they are left out."""
    text = "\n".join(line for line in text.splitlines() if not _TREE_LINE.match(line))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{source}: not the JSON of `stat -json` ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("modules"), dict) or not data["modules"]:
        raise ValueError(f"{source}: no modules in the Yosys statistics")
    modules = {name.removeprefix("\\"): _module_stat(name.removeprefix("\\"), entry)
               for name, entry in data["modules"].items()}
    if "design" in data:
        design = _module_stat("design", data["design"])
    elif len(modules) == 1:
        design = next(iter(modules.values()))
    else:
        raise ValueError(f"{source}: {len(modules)} modules and no design total")
    return YosysStats(modules, design)


def parse_chip_area(text: str) -> float:
    """The library area from a text ``stat -liberty`` (the last, i.e. the top's or the hierarchy's, figure)."""
    found = re.findall(r"Chip area for (?:top )?module '?\\?[^':]*'?:\s+([\d.]+)", text)
    if not found:
        raise ValueError("no 'Chip area' line in the Yosys statistics")
    return float(found[-1])


def yosys_script(template: str, rtl_dir: Path, info: RtlInfo, out: Path, top: str, **extra: str) -> Path:
    """``asic_flow/TEMPLATE`` filled in for the RTL folder, written into ``out``."""
    sources = " ".join(str(rtl_dir / s) for s in info.sources)
    # The reconfigurable core keeps its hierarchy: its thousands of identical multipliers are then mapped
    # once per width instead of being optimised flattened (hours of ABC); the fixed cores are flattened.
    flatten = "" if info.config_bits else "-flatten"
    text = (ASIC_FLOW_DIR / template).read_text().format(
        sources=sources, top=top, flatten=flatten, stat_file=out / STAT_FILE,
        liberty_stat_file=out / LIBERTY_STAT_FILE, **extra)
    script = out / template
    script.write_text(text)
    return script


def yosys_pass(line: str) -> str | None:
    """The pass a Yosys log line starts ("21.49. Executing CHECK pass (...)" -> "CHECK pass"), for heartbeats."""
    found = re.match(r"\d+(?:\.\d+)*\. Executing (\S+) pass", line)
    return f"{found.group(1)} pass" if found else None


def run_yosys(script: Path, out: Path, *, timeout: float | None = None) -> YosysStats:
    """Run a filled-in script in ``out`` (log ``out/yosys.log``) and read its statistics."""
    yosys = require("yosys", "install Yosys (apt-get install yosys, or `make setup`)")
    for stale in (STAT_FILE, LIBERTY_STAT_FILE):  # of an earlier run into the same folder
        (out / stale).unlink(missing_ok=True)
    # -q keeps the terminal output to warnings and errors (yosys_stdout.log); the full log is yosys.log
    run_tool([yosys, "-q", "-l", str(out / "yosys.log"), str(script)], cwd=out, log=out / "yosys_stdout.log",
             timeout=timeout, progress_log=out / "yosys.log", describe=yosys_pass)
    stat_file = out / STAT_FILE
    if not stat_file.is_file():
        raise ToolError(f"Yosys wrote no statistics ({stat_file}); log: {out / 'yosys.log'}")
    stats = parse_stat_json(stat_file.read_text(), source=str(stat_file))
    liberty_stat = out / LIBERTY_STAT_FILE
    if liberty_stat.is_file():
        stats = YosysStats(stats.modules, stats.design, parse_chip_area(liberty_stat.read_text()))
    return stats
