"""Where things are: the repository root (models/, asic_flow/, sweeps/ are read relative to it) and the
shared real-data folder beside it. The one place that knows the package's position in the checkout."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ASIC_FLOW_DIR = PROJECT_ROOT / "asic_flow"
MODELS_DIR = PROJECT_ROOT / "models"
SHARED_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "hgcal"  # real data beside the checkout
