# OpenSTA timing of a LIBERTY-mapped netlist, run by codesign/asic/synth.py (static_timing) with its inputs
# in the environment: STA_LIBERTY, STA_NETLIST, STA_TOP, and either STA_SDC (the RTL folder's generated
# constraints: clock, uncertainty, 40 % / 20 % I/O delays) or STA_PERIOD (a part timed alone: the clock only,
# zero external delay). Valid Tcl as it stands: `sta -exit sta.tcl` with those variables set.
read_liberty $::env(STA_LIBERTY)
read_verilog $::env(STA_NETLIST)
link_design $::env(STA_TOP)
if {[info exists ::env(STA_SDC)]} {
  read_sdc $::env(STA_SDC)
} else {
  create_clock -name clk -period $::env(STA_PERIOD) [get_ports clk]
  set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]
  set_output_delay 0 -clock clk [all_outputs]
}
report_checks -path_delay max -digits 3
exit
