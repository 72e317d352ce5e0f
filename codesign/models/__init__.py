"""Models: the quantized on-chip encoder (HGQ2) and, later, decoders and autoencoders."""
