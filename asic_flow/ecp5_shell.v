// Pin-limited shell for place and route of {top} on an ECP5 (filled in by codesign/fpga/synth.py).
// The design has more I/O bits than the package has pins, so the CALQ bus is loaded through a shift
// register from one pin and the frame leaves as the parity of a register, which keeps every output bit
// live; the shell adds {shell_ffs} flip-flops and a parity tree to the counts.
module ecp5_shell (
    input  wire clk, input wire rst, input wire valid_in, input wire din,
    output wire valid_out, output wire dout{cfg_ports}
);
    reg [{calq_width} - 1:0] calq_sr;
    always @(posedge clk) calq_sr <= {{calq_sr[{calq_width} - 2:0], din}};
    wire [{frame_bits} - 1:0] frame;
    {top} dut (.clk(clk), .rst(rst), .valid_in(valid_in), .calq(calq_sr), .valid_out(valid_out),
               .frame(frame){cfg_connections});
    reg [{frame_bits} - 1:0] frame_r;
    reg parity;  // registered too, so that no path through the parity tree reaches a pin
    always @(posedge clk) begin
        frame_r <= frame;
        parity <= ^frame_r;
    end
    assign dout = parity;
endmodule
