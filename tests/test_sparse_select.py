"""The sparse-mode selector: its network against ``best_cells`` in Python, and its generated Verilog (Icarus)
against the golden cells and mode bit on random, tied and corner-case wafers, for both cell codings."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from codesign.data.onchip import INPUT_BITS
from codesign.hardware.sparse_select import ADDRESS_MAX, SPARSE_MODULE, selection_network, sparse_sources
from codesign.models.sparse import CellCoding, best_cells, is_sparse

N_TC = 48


def hostile_inputs(n: int, seed: int) -> np.ndarray:
    """On-chip inputs with many ties and few non-zero cells, plus all-zero, all-255 and all-equal wafers."""
    rng = np.random.default_rng(seed)
    levels = rng.integers(1, 256, (n, 1)) // rng.integers(1, 5, (n, N_TC))  # a few distinct values per wafer
    occupied = rng.random((n, N_TC)) < rng.random((n, 1))
    inputs = np.where(occupied, levels, 0)
    inputs[:4] = [np.zeros(N_TC), np.full(N_TC, 255), np.full(N_TC, 7), np.arange(N_TC)[::-1]]
    return inputs.astype(np.int64)


@pytest.mark.parametrize("n_cells", [1, 4, 6, 9, 12, 20, 48])
def test_selection_network_keeps_the_largest_cells_in_order(n_cells):
    inputs = hostile_inputs(3000, seed=n_cells)
    keys = (inputs << 6) | (ADDRESS_MAX - np.arange(N_TC))
    chosen = selection_network(N_TC, n_cells).apply(keys)
    addresses, values = best_cells(inputs, n_cells)
    np.testing.assert_array_equal(chosen >> 6, values)
    np.testing.assert_array_equal(ADDRESS_MAX - (chosen & ADDRESS_MAX), addresses)


def test_selection_network_is_smaller_than_a_full_sort():
    full = selection_network(N_TC, N_TC)
    sizes = [len(selection_network(N_TC, n).exchanges) for n in (4, 6, 9, 12)]
    assert sizes == sorted(sizes) and sizes[-1] < 0.7 * len(full.exchanges)
    assert selection_network(N_TC, 12).depth <= full.depth


TESTBENCH = """`timescale 1ns / 1ps
module tb;
    reg [{ib}:0] stimulus [0:{last}];
    reg [{cb}:0] expected [0:{last}];
    reg [{ib}:0] inputs;
    reg clk;
    wire sparse;
    wire [{cells_msb}:0] cells;
    integer v, errors;
    {module} dut ({clk_port}.inputs(inputs), .sparse(sparse), .cells(cells));
    initial begin
        $readmemh("stimulus.hex", stimulus);
        $readmemh("expected.hex", expected);
        errors = 0;
        clk = 0;
        // a new wafer every clock; the outputs follow {latency} clocks later
        for (v = 0; v <= {last} + {latency}; v = v + 1) begin
            inputs = stimulus[v <= {last} ? v : {last}];
            #1;
            if (v >= {latency} && {{cells, sparse}} !== expected[v - {latency}]) begin
                errors = errors + 1;
                if (errors <= 5) $display("vector %0d: got %h, expected %h", v - {latency}, {{cells, sparse}},
                                          expected[v - {latency}]);
            end
            #4 clk = 1;
            #5 clk = 0;
        end
        $display("ERRORS %0d", errors);
        $finish;
    end
endmodule
"""


@pytest.mark.parametrize(("coding", "max_occupancy", "stages"), [
    (CellCoding(4, 6, False), 7, 1), (CellCoding(6, 7, False), 14, 3),
    (CellCoding(9, 7, True), 19, 1), (CellCoding(12, 8, True), 23, 2),
    (CellCoding.for_field(54, charge=True), 9, 4), (CellCoding.for_field(150, charge=True), 31, 1),
    (CellCoding.for_field(150, charge=True), 31, 4), (CellCoding.for_field(150, charge=True), 31, 9)])
def test_selector_rtl_matches_the_golden_cells(tmp_path, coding, max_occupancy, stages):
    """The 2- and 5-eLink charge codings (4 cells with addresses, 14 with a map) choose from 7-bit words;
    pipelined selectors (``stages`` > 1) take a wafer every clock and give the same cells."""
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed (make setup)")
    inputs = hostile_inputs(1500, seed=coding.n_cells) >> (INPUT_BITS - coding.source_bits)
    words = coding.pack(*best_cells(inputs, coding.n_cells))
    sparse = is_sparse(inputs, max_occupancy)
    stimulus = [sum(int(x) << (coding.source_bits * i) for i, x in enumerate(row)) for row in inputs]
    (tmp_path / "stimulus.hex").write_text("".join(f"{w:x}\n" for w in stimulus))
    (tmp_path / "expected.hex").write_text("".join(f"{(w << 1) | int(s):x}\n" for w, s in zip(words, sparse,
                                                                                            strict=True)))
    sources = sparse_sources(N_TC, coding, max_occupancy, stages=stages)
    assert ("input  wire clk" in sources[SPARSE_MODULE]) == (stages > 1)
    for module, text in sources.items():
        (tmp_path / f"{module}.v").write_text(text)
    (tmp_path / "tb.v").write_text(TESTBENCH.format(ib=N_TC * coding.source_bits - 1, cb=coding.bits,
                                                    cells_msb=coding.bits - 1, last=len(inputs) - 1,
                                                    module=SPARSE_MODULE, latency=stages - 1,
                                                    clk_port=".clk(clk), " if stages > 1 else ""))
    subprocess.run(["iverilog", "-g2005", "-o", "sim", "tb.v", *(f"{m}.v" for m in sources)], cwd=tmp_path, check=True)
    result = subprocess.run(["vvp", "-n", "sim"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "ERRORS 0" in result.stdout, result.stdout[-2000:]
