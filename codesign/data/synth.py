"""Synthetic HGCAL module data: physically motivated deposits in CALQ units (35 counts = 1 MIP_T).

Each wafer (one module, one bunch crossing) is the sum of
- pileup: a Poisson number of soft deposits per TC with log-normal energies; the density varies from
  wafer to wafer (log-normal: modules at different radii and layers see very different fluxes) and has a
  linear gradient across the module (the eta dependence);
- electromagnetic showers: a narrow core plus a wider halo (two radial exponentials), integrated over
  the real TC cells (7 sample points per hexagonal cell), energies from a power-law spectrum;
- hadronic showers: the same profile, broader, split into a random number of sub-clusters;
- sampling fluctuations (gamma-distributed cell energies around the expected shower deposit),
  electronic noise, rounding to integer counts, zero suppression with a smeared turn-on (the real sets
  rise from the 2-count floor to a peak at a few counts), and saturation.

Wafers lighter than ``min_wafer_sum`` (all-zero ones at least) are redrawn, as the real sets contain
only selected modules (the high-pileup set has no wafer below 6 counts). The same config, ``n`` and seed
give the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from codesign.config import load_config
from codesign.data.geometry import N_TC, TC_PITCH_CM, module_centre_cm, module_radius_cm, tc_centres_cm
from codesign.progress import bar as progress_bar

PRESETS = ("highpu", "ttbar")
_BATCH = 4096


@dataclass(frozen=True)
class PileupConfig:
    density_median: float  # mean number of soft deposits per TC per bunch crossing (median over wafers)
    density_log_sigma: float  # wafer-to-wafer spread of that density (sigma of its logarithm)
    density_max: float  # densest modules (innermost radius, shower-maximum layers)
    gradient: float  # relative density change from the module centre to its edge
    deposit_median: float  # CALQ counts of one soft deposit (median)
    deposit_log_sigma: float

    def __post_init__(self) -> None:
        if self.density_median < 0 or self.deposit_median <= 0 or not 0 <= self.gradient < 1:
            raise ValueError("pileup: densities and deposits must be positive, gradient in [0, 1)")


@dataclass(frozen=True)
class ShowerConfig:
    rate: float  # mean number of showers touching one module per bunch crossing
    energy_min: float  # CALQ counts
    energy_max: float
    spectrum_index: float  # dN/dE ~ E**-index
    core_radius_cm: float
    core_fraction: float
    halo_radius_cm: float
    subclusters: float  # mean number of extra sub-clusters (hadronic fluctuations); 0 for a single core
    subcluster_spread_cm: float
    margin_cm: float  # shower axes fall up to this far outside the outermost TC centres

    def __post_init__(self) -> None:
        if not 0 < self.energy_min < self.energy_max:
            raise ValueError("shower: need 0 < energy_min < energy_max")
        if not 0 <= self.core_fraction <= 1 or self.core_radius_cm <= 0 or self.halo_radius_cm <= 0:
            raise ValueError("shower: core_fraction in [0, 1] and positive radii required")


@dataclass(frozen=True)
class SynthConfig:
    name: str
    description: str
    pileup: PileupConfig
    em: ShowerConfig
    hadronic: ShowerConfig
    sampling_scale: float  # CALQ counts; variance of a cell's shower energy = scale * mean
    noise_sigma: float  # CALQ counts of electronic noise per TC
    threshold: int  # hard floor: no cell reads fewer counts than this (and above zero)
    zs_turn_on: float  # counts at which zero suppression keeps half of the cells
    zs_width: float  # width of that turn-on (noise on the comparison), counts
    saturation: int  # largest CALQ value (width of the CALQ word)
    min_wafer_sum: int  # selection of the reference sample: lighter wafers (all-zero ones too) are redrawn


def preset_path(name: str) -> Path:
    if name not in PRESETS:
        raise ValueError(f"unknown synthetic preset {name!r}; choose one of {list(PRESETS)}")
    return Path(str(resources.files("codesign") / "presets" / f"synth_{name}.yaml"))


def load_synth_config(preset_or_path: str | Path) -> SynthConfig:
    """A preset name (``highpu``, ``ttbar``) or the path of a YAML file with a full ``SynthConfig``."""
    if str(preset_or_path) in PRESETS:
        preset_or_path = preset_path(str(preset_or_path))
    elif not Path(preset_or_path).is_file():
        raise ValueError(f"{preset_or_path!r} is neither a preset (choose one of {list(PRESETS)}) nor a YAML file")
    return load_config(SynthConfig, preset_or_path)


def _cell_sample_points() -> np.ndarray:
    """(48 * 7, 2): each TC cell sampled at its centre and six points on a hexagon of radius pitch/3."""
    angles = np.deg2rad(np.arange(6) * 60.0)
    offsets = np.vstack([[0.0, 0.0], np.c_[np.cos(angles), np.sin(angles)] * TC_PITCH_CM / 3.0])
    return (tc_centres_cm()[:, None, :] + offsets[None, :, :]).reshape(-1, 2)


def _power_law(rng: np.random.Generator, size: tuple[int, ...], cfg: ShowerConfig) -> np.ndarray:
    """Inverse-CDF sampling of dN/dE ~ E**-index between energy_min and energy_max."""
    u = rng.random(size)
    lo, hi, a = cfg.energy_min, cfg.energy_max, 1.0 - cfg.spectrum_index
    if abs(a) < 1e-9:
        return lo * (hi / lo) ** u
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


def _uniform_in_disc(rng: np.random.Generator, size: tuple[int, ...], radius: float) -> np.ndarray:
    r = radius * np.sqrt(rng.random(size))
    phi = rng.random(size) * 2 * np.pi
    return module_centre_cm() + np.stack([r * np.cos(phi), r * np.sin(phi)], axis=-1)


def _cell_fractions(centres: np.ndarray, cfg: ShowerConfig, points: np.ndarray) -> np.ndarray:
    """(m, 48): fraction of a unit shower centred at each of ``centres`` (m, 2) seen by each TC.

    The hottest loop of wafer generation, so it works in place on (m, 336) arrays; each operation is the
    one the plain formula does, in the same order, so the wafers of a seed keep their bits."""
    dx = points[None, :, 0] - centres[:, 0, None]
    dy = points[None, :, 1] - centres[:, 1, None]
    dx *= dx
    dy *= dy
    dx += dy
    r = np.sqrt(dx, out=dx)

    def profile(radius: float) -> np.ndarray:  # exp(-r / radius) / (2 pi radius^2)
        t = np.divide(r, radius)
        np.negative(t, out=t)
        np.exp(t, out=t)
        t /= 2 * np.pi * radius**2
        return t

    density = profile(cfg.core_radius_cm)
    density *= cfg.core_fraction
    halo = profile(cfg.halo_radius_cm)
    halo *= 1 - cfg.core_fraction
    density += halo
    cell_area = TC_PITCH_CM**2 * np.sqrt(3.0) / 2.0
    return density.reshape(len(centres), N_TC, -1).mean(axis=-1) * cell_area


def _shower_energy(rng: np.random.Generator, n: int, cfg: ShowerConfig, points: np.ndarray) -> np.ndarray:
    """(n, 48) expected shower energy per TC for ``n`` wafers."""
    wafer = np.repeat(np.arange(n), rng.poisson(cfg.rate, n))  # one entry per shower
    energy = _power_law(rng, wafer.shape, cfg)
    axis = _uniform_in_disc(rng, wafer.shape, module_radius_cm() + cfg.margin_cm)
    # Each shower splits into 1 + Poisson(subclusters) pieces around its axis sharing its energy.
    n_pieces = 1 + rng.poisson(cfg.subclusters, wafer.shape)
    shower = np.repeat(np.arange(len(wafer)), n_pieces)
    share = rng.exponential(1.0, shower.shape)
    share /= np.bincount(shower, weights=share, minlength=len(wafer))[shower]
    first = np.r_[True, shower[1:] != shower[:-1]]  # the first piece sits on the axis
    offset = rng.normal(0.0, cfg.subcluster_spread_cm, (len(shower), 2)) * ~first[:, None]
    fractions = _cell_fractions(axis[shower] + offset, cfg, points)  # (pieces, 48)
    out = np.zeros((n, N_TC))
    np.add.at(out, wafer[shower], fractions * (share * energy[shower])[:, None])
    return out


def _pileup_energy(rng: np.random.Generator, n: int, cfg: PileupConfig) -> np.ndarray:
    """(n, 48) pileup energy: Poisson deposits per TC with a per-wafer density and gradient."""
    density = np.minimum(cfg.density_median * np.exp(cfg.density_log_sigma * rng.normal(size=n)), cfg.density_max)
    direction = rng.normal(size=(n, 2))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    rel = (tc_centres_cm() - module_centre_cm()) / module_radius_cm()  # (48, 2), |rel| <= 1
    lam = density[:, None] * (1.0 + cfg.gradient * direction @ rel.T)
    counts = rng.poisson(lam)
    deposits = cfg.deposit_median * np.exp(cfg.deposit_log_sigma * rng.normal(size=int(counts.sum())))
    cell = np.repeat(np.arange(n * N_TC), counts.ravel())
    return np.bincount(cell, weights=deposits, minlength=n * N_TC).reshape(n, N_TC)


def _generate_batch(rng: np.random.Generator, n: int, cfg: SynthConfig, points: np.ndarray) -> np.ndarray:
    shower = _shower_energy(rng, n, cfg.em, points) + _shower_energy(rng, n, cfg.hadronic, points)
    # Gamma fluctuations: mean = expected deposit, variance = sampling_scale * mean.
    fluctuated = rng.gamma(np.maximum(shower, 1e-12) / cfg.sampling_scale, cfg.sampling_scale)
    energy = fluctuated + _pileup_energy(rng, n, cfg.pileup) + rng.normal(0.0, cfg.noise_sigma, (n, N_TC))
    calq = np.rint(energy).astype(np.int64)
    suppressed = (calq + rng.normal(0.0, cfg.zs_width, calq.shape) < cfg.zs_turn_on) | (calq < cfg.threshold)
    calq[suppressed] = 0
    return np.minimum(calq, cfg.saturation)


def generate_wafers(cfg: SynthConfig, n: int, seed: int, *, progress: bool = False) -> np.ndarray:
    """``n`` synthetic wafers, (n, 48) int64 CALQ, none below ``min_wafer_sum``; deterministic per seed."""
    if n <= 0:
        raise ValueError(f"number of wafers must be positive, got {n}")
    rng = np.random.default_rng(seed)
    points = _cell_sample_points()
    out = np.empty((n, N_TC), dtype=np.int64)
    filled = 0
    with progress_bar(n, f"synth {cfg.name}", "wafer", shown=progress) as bar:
        while filled < n:
            batch = _generate_batch(rng, _BATCH, cfg, points)
            batch = batch[batch.sum(axis=1) >= max(cfg.min_wafer_sum, 1)][: n - filled]
            out[filled : filled + len(batch)] = batch
            filled += len(batch)
            bar.update(len(batch))
    return out
