"""From a quantized encoder to verified hardware: HLS (hls4ml), RTL (da4ml + I/O top), vectors, simulation."""
