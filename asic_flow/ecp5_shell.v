// Pin-limited shell for place and route of {top} on an ECP5 (filled in by codesign/fpga/synth.py).
// The design has more I/O bits than the package has pins, so its {in_port} input is loaded through a shift
// register from one pin and its {out_port} output leaves as the parity of a register, which keeps every output
// bit live; the shell adds {shell_ffs} flip-flops and a parity tree to the counts. The tree is registered after
// each group of {parity_group} bits, so that the shell's own logic never limits the design's clock.
module ecp5_shell (
    input  wire clk, input wire rst, input wire valid_in, input wire din,
    output wire valid_out, output wire dout{cfg_ports}
);
    reg [{in_width} - 1:0] in_sr;
    always @(posedge clk) in_sr <= {{in_sr[{in_width} - 2:0], din}};
    wire [{out_width} - 1:0] out_w;
    {top} dut (.clk(clk), .rst(rst), .valid_in(valid_in), .{in_port}(in_sr), .valid_out(valid_out),
               .{out_port}(out_w){cfg_connections});
    reg [{out_width} - 1:0] out_r;
    reg [{parity_groups} - 1:0] part;  // the parity of each group of {parity_group} output bits
    reg parity;  // registered too, so that no path through the parity tree reaches a pin
    always @(posedge clk) begin
        out_r <= out_w;
{parity_parts}
        parity <= ^part;
    end
    assign dout = parity;
endmodule
