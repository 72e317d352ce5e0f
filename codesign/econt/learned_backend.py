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

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from codesign.data.geometry import N_TC, ground_distance
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
                       x: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean exact EMD of the placement with parameters ``theta`` (bias, coefficients) and its gradient,
    chained from the dual potentials through the normalisation and the softmax-like sharing."""
    w = np.exp(theta[None, :N_TC] + x @ theta[N_TC:])
    share = w / w.sum(axis=1, keepdims=True)
    reco = sent + amount[:, None] * share
    scale = reco.sum(axis=1, keepdims=True)
    unit = reco / np.where(scale > 0, scale, 1.0)
    cost, potential = exact_emd_with_gradient(calq, unit)
    d_reco = (potential - (potential * unit).sum(axis=1, keepdims=True)) / np.where(scale > 0, scale, 1.0)
    d_share = amount[:, None] * d_reco
    d_logit = share * (d_share - (share * d_share).sum(axis=1, keepdims=True))
    grad = np.concatenate([d_logit.sum(axis=0), np.einsum("ni,nif->f", d_logit, x)]) / len(calq)
    return float(cost.mean()), grad


def fit_placement(calq: np.ndarray, sent: np.ndarray, amount: np.ndarray, prior: np.ndarray, *,
                  max_iterations: int = MAX_ITERATIONS) -> LearnedPlacement:
    """Fit on training wafers: ``calq`` the (n, 48) truth, ``sent`` what the back end decodes of the frame
    cells, ``amount`` the (n,) sum the frame leaves to place. Starts from the per-cell ``prior``."""
    calq, sent = np.asarray(calq, dtype=np.float64), np.asarray(sent, dtype=np.float64)
    amount = np.maximum(np.asarray(amount, dtype=np.float64), 0.0)
    # an empty wafer, or a frame that says nothing, has no EMD that the placement could change
    keep = (calq.sum(axis=1) > 0) & (sent.sum(axis=1) + amount > 0)
    calq, sent, amount = calq[keep], sent[keep], amount[keep]
    x = features(sent, amount)
    theta0 = np.concatenate([np.log(prior), np.zeros(len(FEATURES))])
    result = minimize(_loss_and_gradient, theta0, args=(calq, sent, amount, x), jac=True,
                      method="L-BFGS-B", options={"maxiter": max_iterations})
    return LearnedPlacement(tuple(float(b) for b in result.x[:N_TC]), tuple(float(c) for c in result.x[N_TC:]),
                            float(result.fun))
