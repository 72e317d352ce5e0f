# OpenSTA timing of a LIBERTY-mapped netlist (filled in by codesign/asic/synth.py): the worst setup path
# against the RTL's clock, inputs and outputs constrained to that clock with zero external delay.
read_liberty {liberty}
read_verilog {netlist}
link_design {top}
create_clock -name clk -period {period} [get_ports clk]
set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]
set_output_delay 0 -clock clk [all_outputs]
report_checks -path_delay max -digits 3
exit
