from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from codesign.asic.reports import UnknownCellError, cell_ge, gate_area
from codesign.fpga.synth import XilinxResources
from codesign.hardware.yosys import parse_chip_area, parse_stat_json

DATA = Path(__file__).parent / "data"


def _tiny_model(folder: Path, *, conv_filters: int = 2, latent_dim: int = 4, seed: int = 1) -> Path:
    """A seeded tiny encoder (8 x 8 layout, 2 eLinks): what the flows' tests synthesise and simulate."""
    from codesign.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "tiny.yaml"
    config.write_text(f"layout: 8x8\nconv_filters: {conv_filters}\nlatent_dim: {latent_dim}\nelinks: 2\n"
                      "latent_int_bits: 1\n")
    assert main(["model", "init", "--seed", str(seed), "--config", str(config), "--out", str(folder / "model")]) == 0
    return folder / "model"


def test_generic_report_gate_equivalents():
    stat = parse_stat_json((DATA / "yosys_stat_generic.json").read_text()).design
    assert stat.n_cells == 31945 and stat.cells["$_NAND_"] == 11105 and sum(stat.cells.values()) == 31945
    area = gate_area(stat, um2_per_ge=2.0)
    assert area.flip_flops == 3403 + 3 + 8 + 9
    expected = sum(n * cell_ge(c) for c, n in stat.cells.items())
    assert area.gate_equivalents == pytest.approx(expected, abs=0.1)
    assert area.area_mm2 == pytest.approx(expected * 2.0e-6)
    assert 0 < area.flip_flop_ge < area.gate_equivalents


def test_hierarchical_report_counts_each_module_once():
    """`asic synth --split` on the 2-eLink hybrid: the top (core a black box) with its conversion and
    sparse selector kept apart; a module's instances of other modules are not cells of its own."""
    stats = parse_stat_json((DATA / "yosys_stat_split.json").read_text())
    modules = stats.modules
    assert sorted(modules) == ["econt_convert", "econt_sparse", "econt_top"]
    top = modules["econt_top"].cells
    assert top["econt_convert"] == top["econt_sparse"] == top["econt_encoder_wrapper"] == 1
    with pytest.raises(UnknownCellError, match="econt_convert"):
        gate_area(modules["econt_top"])
    own = gate_area(modules["econt_top"], submodules=["econt_convert", "econt_sparse", "econt_encoder_wrapper"])
    convert = gate_area(modules["econt_convert"])
    # the selector's input register, 4 cycles of {sum code, 4 cells, mode}, the 58 used frame bits, valid
    assert convert.flip_flops == 48 * 22 and own.flip_flops == 48 * 8 + 9 + 4 * 58 + 58 + 7
    assert stats.design.n_cells == sum(m.n_cells for m in modules.values()) - 3 + 1  # the black box counts once


def test_nested_hierarchy_statistics_are_read_despite_yosys_tree_lines():
    """Yosys 0.23 prints its hierarchy tree below the first level into `stat -json` (unquoted lines, here
    `econt_sparse_by_tc 1` of the 5-eLink reference's split run); they are skipped, the rest is JSON."""
    text = (DATA / "yosys_stat_nested.json").read_text()
    assert any(line.split() == ["econt_sparse_by_tc", "1"] for line in text.splitlines())
    stats = parse_stat_json(text)
    assert sorted(stats.modules) == ["econt_convert", "econt_sparse", "econt_sparse_by_tc", "econt_top"]
    assert stats.modules["econt_sparse"].cells["econt_sparse_by_tc"] == 1
    assert stats.design.n_cells == 40439


def test_yosys_statistics_errors_name_the_source():
    with pytest.raises(ValueError, match="stats.json: not the JSON"):
        parse_stat_json("nothing here", source="stats.json")
    with pytest.raises(ValueError, match="no modules"):
        parse_stat_json('{"modules": {}}')
    with pytest.raises(ValueError, match="2 modules and no design total"):
        parse_stat_json('{"modules": {"a": {"num_cells": 0, "num_cells_by_type": {}}, '
                        '"b": {"num_cells": 0, "num_cells_by_type": {}}}}')
    assert parse_chip_area("Chip area for module '\\econt_top': 1234.5\n") == 1234.5
    with pytest.raises(ValueError, match="Chip area"):
        parse_chip_area("no area")


