"""cocotb verification of the RTL top: testbench (``testbench.py``) and launcher (``runner.py``)."""
