"""Reconstruction losses on unit-sum wafers (n, 48): MSE, the ECON-T telescope loss, the learned EMD, the
exact EMD, and weighted sums of them. Each returns one value per wafer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from keras import ops

from codesign.data.geometry import TcGroups, block_membership


@dataclass(frozen=True)
class LossConfig:
    mse: float = 0.0
    telescope: float = 1.0
    emd: float = 0.0
    emd_model: str = "models/emd_cnn"  # learned-EMD folder, used when emd > 0
    exact_emd: float = 0.0  # optimal transport solved per wafer (POT), dual potentials as the gradient

    def __post_init__(self) -> None:
        weights = (self.mse, self.telescope, self.emd, self.exact_emd)
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError("loss weights must be non-negative and not all zero")


def mse_loss(y_true: Any, y_pred: Any) -> Any:
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def telescope_loss(groups: TcGroups) -> Callable[[Any, Any], Any]:
    """ECON-T telescope loss: 4 L1 + 2 L2 + L3, each the mean of (t - p)^2 max(t, p) over single TCs (L1),
    the 36 weighted 2x2 groups (L2) and the three 16-TC blocks (L3)."""
    pairs = ops.convert_to_tensor(groups.membership().astype("float32"))
    weights = ops.convert_to_tensor(groups.weights.astype("float32"))
    blocks = ops.convert_to_tensor(block_membership().astype("float32"))

    def term(t: Any, p: Any) -> Any:
        return ops.square(t - p) * ops.maximum(t, p)

    def loss(y_true: Any, y_pred: Any) -> Any:
        y_true = ops.cast(y_true, y_pred.dtype)
        l1 = ops.mean(term(y_true, y_pred), axis=-1)
        l2 = ops.mean(weights * term(ops.matmul(y_true, pairs), ops.matmul(y_pred, pairs)), axis=-1)
        l3 = ops.mean(term(ops.matmul(y_true, blocks), ops.matmul(y_pred, blocks)), axis=-1)
        return 4.0 * l1 + 2.0 * l2 + l3

    return loss


def combined_loss(cfg: LossConfig, groups: TcGroups | None, root: Path | None = None) -> Callable[[Any, Any], Any]:
    """Weighted sum of the configured losses; the learned-EMD model is loaded (frozen) only if used."""
    parts: list[tuple[float, Any]] = []
    if cfg.mse:
        parts.append((cfg.mse, mse_loss))
    if cfg.telescope:
        if groups is None:
            raise ValueError("the telescope loss needs the TC group table")
        parts.append((cfg.telescope, telescope_loss(groups)))
    if cfg.emd:
        from codesign.emd.learned import EmdLoss
        from codesign.emd.training import load_learned_emd

        folder = Path(cfg.emd_model)
        model, _ = load_learned_emd(folder if folder.is_absolute() or root is None else root / folder)
        emd = EmdLoss(model, layout="flat", reduction=None)
        parts.append((cfg.emd, lambda t, p: emd(t, p)))

    if cfg.exact_emd:
        parts.append((cfg.exact_emd, exact_emd_loss))

    def loss(y_true: Any, y_pred: Any) -> Any:
        return sum(w * f(y_true, y_pred) for w, f in parts)

    return loss


def _emd_and_potentials(t: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``exact_emd_with_gradient`` in float32, as ``tf.numpy_function`` declares it."""
    from codesign.emd.exact import exact_emd_with_gradient

    cost, grad = exact_emd_with_gradient(t, p)
    return cost.astype(np.float32), grad.astype(np.float32)


def exact_emd_loss(y_true: Any, y_pred: Any) -> Any:
    """The exact EMD (the evaluation metric itself) as a loss: each batch is solved with POT on the CPU and
    the dual potentials give the gradient. TensorFlow backend only (``tf.numpy_function``)."""
    import tensorflow as tf

    @tf.custom_gradient  # type: ignore[untyped-decorator]  # TensorFlow has no type information
    def emd(t: Any, p: Any) -> Any:
        cost, grad = tf.numpy_function(_emd_and_potentials, [t, p], [tf.float32, tf.float32], stateful=False)
        cost.set_shape(p.shape[:1])
        grad.set_shape(p.shape)

        def backward(upstream: Any) -> Any:
            return tf.zeros_like(t), upstream[:, None] * grad

        return cost, backward

    return emd(tf.cast(tf.convert_to_tensor(y_true), tf.float32), tf.cast(y_pred, tf.float32))


def telescope_numpy(groups: TcGroups, t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The telescope loss in numpy (for tests and reports)."""
    return np.asarray(telescope_loss(groups)(t.astype("float32"), p.astype("float32")))