@pytest.mark.parametrize(("cell", "ge"), [("$_NAND_", 1.0), ("$_XOR_", 2.33), ("$_DFF_P_", 4.33),
                                          ("$_SDFF_PP0_", 5.33), ("$_DFFE_PP_", 5.66), ("$_DFF_PN0_", 5.33),
                                          ("$_SDFFCE_PP0P_", 6.66)])
def test_cell_costs(cell, ge):
    assert cell_ge(cell) == pytest.approx(ge)


def test_unknown_cells_are_an_error():
    with pytest.raises(UnknownCellError, match=r"\$_ALDFF_PP_"):
        cell_ge("$_ALDFF_PP_")


def test_toggle_count_skips_the_initial_dump():
    from codesign.asic.energy import count_toggles

    vcd = ["$var wire 1 ! clk $end", "$var wire 4 \" bus $end", "#0", "$dumpvars", "0!", "b0000 \"", "$end",
           "#5", "1!", "b0101 \"", "#10", "0!", "b0110 \"", "bx110 \""]
    assert count_toggles(vcd) == 1 + 2 + 1 + 2 + 1  # clk 0->1, bus 0000->0101, clk, 0101->0110, 0->x


def test_xilinx_report():
    r = XilinxResources.count(parse_stat_json((DATA / "yosys_stat_xilinx.json").read_text()).design.cells)
    assert r.LUT == 4200 + 4508 + 1598 + 1131 + 654 + 8814
    assert r.FF == 3359 + 12 and r.CARRY == 857 and r.DSP == 0
    assert r.MUXF == 7757 + 3537 + 1711 and r.SRL == 9


def test_xilinx_lut_ram_counts_the_luts_it_takes():
    r = XilinxResources.count({"LUT6": 3, "SRLC32E": 1, "RAM32M16": 2, "RAM64X1D": 1, "FDRE": 5})
    assert (r.LUT, r.SRL, r.LUTRAM, r.FF, r.lut_sites) == (3, 1, 2 * 8 + 2, 5, 3 + 1 + 18)


def test_xilinx_block_ram_counts_36_kb_blocks():
    r = XilinxResources.count({"RAMB18E2": 24, "RAMB36E2": 2, "LUT6": 1})
    assert (r.BRAM, r.BRAM36) == (26, 14.0)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed (make setup)")
