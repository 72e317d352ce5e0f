"""The generated top and sparse selector pass `verilator --lint-only -Wall` with zero warnings, for every
eLink count, both frames, both sparse cell codings and the reconfigurable core's port set (issue 16). The
encoder core is a stub with the same ports (da4ml's own cores lint clean: tests/test_api.py); the
reconfigurable core is linted whole."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from codesign.data.arrange import PIXEL_MASK, TC_OF_PIXEL
from codesign.hardware.rtl import PIPELINES, Pipelining
from codesign.hardware.sparse_select import sparse_sources
from codesign.hardware.topgen import DELAY_MODULE, TopSpec, convert_verilog, top_verilog
from codesign.hardware.verilog import library_source
from codesign.models.encoder import LATENT_BITS_BY_ELINKS
from codesign.models.frame import FrameFormat
from codesign.tools import ToolNotFoundError, verilator_env

STUB = """`default_nettype none
module stub_core (input wire clk, input wire [{i}:0] model_inp, output reg [{o}:0] model_out{cfg});
    /* verilator lint_off UNUSEDSIGNAL */
    wire [{i}:0] unused = model_inp;
    /* verilator lint_on UNUSEDSIGNAL */
    always @(posedge clk) model_out <= {{{n}{{model_inp[0]}}}};{cfg_body}
endmodule
`default_nettype wire
"""
CFG_PORTS = ", input wire cfg_en, input wire cfg_in, output wire cfg_out"
CFG_BODY = """
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_cfg = cfg_en;
    /* verilator lint_on UNUSEDSIGNAL */
    assign cfg_out = cfg_in;"""

CASES = [(e, None, 8, False, {}) for e in sorted(LATENT_BITS_BY_ELINKS)] + [
    (5, None, 8, False, {"conversion_stages": 2}),  # the conversion in two stages, BX_CNT delayed to match
    (4, None, 7, False, {"conversion_stages": 3}),  # in three
    (2, 7, 6, False, {}),  # hybrid, addresses
    (2, 7, 6, False, {"selector_stages": 2}),  # hybrid, addresses, pipelined selector
    (5, 20, 8, False, {}),  # hybrid, 48-bit map
    (4, 19, 7, False, {}),  # hybrid, map with 7-bit values
    (5, 31, "charge", False, {}),  # hybrid, the chip's 4E3M words from the CALQ, a map and the padding bits
    # the same pipelined for an FPGA (clocked selection and by-TC networks, two-stage conversion)
    (5, 31, "charge", False, {"selector_stages": 2, "conversion_stages": 3}),
    (5, 31, "charge", False, {"selector_stages": 5}),  # more than the core's spare cycles: the latents wait
    (5, None, 8, True, {}),  # reconfigurable core's ports
]


def _format(elinks: int, occupancy: int | None, value_bits: int | str) -> FrameFormat:
    """``value_bits`` "charge": charge cells."""
    charge = value_bits == "charge"
    return FrameFormat(16, LATENT_BITS_BY_ELINKS[elinks], elinks, occupancy is not None,
                       8 if charge else int(value_bits), "charge" if charge else "input")


@pytest.mark.parametrize(("elinks", "occupancy", "value_bits", "config_port", "pipelining"), CASES)
def test_generated_hdl_has_no_lint_warnings(tmp_path, elinks, occupancy, value_bits, config_port, pipelining):
    try:
        env = {**os.environ, **verilator_env()}
    except ToolNotFoundError as err:
        pytest.skip(str(err))
    fmt = _format(elinks, occupancy, value_bits)
    mask, tcs = PIXEL_MASK["8x8"], TC_OF_PIXEL["8x8"]
    spec = TopSpec(core_module="stub_core", core_latency=3, pixel_tc=[int(t) if m else None for t, m in
                   zip(tcs, mask, strict=True)], core_input_bits=8, frame=fmt, config_port=config_port,
                   sparse_max_occupancy=occupancy, **pipelining)
    files = {"econt_top.v": top_verilog(spec),
             "econt_convert.v": convert_verilog(spec.n_tc, spec.calq_bits, charges=fmt.cell_coding.charge,
                                                stages=spec.conversion_stages),
             f"{DELAY_MODULE}.v": library_source(DELAY_MODULE)}
    if occupancy is not None:
        selector = sparse_sources(spec.n_tc, fmt.cell_coding, occupancy, stages=spec.selector_stages)
        files.update((f"{module}.v", text) for module, text in selector.items())
    n_out = 16 * fmt.latent_bits
    files["stub_core.v"] = STUB.format(i=len(spec.pixel_tc) * 8 - 1, o=n_out - 1, n=n_out,
                                       cfg=CFG_PORTS if config_port else "", cfg_body=CFG_BODY if config_port else "")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", "econt_top", *sorted(files)],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr[:3000]
    assert files["econt_top.v"].startswith("`timescale 1ns / 1ps\n`default_nettype none")
    for name in ("econt_top.v", "econt_convert.v"):  # a loop variable per always block, none shared
        lines = files[name].splitlines()
        for k, line in enumerate(lines):
            if line.lstrip().startswith("integer"):
                assert re.fullmatch(r"    always @\* begin : \w+", lines[k - 1]), (name, line)


@pytest.mark.parametrize(("elinks", "occupancy", "value_bits", "config_port", "pipelining"), CASES)
def test_constraints_name_every_port_of_the_top(elinks, occupancy, value_bits, config_port, pipelining):
    """econt_top.sdc/.xdc constrain exactly the top's ports: the clock, and a delay on every other one."""
    from codesign.hardware.rtl import top_constraints

    fmt = _format(elinks, occupancy, value_bits)
    mask, tcs = PIXEL_MASK["8x8"], TC_OF_PIXEL["8x8"]
    spec = TopSpec(core_module="stub_core", core_latency=3, pixel_tc=[int(t) if m else None for t, m in
                   zip(tcs, mask, strict=True)], core_input_bits=8, frame=fmt, config_port=config_port,
                   sparse_max_occupancy=occupancy)
    header = top_verilog(spec).split(");")[0]
    ports = set(re.findall(r"(?:input|output)\s+(?:wire|reg)\s+(?:\[[^\]]+\]\s+)?(\w+)", header))
    text = top_constraints(spec, 25.0)
    constrained = set(re.findall(r"get_ports \{(\w+)", text))
    assert constrained == ports and "create_clock -period $clock_period -name clk [get_ports {clk}]" in text
    for port in ports - {"clk"}:
        delays = re.findall(rf"set_(?:input|output)_delay -clock clk -(max|min) .* \[get_ports \{{{port}\b", text)
        assert sorted(delays) == ["max", "min"], port


