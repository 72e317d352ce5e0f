"""A learned back end: where the energy a frame did not send most likely lies, given what it sent.

The non-learned rules of ``codesign.econt.backend`` share a frame's unsent sum evenly, by a prior or by a
fixed Gaussian kernel. ``LearnedPlacement`` learns the weighting on training wafers instead: each cell's
weight is ``exp(bias[cell] + features . coefficients)``, a log-linear model of

- the strongest sent cell seen through Gaussian kernels of width 1, 2 and 4 (EMD units), in the log
  domain (``features``), and the same times the share of the module's energy the frame did not send;
- for a sent cell: that it was sent, its own share (log), and that times the unsent share (the sum may go
  partly onto the sent cells: their addresses are right, the unsent cells' are a guess).

The unsent sum is shared in proportion to the weights (no cap: a sent cell may take more than its bin).
57 numbers per module type and eLink count, fitted by L-BFGS on the exact EMD (POT's dual potentials give
the gradient); deterministic, so the same wafers give the same bits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import minimize

from codesign.data.geometry import N_TC, ground_distance
from codesign.econt.entropy import EntropyCodec, EntropyFrames
from codesign.emd.exact import exact_emd_with_gradient

SIGMAS = (1.0, 2.0, 4.0)
FEATURES = (*(f"log near(sigma {s:g})" for s in SIGMAS), *(f"unsent share x log near(sigma {s:g})" for s in SIGMAS),
            "sent", "sent x log own share", "sent x unsent share")
FLOOR = 1e-3  # the least log share: an unsent cell's, so that a cell far from every sent one keeps a weight
MAX_ITERATIONS = 80


@dataclass(frozen=True)
class LearnedPlacement:
    """The fitted weighting of one system (module type, eLink count): ``bias`` per TC (this project's
    order), one coefficient per ``FEATURES`` entry; ``train_emd``: mean exact EMD on its training wafers."""

    bias: tuple[float, ...]
    coefficients: tuple[float, ...]
    train_emd: float = float("nan")

    def __post_init__(self) -> None:
        if len(self.bias) != N_TC or len(self.coefficients) != len(FEATURES):
            raise ValueError(f"learned placement: {N_TC} biases and {len(FEATURES)} coefficients needed, "
                             f"got {len(self.bias)} and {len(self.coefficients)}")
        if not np.isfinite([*self.bias, *self.coefficients]).all():
            raise ValueError("learned placement: biases and coefficients must be finite")

    def weights(self, sent: np.ndarray, amount: np.ndarray) -> np.ndarray:
        """(n, 48) positive weight of every cell, given the (n, 48) sent reconstruction and the (n,) sum
        left to place."""
        return np.exp(np.asarray(self.bias)[None, :] + features(sent, amount) @ np.asarray(self.coefficients))

    def place(self, sent: np.ndarray, amount: np.ndarray) -> np.ndarray:
        """The (n, 48) reconstruction: ``sent`` plus ``amount`` (clipped at 0) shared by the weights."""
        sent = np.asarray(sent, dtype=np.float64)
        amount = np.maximum(np.asarray(amount, dtype=np.float64), 0.0)
        w = self.weights(sent, amount)
        return sent + amount[:, None] * w / w.sum(axis=1, keepdims=True)

    def to_json(self) -> dict[str, object]:
        return {"bias": [round(b, 6) for b in self.bias], "coefficients": [round(c, 6) for c in self.coefficients],
                "features": list(FEATURES), "train_emd": round(self.train_emd, 6)}

    @classmethod
    def from_json(cls, obj: dict[str, object], where: str) -> LearnedPlacement:
        try:
            if obj.get("features", list(FEATURES)) != list(FEATURES):
                raise ValueError(f"features {obj.get('features')} are not this version's {list(FEATURES)}")
            return cls(tuple(float(b) for b in obj["bias"]),  # type: ignore[attr-defined]
                       tuple(float(c) for c in obj["coefficients"]),  # type: ignore[attr-defined]
                       float(obj.get("train_emd", float("nan"))))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{where}: malformed learned placement ({err})") from None


def _log_kernels() -> np.ndarray:
    """(S, 48, 48) log of a Gaussian of width sigma over the TC distance: -d^2 / (2 sigma^2)."""
    return np.stack([-0.5 * (ground_distance() / s) ** 2 for s in SIGMAS])


def features(sent: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """(n, 48, len(FEATURES)) the model's inputs, in ``FEATURES`` order.

    Everything is in the log domain so that a back end computes it with adders, comparators and small
    tables: a cell's log share is at least log ``FLOOR`` (the unsent cells' value), and "near" is the
    strongest sent cell seen through the kernel, max_j (log share_j - d_ij^2 / 2 sigma^2), not a sum
    (as good on validation, and no multiplier per cell pair)."""
    sent = np.asarray(sent, dtype=np.float64)
    total = sent.sum(axis=1, keepdims=True)
    log_share = np.log(np.maximum(sent / np.where(total > 0, total, 1.0), FLOOR))
    amount = np.maximum(np.asarray(amount, dtype=np.float64), 0.0)[:, None]
    unsent_share = amount / np.maximum(amount + total, 1e-12)
    near = [np.max(log_share[:, None, :] + k[None], axis=2) for k in _log_kernels()]
    is_sent = (sent > 0).astype(np.float64)
    return np.stack([*near, *(f * unsent_share for f in near), is_sent, is_sent * log_share,
                     is_sent * unsent_share], axis=2)


def _loss_and_gradient(theta: np.ndarray, calq: np.ndarray, sent: np.ndarray, amount: np.ndarray,
                       x: np.ndarray, n_jobs: int) -> tuple[float, np.ndarray]:
    """Mean exact EMD of the placement with parameters ``theta`` (bias, coefficients) and its gradient,
    chained from the dual potentials through the normalisation and the softmax-like sharing."""
    w = np.exp(theta[None, :N_TC] + x @ theta[N_TC:])
    share = w / w.sum(axis=1, keepdims=True)
    reco = sent + amount[:, None] * share
    scale = reco.sum(axis=1, keepdims=True)
    unit = reco / np.where(scale > 0, scale, 1.0)
    cost, potential = exact_emd_with_gradient(calq, unit, n_jobs)
    d_reco = (potential - (potential * unit).sum(axis=1, keepdims=True)) / np.where(scale > 0, scale, 1.0)
    d_share = amount[:, None] * d_reco
    d_logit = share * (d_share - (share * d_share).sum(axis=1, keepdims=True))
    grad = np.concatenate([d_logit.sum(axis=0), np.einsum("ni,nif->f", d_logit, x)]) / len(calq)
    return float(cost.mean()), grad


def _fit_logits(calq: np.ndarray, sent: np.ndarray, amount: np.ndarray, prior: np.ndarray, *,
                feature_fn: Callable[[np.ndarray, np.ndarray], np.ndarray], n_features: int,
                max_iterations: int, n_jobs: int = 1) -> tuple[np.ndarray, float]:
    """(bias and coefficients, training mean EMD) of the log-linear weighting with ``feature_fn``'s inputs,
    fitted by L-BFGS from the per-cell ``prior`` (the exact EMDs in ``n_jobs`` processes: the same bits)."""
    calq, sent = np.asarray(calq, dtype=np.float64), np.asarray(sent, dtype=np.float64)
    amount = np.maximum(np.asarray(amount, dtype=np.float64), 0.0)
    # an empty wafer, or a frame that says nothing, has no EMD that the placement could change
    keep = (calq.sum(axis=1) > 0) & (sent.sum(axis=1) + amount > 0)
    calq, sent, amount = calq[keep], sent[keep], amount[keep]
    x = feature_fn(sent, amount)
    theta0 = np.concatenate([np.log(prior), np.zeros(n_features)])
    result = minimize(_loss_and_gradient, theta0, args=(calq, sent, amount, x, n_jobs), jac=True,
                      method="L-BFGS-B", options={"maxiter": max_iterations})
    return result.x, float(result.fun)


def fit_placement(calq: np.ndarray, sent: np.ndarray, amount: np.ndarray, prior: np.ndarray, *,
                  max_iterations: int = MAX_ITERATIONS) -> LearnedPlacement:
    """Fit on training wafers: ``calq`` the (n, 48) truth, ``sent`` what the back end decodes of the frame
    cells, ``amount`` the (n,) sum the frame leaves to place. Starts from the per-cell ``prior``."""
    theta, loss = _fit_logits(calq, sent, amount, prior, feature_fn=features, n_features=len(FEATURES),
                              max_iterations=max_iterations)
    return LearnedPlacement(tuple(float(b) for b in theta[:N_TC]), tuple(float(c) for c in theta[N_TC:]), loss)


# A placement a back end builds cheaply: a table (session 17; the study in docs/econt.md kept two thirds of
# the log-linear model's gain at 2 eLinks with it). Each cell's log weight is bias[cell] + unsent[u][d] for a
# cell the frame did not send, bias[cell] + sent[u] for one it did, with d the bin of the cell's distance to
# the strongest sent cell and u the bin of the share of the module's energy left unsent, R / (R + S), R the
# sum to place and S the sent cells' (edges as fractions, so that a back end compares (b - a) R >= a S). The
# back end reads the sum rounded to half octaves, L, from one small table per cell (u, d or sent: 18 entries)
# and weighs by 2^(L / 2): whole octaves lost most of the gain on validation (-0.6 % instead of -1.4 % at 2
# eLinks), and so did rounding the bias and the tables each on its own (-0.7 to -1.0 %).
#
# With many sent cells (4-5 eLinks) the strongest one says little about where the rest lies; the *nearest*
# sent cell says more (session 27, docs/econt.md): ``distance_to="nearest"`` reads d as the bin of the cell's
# distance to the nearest sent cell (the last bin when none is sent). Those tables span 40 or more half
# octaves, more than a decoder's weights carry, so ``span`` S keeps S half octaves below the top of each
# unsent bin (a wafer reads one, and only ratios within a wafer count) and gives every lower level weight 0
# (``ZERO_LEVEL``). A wafer whose cells all weigh 0 spreads its sum evenly over its unsent cells (all cells
# when every cell was sent), at level 0, as the codec's own rule does.
DISTANCE_EDGES = (0.5, 2.5, 3.5, 5.0)  # EMD units: the cell itself, its neighbours (2.0), diagonals (3.5), ...
UNSENT_EDGES = ((1, 5), (1, 2))  # u >= 1/5, u >= 1/2: 3 bins
HALF_OCTAVES = 2  # L counts steps of 2^(1/HALF_OCTAVES)
PLACE_FRAC_BITS = 2  # the integer placement's energy in quarter counts
WEIGHT_MANTISSAS = (16, 23)  # 2^(L/2) in integers: (16 or 23) << (L >> 1); 23 / 16 = 1.4375 against sqrt 2
DISTANCE_TO = ("strongest", "nearest")  # the sent cell an unsent cell's distance bin is measured to
ZERO_LEVEL = -1  # a level that weighs 0: more than ``span`` half octaves below its unsent bin's top
MAX_SPAN = 20  # half octaves: a weight of 16 << 10 at most, and the decoder's division stays narrow


def distance_bins() -> np.ndarray:
    """(48, 48) the bin of TC j's distance to TC i, [i, j]: the back end's table per strongest cell."""
    return np.digitize(ground_distance(), DISTANCE_EDGES)


def unsent_bin(residual: np.ndarray, sent_sum: np.ndarray) -> np.ndarray:
    """(n,) how many ``UNSENT_EDGES`` the share R / (R + S) reaches, by integer-safe compares."""
    residual, sent_sum = np.asarray(residual), np.asarray(sent_sum)
    return np.stack([(b - a) * residual >= a * sent_sum for a, b in UNSENT_EDGES]).sum(axis=0).astype(np.int64)


def strongest_cell(sent: np.ndarray) -> np.ndarray:
    """(n,) the first sent cell of the largest value (TC 0 when nothing is sent)."""
    return np.argmax(sent, axis=1)


def nearest_sent_bins(sent: np.ndarray) -> np.ndarray:
    """(n, 48) each cell's bin of distance to the nearest ``sent`` (bool) cell; the last bin when none is."""
    far = max(DISTANCE_EDGES) + 1.0
    nearest = np.where(np.asarray(sent, dtype=bool)[:, None, :], ground_distance()[None], far).min(axis=2)
    return np.digitize(nearest, DISTANCE_EDGES)