def test_tiny_design_through_the_asic_and_fpga_flows(tmp_path, capsys):
    """What `make asic fpga VARIANTS=fixed` runs, on a tiny encoder: synthesis, area split, gate-level energy
    (the built-in simulator checked against Verilator and Icarus), summaries; `asic energy` on its netlist."""
    from codesign.asic.energy import estimate_energy
    from codesign.asic.synth import CORE_PART, SPLIT_PARTS
    from codesign.cli import main

    model, rtl, vectors, asic = _tiny_model(tmp_path), tmp_path / "rtl", tmp_path / "v", tmp_path / "asic"
    assert main(["rtl", "--model", str(model), "--out", str(rtl)]) == 0
    assert main(["vectors", "--model", str(model), "--n-wafers", "20", "--out", str(vectors)]) == 0
    assert main(["asic", "flow", "--model", str(model), "--rtl", str(rtl), "--vectors", str(vectors),
                 "--out", str(asic), "--variants", "fixed"]) == 0
    summary = json.loads((asic / "summary.json").read_text())
    fixed = summary["variants"]["fixed"]
    assert fixed["flip_flops"] > 1000 and 0 < fixed["area_mm2"] < 1 and fixed["gate_equivalents"] > fixed["cells"]
    assert 0 < fixed["energy"]["energy_nJ_per_inference"] < 1
    parts = {p["part"]: p for p in fixed["split"]}
    assert sum(p["gate_equivalents"] for p in parts.values()) == pytest.approx(fixed["gate_equivalents"], abs=1)
    assert parts[SPLIT_PARTS["econt_convert"]]["flip_flop_ge"] == pytest.approx(48 * 22 * cell_ge("$_DFF_P_"), abs=0.1)
    assert parts[CORE_PART]["gate_equivalents"] > 0 and "sparse selector" not in parts
    assert "Area split" in (asic / "summary.md").read_text()
    assert main(["fpga", "flow", "--model", str(model), "--rtl", str(rtl), "--out", str(tmp_path / "fpga"),
                 "--variants", "fixed", "--no-pnr"]) == 0
    assert "| fixed |" in (tmp_path / "fpga" / "summary.md").read_text()
    fpga = json.loads((tmp_path / "fpga" / "fixed" / "xilinx" / "fpga_report.json").read_text())
    assert fpga["LUT"] > 1000 and fpga["FF"] > 1000
    out = capsys.readouterr()
    assert "published ECON-T autoencoder block" in out.out
    assert "[1/1] fixed: Yosys synthesis and gate-level energy: done in" in out.err  # a stage line per variant
    netlist = asic / "fixed"
    assert main(["asic", "energy", "--asic", str(netlist), "--rtl", str(rtl), "--vectors", str(vectors),
                 "--wafers", "15"]) == 0  # fails if the netlist's frames differ from Keras
    energy = json.loads((netlist / "energy_report.json").read_text())
    assert energy["wafers"] == 15 and 0 < energy["energy_nJ_per_inference"] < 1 and energy["simulator"] == "netlist"
    # The built-in simulator against Icarus, wire by wire: every wire of the netlist toggles as often in both.
    # Icarus (and, for part of them, Verilator) gives each alias of a net its own VCD entry, so their totals
    # count some nets several times; the built-in count is per net.
    verilator = estimate_energy(netlist, rtl, vectors, n_wafers=15, simulator="verilator")
    icarus = estimate_energy(netlist, rtl, vectors, n_wafers=15, simulator="icarus", keep_vcd=True)
    print(f"toggles per wafer: built-in {energy['toggles_per_wafer']:.0f}, Verilator {verilator.toggles_per_wafer:.0f}"
          f", Icarus {icarus.toggles_per_wafer:.0f}")
    assert energy["toggles"] < verilator.toggles < icarus.toggles
    _assert_wire_toggles_match_icarus(netlist, rtl, vectors, wafers=15)
    # the same netlist through the bit-sliced gate harness (`codesign verify --engine gates`): every frame equal
    # to Keras; with one frame flip-flop fed the inverse of its input, the first wafer is wrong and it exits 1
    gates = ["verify", "--engine", "gates", "--model", str(model), "--rtl", str(rtl)]
    assert main([*gates, "--netlist", str(netlist / "netlist.json"), "--wafers", "100000"]) == 0
    assert "100,000 wafers" in capsys.readouterr().out
    mutated = _invert_a_frame_flop(netlist / "netlist.json", tmp_path / "mutated.json")
    assert main([*gates, "--netlist", str(mutated), "--wafers", "2000", "--build-dir", str(tmp_path / "bad")]) == 1
    assert "first at wafer 0" in capsys.readouterr().err


def _invert_a_frame_flop(netlist: Path, out: Path) -> Path:
    """``netlist`` with a NOT gate before the D input of the first flip-flop that drives a frame bit."""
    design = json.loads(netlist.read_text())
    module = next(m for m in design["modules"].values() if m.get("attributes", {}).get("top"))
    frame = set(module["ports"]["frame"]["bits"])
    flop = next(c for c in module["cells"].values() if "Q" in c["connections"] and c["connections"]["Q"][0] in frame)
    new = 1 + max(b for c in module["cells"].values() for pin in c["connections"].values() for b in pin
                  if isinstance(b, int))
    module["cells"]["mutation"] = {"type": "$_NOT_", "connections": {"A": flop["connections"]["D"], "Y": [new]}}
    flop["connections"]["D"] = [new]
    out.write_text(json.dumps(design))
    return out