@pytest.mark.parametrize(("reuse", "tmr"), [(1, False), (2, True)])
def test_reconfigurable_rtl_has_no_lint_warnings(tmp_path, reuse, tmr):
    """The run-time reconfigurable core (every sum term sign-extended to its accumulator) with the top."""
    from codesign.hardware.rtl import lint_rtl, write_reconfigurable_rtl
    from codesign.models.encoder import EncoderConfig

    try:
        verilator_env()
    except ToolNotFoundError as err:
        pytest.skip(str(err))
    write_reconfigurable_rtl(EncoderConfig(conv_filters=2), tmp_path / "rtl", tmr=tmr, reuse=reuse)
    assert lint_rtl(tmp_path / "rtl") == []
    src = tmp_path / "rtl" / "src"
    core = (src / "econt_reconfig_core.v").read_text()
    assert core.startswith("`timescale 1ns / 1ps\n`default_nettype none") and core.count("endmodule") == 1
    library = {"econt_reconfig_mul", *(["econt_cfg_copy"] if tmr else [])}
    assert {p.stem for p in src.glob("*.v")} == {"econt_top", "econt_convert", "econt_reconfig_core", "econt_delay",
                                                 *library}
    assert all((src / f"{m}.v").read_text() == library_source(m) for m in (*library, "econt_delay"))


def test_library_modules_lint_clean_and_are_packaged():
    """Each static module of codesign/hardware/rtl_lib alone under -Wall; the wheel ships them."""
    import tomllib

    from codesign.hardware.verilog import RTL_LIB

    try:
        env = {**os.environ, **verilator_env()}
    except ToolNotFoundError as err:
        pytest.skip(str(err))
    modules = sorted(RTL_LIB.glob("*.v"))
    assert {p.stem for p in modules} == {"econt_delay", "econt_reconfig_mul", "econt_cfg_copy"}
    for path in modules:
        proc = subprocess.run(["verilator", "--lint-only", "-Wall", path.name], cwd=RTL_LIB, env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0 and "%Warning" not in proc.stderr, (path.name, proc.stderr[:2000])
        assert f"module {path.stem} " in path.read_text()
    package_data = tomllib.loads((RTL_LIB.parents[2] / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "hardware/rtl_lib/*.v" in package_data["package-data"]["codesign"]
    with pytest.raises(ValueError, match="econt_nothing: no such module in codesign's RTL library"):
        library_source("econt_nothing")


def test_pipelining_presets_and_their_checks():
    assert Pipelining.of("asic") == Pipelining() == PIPELINES["asic"]
    fpga = Pipelining.of("fpga")
    assert (fpga.latency_cutoff, fpga.selector_stages, fpga.conversion_stages, fpga.dense_by_position) == \
        (2.0, None, 3, True)
    assert Pipelining.of(fpga) is fpga
    with pytest.raises(ValueError, match="unknown pipelining preset 'fast': choose from asic, fpga"):
        Pipelining.of("fast")
    for bad, field in (({"conversion_stages": 4}, "conversion_stages"), ({"selector_stages": 0}, "selector_stages"),
                       ({"latency_cutoff": 0.0}, "latency_cutoff")):
        with pytest.raises(ValueError, match=field):
            Pipelining(**bad)
    fmt = _format(5, 31, "charge")
    mask, tcs = PIXEL_MASK["8x8"], TC_OF_PIXEL["8x8"]
    pixel_tc = [int(t) if m else None for t, m in zip(tcs, mask, strict=True)]
    spans = [TopSpec(core_module="stub_core", core_latency=3, pixel_tc=pixel_tc, core_input_bits=8, frame=fmt,
                     sparse_max_occupancy=31, selector_stages=stages, conversion_stages=2) for stages in (1, 2, 5)]
    # a selector longer than the core's spare cycles delays the latents; the side word waits the rest
    assert [(s.latents_delay, s.side_delay, s.latency) for s in spans] == [(0, 2, 6), (0, 1, 6), (3, 1, 9)]
