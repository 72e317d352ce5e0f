`timescale 1ns / 1ps
`default_nettype none
// codesign RTL library (codesign/hardware/rtl_lib), copied unchanged into every RTL folder that uses it.
// One copy of a TMR configuration register per instance: synthesis merges identical flip-flops with
// identical inputs inside a module (it would fold three copies into one), not across module instances.
// public_flat_rw: the upset campaigns flip its bits from the testbench.
module econt_cfg_copy #(
    parameter N = 1
) (
    input  wire clk,
    input  wire en,  // write d: while shifting and when scrubbing (the clock gate's enable)
    input  wire [N - 1:0] d,
    output reg  [N - 1:0] q /*verilator public_flat_rw*/
);
    always @(posedge clk) if (en) q <= d;
endmodule
`default_nettype wire
