`timescale 1ns / 1ps
`default_nettype none
// codesign RTL library (codesign/hardware/rtl_lib), copied unchanged into every RTL folder that uses it.
// One product of the reconfigurable core, an activation times a weight's magnitude bits (both unsigned; the
// core sums the weights' sign bits apart): every product instantiates this module, so a hierarchical
// synthesis maps it once per operand width instead of optimising thousands of flattened copies.
module econt_reconfig_mul #(
    parameter A = 8,  // activation bits
    parameter B = 5   // weight bits below the sign
) (
    input  wire [A - 1:0] a,
    input  wire [B - 1:0] b,
    output wire [A + B - 1:0] p
);
    assign p = a * b;
endmodule
`default_nettype wire
