`timescale 1ns / 1ps
`default_nettype none
// codesign RTL library (codesign/hardware/rtl_lib), copied unchanged into every RTL folder that uses it.
// q = d, CYCLES clock edges later (CYCLES >= 1): a chain of WIDTH-bit registers without reset (what it
// delays travels beside a valid pipeline that has one).
module econt_delay #(
    parameter WIDTH = 1,
    parameter CYCLES = 1
) (
    input  wire clk,
    input  wire [WIDTH - 1:0] d,
    output wire [WIDTH - 1:0] q
);
    reg [WIDTH * CYCLES - 1:0] chain;  // stage s at [WIDTH * s +: WIDTH], stage 0 the newest
    generate
        if (CYCLES == 1) begin : one_stage
            always @(posedge clk) chain <= d;
        end else begin : stages
            always @(posedge clk) chain <= {chain[WIDTH * (CYCLES - 1) - 1:0], d};
        end
    endgenerate
    assign q = chain[WIDTH * CYCLES - 1 -: WIDTH];
endmodule
`default_nettype wire