def cell_distance_bins(sent: np.ndarray, strongest: np.ndarray, distance_to: str) -> np.ndarray:
    """(n, 48) the distance bin each cell reads: to the ``strongest`` (n,) cell, or to the nearest ``sent``."""
    return nearest_sent_bins(sent) if distance_to == "nearest" else distance_bins()[strongest]


def _check_distance_to(distance_to: str) -> None:
    if distance_to not in DISTANCE_TO:
        raise ValueError(f"table placement: distance_to must be one of {DISTANCE_TO}, got {distance_to!r}")


def _table_features_to(distance_to: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The table's inputs with distance bins to the strongest or nearest sent cell: a (n, 48, n_d * n_u + n_u)
    one-hot of the table entry each cell reads."""
    _check_distance_to(distance_to)

    def table_features(sent: np.ndarray, amount: np.ndarray) -> np.ndarray:
        sent = np.asarray(sent, dtype=np.float64)
        n_d, n_u = len(DISTANCE_EDGES) + 1, len(UNSENT_EDGES) + 1
        u = unsent_bin(np.maximum(np.asarray(amount, dtype=np.float64), 0.0), sent.sum(axis=1))[:, None]
        d = cell_distance_bins(sent > 0, strongest_cell(sent), distance_to)
        entry = np.where(sent > 0, n_d * n_u + u, d + n_d * u)
        onehot = np.zeros((len(sent), N_TC, n_d * n_u + n_u))
        np.put_along_axis(onehot, entry[:, :, None], 1.0, axis=2)
        return onehot

    return table_features


@dataclass(frozen=True)
class TablePlacement:
    """A table placement (the comment above): the fitted log weights (natural log) ``bias`` per TC,
    ``unsent[u][d]`` and ``sent[u]``; ``train_emd``: mean exact EMD on its training wafers before rounding;
    ``charges``: the CALQ each codec symbol decodes as (``fit_symbol_charges``; empty: its bin's middle);
    ``distance_to``: d is the bin to the strongest or to the nearest sent cell; ``span``: half octaves kept below
    each unsent bin's top (None: every level, the least 0)."""

    bias: tuple[float, ...]
    unsent: tuple[tuple[float, ...], ...]
    sent: tuple[float, ...]
    train_emd: float = float("nan")
    charges: tuple[int, ...] = ()
    distance_to: str = "strongest"
    span: int | None = None

    def __post_init__(self) -> None:
        n_d, n_u = len(DISTANCE_EDGES) + 1, len(UNSENT_EDGES) + 1
        if len(self.bias) != N_TC or len(self.sent) != n_u or [len(r) for r in self.unsent] != [n_d] * n_u:
            raise ValueError(f"table placement: {N_TC} biases, {n_u} x {n_d} unsent and {n_u} sent entries needed")
        if not np.isfinite([*self.bias, *self.sent, *(x for r in self.unsent for x in r)]).all():
            raise ValueError("table placement: entries must be finite")
        # the decoder finds the strongest sent cell by its code: the charges must rise with the code
        if self.charges and (self.charges[0] != 0 or (np.diff(self.charges) <= 0).any()):
            raise ValueError("table placement: charges must start at 0 (symbol 0 is nothing) and rise strictly")
        _check_distance_to(self.distance_to)
        if self.span is not None and not 0 <= self.span <= MAX_SPAN:
            raise ValueError(f"table placement: span must be 0..{MAX_SPAN} half octaves, got {self.span}")

    @cached_property
    def level_table(self) -> np.ndarray:
        """(48, n_u, n_d + 1) L per cell, unsent bin and distance bin (the last: a sent cell): the least 0, or
        with a ``span`` each unsent bin's top at the span and what lies below 0 at ``ZERO_LEVEL``."""
        logit = np.asarray(self.bias)[:, None, None] + np.concatenate(
            [np.asarray(self.unsent), np.asarray(self.sent)[:, None]], axis=1)[None]
        half = np.round(logit / np.log(2.0) * HALF_OCTAVES).astype(np.int64)
        if self.span is None:
            half = half - half.min()
        else:
            half = half - half.max(axis=(0, 2), keepdims=True) + self.span
            half = np.where(half < 0, ZERO_LEVEL, half)
        half.setflags(write=False)
        return half

    @property
    def max_level(self) -> int:
        """The largest L a cell can take."""
        return int(self.level_table.max())

    @property
    def has_zero_level(self) -> bool:
        """Whether some entry weighs 0 (then a wafer may have nothing to weigh by: the even fallback)."""
        return bool((self.level_table == ZERO_LEVEL).any())

    def levels(self, sent: np.ndarray, residual: np.ndarray, sent_sum: np.ndarray, strongest: np.ndarray) -> np.ndarray:
        """(n, 48) L of every cell: ``sent`` (n, 48) which cells were sent (with a value), ``residual`` and
        ``sent_sum`` (n,) R and S, ``strongest`` (n,) the strongest sent cell (read when ``distance_to`` is
        "strongest"). A wafer whose cells are all at ``ZERO_LEVEL`` has its unsent cells (all, when every cell
        was sent) at level 0."""
        sent = np.asarray(sent, dtype=bool)
        u = unsent_bin(residual, sent_sum)
        entry = np.where(sent, len(DISTANCE_EDGES) + 1, cell_distance_bins(sent, strongest, self.distance_to))
        level = self.level_table[np.arange(N_TC)[None, :], u[:, None], entry]
        if not self.has_zero_level:
            return level
        nothing = (level == ZERO_LEVEL).all(axis=1, keepdims=True)
        even = nothing & (~sent | sent.all(axis=1, keepdims=True))
        return np.where(even, 0, level)

    @property
    def weight_bits(self) -> int:
        """Y: bits of the largest integer weight (the weight grows with L)."""
        return (WEIGHT_MANTISSAS[self.max_level % 2] << (self.max_level // HALF_OCTAVES)).bit_length()

    def integer_cells(self, charges: np.ndarray, residual: np.ndarray, sent_sum: np.ndarray, strongest: np.ndarray,
                      *, placed_max: int | None = None) -> np.ndarray:
        """(n, 48) cells in quarter counts as a back end computes them from integer ``charges`` (0 where not
        sent), R, S and the strongest cell: weights w = ``WEIGHT_MANTISSAS`` of L's parity << (L >> 1) (0 at
        ``ZERO_LEVEL``),

            Q = floor(R * 2^(P + Y) / sum w),  cell = charge * 2^P + min(floor(Q * w / 2^Y), M)

        with P = ``PLACE_FRAC_BITS``, Y = ``weight_bits`` (a cell is at most one quarter count below its exact
        share) and M = ``placed_max`` (none: no saturation)."""
        charges, residual = np.asarray(charges, dtype=np.int64), np.asarray(residual, dtype=np.int64)
        level = self.levels(charges > 0, residual, np.asarray(sent_sum, dtype=np.int64), strongest)
        safe = np.maximum(level, 0)
        weight = np.where(level == ZERO_LEVEL, 0, np.asarray(WEIGHT_MANTISSAS)[safe % HALF_OCTAVES]
                          << (safe // HALF_OCTAVES))
        y = self.weight_bits
        quotient = (residual << (PLACE_FRAC_BITS + y)) // weight.sum(axis=1)
        placed = (quotient[:, None] * weight) >> y
        return (charges << PLACE_FRAC_BITS) + (placed if placed_max is None else np.minimum(placed, placed_max))

    def place(self, sent: np.ndarray, amount: np.ndarray) -> np.ndarray:
        """The float (n, 48) reconstruction: ``sent`` plus ``amount`` (clipped at 0) shared by 2^(L/2)."""
        sent = np.asarray(sent, dtype=np.float64)
        amount = np.maximum(np.asarray(amount, dtype=np.float64), 0.0)
        level = self.levels(sent > 0, amount, sent.sum(axis=1), strongest_cell(sent))
        w = np.where(level == ZERO_LEVEL, 0.0, 2.0 ** (level / HALF_OCTAVES))
        return sent + amount[:, None] * w / w.sum(axis=1, keepdims=True)

    def to_json(self) -> dict[str, object]:
        return {"bias": [round(b, 6) for b in self.bias], "unsent": [[round(x, 6) for x in r] for r in self.unsent],
                "sent": [round(x, 6) for x in self.sent], "distance_edges": list(DISTANCE_EDGES),
                "unsent_edges": [list(e) for e in UNSENT_EDGES], "half_octaves": HALF_OCTAVES,
                "train_emd": round(self.train_emd, 6), **({"charges": list(self.charges)} if self.charges else {}),
                **({"distance_to": self.distance_to} if self.distance_to != "strongest" else {}),
                **({"span": self.span} if self.span is not None else {})}

    @classmethod
    def from_json(cls, obj: dict[str, object], where: str) -> TablePlacement:
        try:
            layout = (obj.get("distance_edges"), obj.get("unsent_edges"), obj.get("half_octaves"))
            if layout != (list(DISTANCE_EDGES), [list(e) for e in UNSENT_EDGES], HALF_OCTAVES):
                raise ValueError(f"bins {layout} are not this version's")
            span = obj.get("span")
            return cls(tuple(float(b) for b in obj["bias"]),  # type: ignore[attr-defined]
                       tuple(tuple(float(x) for x in r) for r in obj["unsent"]),  # type: ignore[attr-defined]
                       tuple(float(s) for s in obj["sent"]),  # type: ignore[attr-defined]
                       float(obj.get("train_emd", float("nan"))),  # type: ignore[arg-type]
                       tuple(int(c) for c in obj.get("charges", ())),  # type: ignore[attr-defined]
                       str(obj.get("distance_to", "strongest")), None if span is None else int(span))  # type: ignore[call-overload]
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{where}: malformed table placement ({err})") from None


def fit_table_placement(calq: np.ndarray, sent: np.ndarray, amount: np.ndarray, prior: np.ndarray, *,
                        distance_to: str = "strongest", max_iterations: int = MAX_ITERATIONS,
                        n_jobs: int = 1) -> TablePlacement:
    """``fit_placement`` with the table's inputs (the back end rounds the sums to half octaves), distance bins
    to the strongest or the nearest sent cell. The span is a choice of rounding: ``dataclasses.replace``."""
    n_d, n_u = len(DISTANCE_EDGES) + 1, len(UNSENT_EDGES) + 1
    theta, loss = _fit_logits(calq, sent, amount, prior, feature_fn=_table_features_to(distance_to),
                              n_features=n_d * n_u + n_u, max_iterations=max_iterations, n_jobs=n_jobs)
    unsent = theta[N_TC:N_TC + n_d * n_u].reshape(n_u, n_d)
    return TablePlacement(tuple(float(b) for b in theta[:N_TC]), tuple(tuple(float(x) for x in r) for r in unsent),
                          tuple(float(x) for x in theta[N_TC + n_d * n_u:]), loss, distance_to=distance_to)


# A learned decode of the codec's symbols (session 22): a Huffman symbol stands for a bin of charges, and the
# naive back end reads its middle. The truth inside a bin is not uniform (steeply falling spectra), and the
# EMD weighs a cell's error by how far the rest of the module is, so a fitted point per symbol can do better:
# t in [0, 1] per symbol, the charge low + t width, by L-BFGS on the training wafers' exact EMD with the unsent
# sum spread evenly over the unsent cells (the table placement is then refitted on these charges). Rounded to
# an integer of the bin, so the charges rise strictly with the symbol, as the decoder's strongest-cell rule
# needs. What it gains, per module type and eLink count: docs/econt.md.
CHARGE_ITERATIONS = 60


def _charges_loss_and_gradient(t: np.ndarray, calq: np.ndarray, fixed: np.ndarray, coded: np.ndarray,
                               unsent: np.ndarray, symbols: np.ndarray, module_sum: np.ndarray, low: np.ndarray,
                               width: np.ndarray, n_jobs: int) -> tuple[float, np.ndarray]:
    """Mean exact EMD with symbol s at ``low + t width`` and the rest of the sum spread evenly, and its gradient
    in ``t`` (through the cells and, with the opposite sign, through the sum they leave)."""
    cells = fixed + np.where(coded, (low + t * width)[symbols], 0.0)
    n_unsent = np.maximum(unsent.sum(axis=1), 1)
    residual = module_sum - cells.sum(axis=1)
    full = cells + np.where(unsent, (np.maximum(residual, 0.0) / n_unsent)[:, None], 0.0)
    scale = full.sum(axis=1, keepdims=True)
    unit = full / np.where(scale > 0, scale, 1.0)
    cost, potential = exact_emd_with_gradient(calq, unit, n_jobs)
    d_full = (potential - (potential * unit).sum(axis=1, keepdims=True)) / np.where(scale > 0, scale, 1.0)
    d_residual = np.where(residual > 0, (d_full * unsent).sum(axis=1) / n_unsent, 0.0)
    d_cell = np.where(coded, (d_full - d_residual[:, None]) * width[symbols], 0.0)
    return float(cost.mean()), np.bincount(symbols[coded], weights=d_cell[coded], minlength=len(t)) / len(calq)


def fit_symbol_charges(calq: np.ndarray, codec: EntropyCodec, frames: EntropyFrames, *,
                       max_iterations: int = CHARGE_ITERATIONS, n_jobs: int = 1) -> tuple[int, ...]:
    """The CALQ each of ``codec``'s symbols decodes as (the comment above), fitted on the training wafers
    ``calq`` and their ``frames``; symbol 0 stays 0 and an exact symbol (bin width 0) its value."""
    low, width = codec.symbol_bins()
    reco, leftover = codec.reconstruction(frames)
    coded = frames.selected & ~frames.sparse[:, None]
    keep = coded.any(axis=1) & (np.asarray(calq).sum(axis=1) > 0)  # other wafers' EMD does not depend on t
    fixed = np.where(coded, 0.0, reco)[keep]
    module_sum = (reco.sum(axis=1) + leftover.amount[:, 0])[keep]
    args = (np.asarray(calq, dtype=np.float64)[keep], fixed, coded[keep], ~frames.selected[keep],
            frames.symbols[keep], module_sum, low.astype(np.float64), width.astype(np.float64), n_jobs)
    result = minimize(_charges_loss_and_gradient, np.full(len(low), 0.5), args=args, jac=True, method="L-BFGS-B",
                      bounds=[(0.0, 1.0)] * len(low), options={"maxiter": max_iterations})
    charges = np.clip(np.rint(low + result.x * width), low, low + np.maximum(width - 1, 0)).astype(np.int64)
    return tuple(int(c) for c in charges)
