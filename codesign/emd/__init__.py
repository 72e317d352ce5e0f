"""Earth Mover's Distance between wafers: exact (POT) and, later, learned (EMD-CNN)."""
