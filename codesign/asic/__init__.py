"""ASIC and FPGA implementation: Yosys synthesis flows (asic_flow/) and their reports."""
