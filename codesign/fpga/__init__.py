"""FPGA implementation of an RTL folder: Yosys ``synth_xilinx`` resource counts, Lattice ECP5 place and route
with nextpnr, and the flow behind ``make fpga`` over every design variant."""
