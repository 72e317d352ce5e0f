`timescale 1ns / 1ps
`default_nettype none
// codesign RTL library (codesign/hardware/rtl_lib), copied unchanged into every RTL folder that uses it.
// One unsigned-by-signed product of the reconfigurable core: every product instantiates this module, so a
// hierarchical synthesis maps it once per operand width instead of optimising thousands of flattened copies.
module econt_reconfig_mul #(
    parameter A = 8,  // activation bits
    parameter B = 6   // weight bits
) (
    input  wire [A - 1:0] a,         // unsigned activation
    input  wire signed [B - 1:0] b,  // signed weight
    output wire signed [A + B:0] p
);
    assign p = $signed({1'b0, a}) * b;
endmodule
`default_nettype wire