def _vcd_toggles(path):
    """Bit changes per wire name of a VCD (escaped names unescaped), after its first values."""
    names, last, toggles = {}, {}, {}
    with path.open() as handle:
        for line in handle:
            if line.startswith("$var"):
                _, _, _, ident, name, *_ = line.split()
                names.setdefault(ident, []).append(name.lstrip("\\"))
            elif line and line[0] in "01xzbB" and not line.startswith("$"):
                value, ident = (line[0], line[1:].strip()) if line[0] in "01xz" else line[1:].split()
                if ident in last:
                    width = max(len(value), len(last[ident]))  # a VCD drops leading zeros
                    pairs = zip(last[ident].rjust(width, "0"), value.rjust(width, "0"), strict=True)
                    toggles[ident] = toggles.get(ident, 0) + sum(a != b for a, b in pairs)
                last[ident] = value
    return {name: toggles.get(ident, 0) for ident, wires in names.items() for name in wires}


def _assert_wire_toggles_match_icarus(asic, rtl, vectors, *, wafers):
    from codesign.asic.energy import netlist_bench
    from codesign.asic.gatesim import GateNetlist
    from codesign.hardware.rtl import RtlInfo
    from codesign.hardware.vectors import read_vectors

    icarus = _vcd_toggles(asic / "energy" / "activity.vcd")  # kept by estimate_energy(keep_vcd=True)
    netlist, info = GateNetlist.load(asic / "netlist.json"), RtlInfo.load(rtl)
    calq = read_vectors(vectors)[0]
    _, sim = netlist_bench(netlist, info, calq, n=wafers + info.latency_cycles, n_distinct=len(calq), image=None)
    common = sorted(set(icarus) & set(netlist.names))
    assert len(common) > 1000  # the public wires (Yosys' _123_ names differ between its two writers)
    clocks = [name for name in common if name.split(".")[-1] == "clk"]
    differ = {name: (icarus[name], sim.toggles_of(name)) for name in common
              if name not in clocks and icarus[name] != sim.toggles_of(name)}
    assert not differ, list(differ.items())[:5]
    assert all(icarus[name] - sim.toggles_of(name) == 1 for name in clocks)  # Icarus' last edge, at $finish


@pytest.mark.slow
@pytest.mark.simulator
@pytest.mark.parametrize(("reuse", "tmr", "shape"), [(1, False, "tiny"), (3, True, "published")])
def test_reconfigurable_core_runs_two_weight_sets(tmp_path, capsys, real_dir, reuse, tmr, shape):
    """Both weight sets bit-exact through one build; with a reuse factor the wafers come one per R cycles
    (set B with random idle cycles too), R = 3 leaving the last multiplier of each 9-tap accumulator idle.
    R = 1 on a tiny encoder: the published shape at R = 1 (3,016 multipliers) took minutes to compile."""
    from codesign.cli import main
    from codesign.models.store import load_encoder

    models = [tmp_path / "a" / "model", tmp_path / "b" / "model"]
    for seed, folder in ((1, models[0].parent), (2, models[1].parent)):
        if shape == "tiny":
            _tiny_model(folder, seed=seed)
        else:
            assert main(["model", "init", "--seed", str(seed), "--out", str(folder / "model")]) == 0
    assert main(["asic", "verify", "--model-a", str(models[0]), "--model-b", str(models[1]),
                 "--n-wafers", "300", "--reuse", str(reuse), *(["--tmr"] if tmr else []),
                 "--out", str(tmp_path / "work")]) == 0
    assert "weight sets A and B bit-exact on 430 vectors each" in capsys.readouterr().out
    images = [int((tmp_path / "work" / f"image_{t}.hex").read_text(), 16) for t in "AB"]
    assert images[0] != images[1]
    rtl = json.loads((tmp_path / "work" / "rtl" / "rtl.json").read_text())
    model, _ = load_encoder(models[0])
    assert rtl["config_bits"] == 6 * sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    if shape == "published":
        assert rtl["config_bits"] == 2144 * 6 == 12864  # the published ECON-T configuration size
    assert rtl["initiation_interval"] == reuse and rtl["clock_period_ns"] == pytest.approx(25 / reuse)
    assert rtl["tmr"] == tmr and rtl["latency_cycles"] == 1 + (2 * reuse + 1) + 1


