"""Keras building blocks shared by the learned EMD and the autoencoders: the wafer <-> image layers and the
resumable, backed-up fit. Below both in the pipeline, so neither imports the other."""