@pytest.mark.parametrize("reuse", [1, 2, 3, 4, 8])
def test_reuse_factor_shares_the_multipliers_by_output(reuse):
    """Each layer computes ceil(n / R) outputs per cycle: the convolution's slot q takes positions qR .. qR +
    R - 1 (row-major on the 4 x 4 grid) with one multiplier per filter and per tap that any of them has
    inside the 8 x 8 image; the dense layer's slot holds one multiplier per input. At R = 1: 968
    convolution and 2,048 dense products of the published shape."""
    import re

    from codesign.hardware.reconfig import core_latency, core_verilog
    from codesign.models.encoder import EncoderConfig

    text = core_verilog(EncoderConfig(), reuse=reuse)
    conv = len(re.findall(r"econt_reconfig_mul #\(.*\) u_pc", text))
    dense = len(re.findall(r"econt_reconfig_mul #\(.*\) u_pd", text))
    slots = [range(q, min(q + reuse, 16)) for q in range(0, 16, reuse)]
    taps = [sum(any(2 * (pos // 4) + ky < 8 and 2 * (pos % 4) + kx < 8 for pos in slot)
                for ky in range(3) for kx in range(3)) for slot in slots]
    assert conv == 8 * sum(taps) and dense == -(-16 // reuse) * 128
    if reuse == 1:
        assert (conv, dense) == (968, 2048)
    assert core_latency(reuse) == 2 * reuse + 1 and ("input  wire start" in text) == (reuse > 1)
    with pytest.raises(ValueError, match="reuse factor"):
        core_verilog(EncoderConfig(), reuse=0)


@pytest.mark.slow
@pytest.mark.simulator
def test_tmr_masks_every_upset_that_breaks_the_plain_design(tmp_path, capsys, real_dir):
    """On a tiny encoder (two Verilator builds of the published shape took minutes; the TMR voters and the
    upset injection do not depend on the core's size)."""
    from codesign.cli import main

    model = _tiny_model(tmp_path)
    assert main(["asic", "faults", "--model", str(model), "--faults", "1000", "--n-wafers", "300",
                 "--out", str(tmp_path / "work")]) == 0
    reports = json.loads((tmp_path / "work" / "fault_campaign.json").read_text())
    assert reports["tmr"]["injections"] == reports["no_tmr"]["injections"] == 1000
    assert reports["tmr"]["wrong_frames"] == 0
    assert reports["no_tmr"]["wrong_frames"] > 100


@pytest.mark.slow
def test_liberty_flow_maps_and_times_with_opensta(tmp_path, capsys):
    """LIBERTY=... maps a tiny encoder to library cells (a toy library with timing tables, tests/data) and
    OpenSTA times it against the 25 ns clock."""
    from codesign.cli import main

    assert main(["rtl", "--model", str(_tiny_model(tmp_path)), "--out", str(tmp_path / "rtl")]) == 0
    lib = Path(__file__).parent / "data" / "toy65.lib"
    assert main(["asic", "synth", "--rtl", str(tmp_path / "rtl"), "--out", str(tmp_path / "asic"),
                 "--liberty", str(lib)]) == 0
    report = json.loads((tmp_path / "asic" / "asic_report.json").read_text())
    assert report["cells"] > 1000 and report["library_area_um2"] > report["cells"]
    timing = report["timing"]
    if shutil.which("sta") is None:
        assert timing["status"].startswith("skipped: OpenSTA")
        pytest.skip("OpenSTA not installed (apt-get install opensta); mapping checked")
    assert timing["status"] == "ok" and timing["meets_timing"] and 40 < timing["fmax_mhz"] < 5000
    assert "OpenSTA: worst setup slack" in capsys.readouterr().out
    # issue 33, item 6: OpenSTA times against the RTL's own SDC (40 % of 25 ns outside each port, 10 % margin)
    log = (tmp_path / "asic" / "sta.log").read_text()
    assert re.search(r"10\.000\s+[\d.]+ [\^v] (input|output) external delay", log), log[-2000:]
    assert re.search(r"-2\.500\s+[\d.]+\s+clock uncertainty", log)


def test_flip_bits_inverts_register_bits_in_twos_complement():
    from codesign.asic.upsets import flip_bits

    words = np.array([0, 5, -32, 31])
    assert flip_bits(words, 6, np.array([5])).tolist() == [-32, 5, -32, 31]  # sign bit of word 0
    assert flip_bits(words, 6, np.array([6, 23])).tolist() == [0, 4, -32, -1]  # bit 0 of word 1, bit 5 of 3
    twice = flip_bits(flip_bits(words, 6, np.array([7, 13])), 6, np.array([7, 13]))
    assert twice.tolist() == words.tolist()


def test_register_words_load_back_into_the_model():
    from codesign.asic.upsets import flip_bits, set_register_words
    from codesign.hardware.reconfig import register_words
    from codesign.models.encoder import EncoderConfig, build_encoder

    cfg = EncoderConfig()
    model = build_encoder(cfg, seed=3)
    words = register_words(model, cfg)
    flipped = flip_bits(words, cfg.weight_bits, np.array([0, 700, 12_000]))
    set_register_words(model, cfg, flipped)
    assert np.array_equal(register_words(model, cfg), flipped)
    set_register_words(model, cfg, words)
    assert np.array_equal(register_words(model, cfg), words)


def test_variant_names_are_checked_and_shared_with_the_cli(tmp_path):
    from codesign.cli import build_parser
    from codesign.hardware.variants import ASIC_DEFAULT_VARIANTS, DEFAULT_VARIANTS, parse_variant, variant_rtl

    for bad in ("tmr", "fixed_r2", "reconfig_r1", "reconfig_r0", "reconfig_tmr_rx"):
        with pytest.raises(ValueError, match=f"unknown design variant '{bad}'"):
            variant_rtl(tmp_path, tmp_path, tmp_path, variants=("fixed", bad))
    assert parse_variant("reconfig_tmr_r4") == parse_variant("reconfig_tmr_r4").__class__("reconfig_tmr_r4", True,
                                                                                          True, 4)
    args = build_parser().parse_args(["fpga", "flow", "--model", "m", "--rtl", "r", "--out", "o"])
    assert tuple(args.variants) == DEFAULT_VARIANTS
    # make asic: only what meets the chip's targets by default (issue 33, item 11: R = 1 took 44 minutes)
    args = build_parser().parse_args(["asic", "flow", "--model", "m", "--rtl", "r", "--vectors", "v", "--out", "o"])
    assert tuple(args.variants) == ASIC_DEFAULT_VARIANTS == ("fixed", "reconfig_tmr_r4")
    args = build_parser().parse_args(["asic", "flow", "--model", "m", "--rtl", "r", "--vectors", "v", "--out", "o",
                                      "--variants", "fixed", "reconfig_r2"])
    assert args.variants == ["fixed", "reconfig_r2"]


@pytest.mark.slow
def test_ecp5_place_and_route_reports_fmax(tmp_path):
    """`codesign fpga pnr` on a tiny encoder pipelined for an FPGA: synth_ecp5 + nextpnr route it;
    utilisation comes from nextpnr (LUT4s including the carry cells' halves), Fmax is a real timing result and
    meets 40 MHz at speed grade 6 (58 MHz with nextpnr's seed 1; the one-stage conversion alone takes 30 ns)."""
    from codesign.cli import main
    from codesign.fpga.synth import ecp5_logic_cells

    model, rtl, out = _tiny_model(tmp_path, conv_filters=1, latent_dim=2), tmp_path / "rtl", tmp_path / "ecp5"
    assert main(["rtl", "--model", str(model), "--out", str(rtl), "--pipeline", "fpga"]) == 0
    assert main(["fpga", "pnr", "--rtl", str(rtl), "--out", str(out), "--device", "45k"]) == 0
    report = json.loads((out / "ecp5_report.json").read_text())
    assert report["status"] == "routed" and report["fits"]
    assert report["LUT4"] == report["utilization"]["TRELLIS_COMB"]["used"] <= 43848
    assert report["fmax_mhz"] >= 40 and report["meets_timing"], report["critical_path"]
    assert report["critical_path"].startswith("dut.") and "Critical path" in (out / "ecp5_report.md").read_text()
    assert ecp5_logic_cells({"LUT4": 10, "CCU2C": 3, "TRELLIS_FF": 7}) == 16
    # another seed of the same netlist: placed again without Yosys, the same cells (routed without the
    # timing-driven rip-up, which the report records)
    again = tmp_path / "ecp5_seed2"
    assert main(["fpga", "pnr", "--rtl", str(rtl), "--out", str(again), "--device", "45k", "--seed", "2",
                 "--netlist-from", str(out), "--no-timing-ripup"]) == 0
    second = json.loads((again / "ecp5_report.json").read_text())
    assert not (again / "yosys.log").exists() and second["status"] == "routed" and second["meta"]["seed"] == 2
    assert report["meta"]["timing_ripup"] and not second["meta"]["timing_ripup"]
    assert (second["LUT4"], second["FF"]) == (report["LUT4"], report["FF"])


def test_ecp5_router_is_checked(tmp_path, capsys):
    """`--router` names one of nextpnr's routers; anything else is refused before Yosys runs."""
    from codesign.cli import main
    from codesign.fpga.synth import place_and_route_ecp5

    with pytest.raises(SystemExit) as err:
        main(["fpga", "pnr", "--rtl", str(tmp_path), "--out", str(tmp_path / "o"), "--router", "router3"])
    assert err.value.code == 2 and "--router" in capsys.readouterr().err
    with pytest.raises(ValueError, match="router"):
        place_and_route_ecp5(tmp_path, tmp_path / "o", router="router3")
    assert not (tmp_path / "o").exists()


def test_a_netlist_is_placed_again_only_for_its_own_verilog(tmp_path):
    """`--netlist-from` takes an earlier place and route's netlist only if it was made from the same Verilog in
    the same shell; otherwise (or with no report there) exit 2, naming the folder, before nextpnr runs."""
    from codesign.cli import main

    model, rtl = _tiny_model(tmp_path, conv_filters=1, latent_dim=2), tmp_path / "rtl"
    assert main(["rtl", "--model", str(model), "--out", str(rtl), "--pipeline", "fpga"]) == 0
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    args = ["fpga", "pnr", "--rtl", str(rtl), "--out", str(tmp_path / "o"), "--netlist-from", str(earlier)]
    assert main(args) == 2  # no report there
    (earlier / "ecp5_report.json").write_text(json.dumps({"meta": {"rtl_sha256": "0" * 64}}))
    (earlier / "ecp5_shell.v").write_text("module ecp5_shell; endmodule\n")
    assert main(args) == 2  # another design's
    assert not (tmp_path / "o" / "ecp5_report.json").exists()


def test_an_unrouted_design_reports_how_far_routing_got(tmp_path, monkeypatch):
    """A place and route stopped by its timeout says where nextpnr was (router2's overused wires) and keeps
    the placement's Fmax estimate, read from the log nextpnr left."""
    from codesign.fpga import synth
    from codesign.tools import ToolTimeout

    commands = []

    def stopped(cmd, cwd, log, **options):
        commands.append(cmd)
        Path(log).write_text("Info: Max frequency for clock 'clk': 53.44 MHz (PASS at 40.00 MHz)\n"
                             "Info:     iter=10 wires=647272 overused=8449 overuse=8569 archfail=NA\n")
        raise ToolTimeout(f"{cmd[0]} timed out", options["timeout"])

    monkeypatch.setattr(synth, "require_in_env", lambda tool, hint: tool)
    monkeypatch.setattr(synth, "run_tool", stopped)
    for ripup in (True, False):
        fields = synth._route(tmp_path, device="85k", package="CABGA381", speed=6, target=40.0, seed=1,
                              pnr_timeout=60, threads=1, router="router2", timing_ripup=ripup)
        assert fields["status"].startswith("place and route timed out after 60 s at router2 iteration 10, 8449 "
                                           "wires overused; log ")
        assert fields["placed_fmax_estimate_mhz"] == 53.44
    assert ["--tmg-ripup" in cmd for cmd in commands] == [True, False]  # nextpnr's timing-driven rip-up


def test_econt_i2c_registers_read_back_into_the_weights(tmp_path):
    """`asic config --format econt-i2c`: 12 registers of 1,072 bits, read back the way the chip's spec
    describes (each value prepended as 1,072 binary digits; element i of a tensor at offset + 6i, 6-bit two's
    complement with 5 fractional bits), equal the encoder's quantized weights in Keras order."""
    from codesign.cli import main

    model_dir = tmp_path / "model"
    assert main(["model", "init", "--config", "models/econt_5elink_seeded.yaml", "--seed", "4",
                 "--out", str(model_dir)]) == 0
    out = tmp_path / "image.hex"
    assert main(["asic", "config", "--model", str(model_dir), "--out", str(out), "--format", "econt-i2c"]) == 0
    values = (tmp_path / "image.hex.i2c.csv").read_text().strip().split(",")
    assert len(values) == 12
    bits = ""
    for value in values:  # value k is prepended: value 0 ends up least significant
        bits = format(int(value, 16), "01072b") + bits
    image = int(bits, 2)
    assert image == int(out.read_text(), 16)

    from codesign.models.store import load_encoder

    model, _ = load_encoder(model_dir)
    conv, dense = model.get_layer("conv"), model.get_layer("latent")
    for offset, tensor in ((0, conv.qkernel), (432, conv.qbias), (480, dense.qkernel), (12_768, dense.qbias)):
        expected = np.asarray(tensor, dtype=np.float64).ravel()
        raw = np.array([(image >> (offset + 6 * i)) & 63 for i in range(expected.size)])
        np.testing.assert_array_equal(np.where(raw >= 32, raw - 64, raw) / 32, expected)


def test_i2c_registers_invert_and_refuse_other_shapes():
    from codesign.hardware.reconfig import check_i2c_shape, i2c_registers, image_from_i2c
    from codesign.models.encoder import EncoderConfig

    image = int.from_bytes(np.random.default_rng(0).bytes(12_864 // 8), "little")
    assert image_from_i2c(i2c_registers(image)) == image
    check_i2c_shape(EncoderConfig())
    with pytest.raises(ValueError, match="published encoder shape"):
        check_i2c_shape(EncoderConfig(conv_filters=4))


def test_energy_report_is_typed_and_keeps_the_json_keys():
    from codesign.asic.energy import EnergyReport

    r = EnergyReport(wafers=10, toggles=1000, fj_per_toggle=5.0, flip_flops=100, clock_cycles_per_inference=4,
                     simulator="verilator")
    assert r.toggles_per_wafer == 100 and r.signal_nJ_per_inference == pytest.approx(5e-4)
    assert r.clock_nJ_per_inference == r.ungated_clock_nJ_per_inference == pytest.approx(100 * 4 * 2.0 * 1e-6)
    assert r.power_mW_at_40MHz == pytest.approx(r.energy_nJ_per_inference * 40)
    assert set(r.to_dict()) == {"wafers", "toggles", "toggles_per_wafer", "fj_per_toggle", "signal_nJ_per_inference",
                                "flip_flops", "clock_cycles_per_inference", "fj_per_flip_flop_clock_cycle",
                                "clock_pins_per_cycle", "clock_nJ_per_inference", "ungated_clock_nJ_per_inference",
                                "simulator", "energy_nJ_per_inference", "power_mW_at_40MHz"}
    gated = dataclasses.replace(r, clock_pins_per_cycle=25.0)  # measured: a quarter of the pins switch
    assert gated.clock_nJ_per_inference == pytest.approx(r.clock_nJ_per_inference / 4)
    assert gated.ungated_clock_nJ_per_inference == r.ungated_clock_nJ_per_inference


def test_asic_summary_says_the_published_figures_are_the_autoencoder_blocks():
    """Issue 33, item 9: 3.6 mm2 and 2.4 nJ are the ECON-T autoencoder block's (converter, encoder, I2C), not
    the whole chip's."""
    from codesign.asic.flow import asic_summary

    text = asic_summary({}).markdown(Path("."))
    assert "autoencoder block's (input converter, encoder and I2C weight registers; not the whole chip)" in text
    assert "whole ECON-T chip" not in text
