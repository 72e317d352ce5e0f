"""The back end's half of a frame: what it can say about the cells a frame did not send.

Every frame that sends a sum says more than its cells: Best-Choice and Threshold-Sum send the sum of the
cells left out, each super trigger cell its sum and its largest cell, the entropy codec the module sum.
A ``Leftover`` holds that knowledge (energy per group of unsent cells, and the most any one of them can
hold); a ``Spreading`` rule places it. The rules are not learned: even, by a per-cell prior fitted on
training wafers, or towards the sent energy (a Gaussian kernel over the TC geometry); a super trigger cell
may also keep only a fitted share of its sum on its largest cell. ``BackEndTable`` holds the rule chosen
for each algorithm, module type and eLink count on the validation split (``codesign.arena``).

All arrays here are in this project's TC order; ``Leftover.from_chip`` converts the chip's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from codesign.data.geometry import N_TC, ground_distance

WEIGHTINGS = ("even", "prior", "near")
FILL_ROUNDS = 12  # water-filling rounds: every round fills at least one more cell to its cap or ends
PRIOR_DECIMALS = 6  # arena.json keeps the prior to 6 decimals; a fit rounds it the same way


@dataclass(frozen=True)
class Leftover:
    """What a frame says of the cells it did not send, per group of them.

    ``cells``: (n, G, 48) the unsent cells of each group; ``amount``: (n, G) their energy (CALQ counts,
    as the frame decodes it); ``cap``: (n, G) the most any one of them can hold (``inf``: no bound);
    ``anchor``: (n, G) the cell where the naive back end put the whole group sum (a super trigger cell's
    largest), or None."""

    cells: np.ndarray
    amount: np.ndarray
    cap: np.ndarray
    anchor: np.ndarray | None = None

    def from_chip(self, tc_of_post: np.ndarray, post_of_tc: np.ndarray) -> Leftover:
        """The same, from the chip's post-mux order into this project's TC order."""
        anchor = None if self.anchor is None else tc_of_post[self.anchor]
        return Leftover(self.cells[:, :, post_of_tc], self.amount, self.cap, anchor)


@dataclass(frozen=True)
class Spreading:
    """One rule. ``weighting``: how the leftover is shared among a group's unsent cells (even; a per-cell
    prior; the sent energy seen through a Gaussian of width ``sigma`` in EMD units, plus a little of the
    prior so that a frame with nothing sent still spreads). ``anchor_shares``: of a super trigger cell's sum
    S, the share left on its largest cell, indexed by the bit length of S (the last entry serves larger
    sums; empty: all of it, the naive back end); the rest spreads over the group's other cells, each capped
    at what the largest keeps. A small sum is mostly one cell, a large one is spread: one share for all
    sums fits high-pileup wafers and ruins sparse ones."""

    weighting: str = "even"
    sigma: float = 2.0
    anchor_shares: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"spreading weighting must be one of {', '.join(WEIGHTINGS)}, got {self.weighting!r}")
        if self.sigma <= 0 or not all(0 < s <= 1 for s in self.anchor_shares):
            raise ValueError(f"spreading needs sigma > 0 and anchor shares in (0, 1], got {self}")
        object.__setattr__(self, "anchor_shares", tuple(float(s) for s in self.anchor_shares))

    def label(self) -> str:
        text = self.weighting + (f"(sigma {self.sigma:g})" if self.weighting == "near" else "")
        return text + (", largest keeps its fitted share" if self.anchor_shares else "")

    def anchor_share(self, sums: np.ndarray) -> np.ndarray:
        """The share each group sum leaves on its largest cell."""
        if not self.anchor_shares:
            return np.ones(np.shape(sums))
        length = np.frexp(np.maximum(np.asarray(sums, dtype=np.float64), 0.0))[1]  # bit length of the integer part
        return np.asarray(self.anchor_shares)[np.minimum(length, len(self.anchor_shares) - 1)]


def _cell_weights(rule: Spreading, sent: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """(n, 48) positive weight of every cell under ``rule``, given the (n, 48) sent reconstruction."""
    if rule.weighting == "even":
        return np.ones_like(sent)
    if rule.weighting == "prior":
        return np.broadcast_to(prior, sent.shape)
    kernel = np.exp(-0.5 * (ground_distance() / rule.sigma) ** 2)
    near = sent @ kernel
    scale = near.sum(axis=1, keepdims=True)
    return np.where(scale > 0, near / np.where(scale > 0, scale, 1.0), 0.0) + 1e-3 * prior


def water_fill(weights: np.ndarray, amount: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Share each row's ``amount`` over its cells in proportion to ``weights`` (0 = not eligible), no cell
    above the row's ``cap``: cells that would overflow are filled to the cap and the rest is shared again.
    Energy that no eligible cell can hold is dropped."""
    alloc = np.zeros_like(weights)
    remaining = np.maximum(amount, 0.0).astype(np.float64)
    open_ = weights > 0
    cap = cap[:, None]
    for _ in range(FILL_ROUNDS):
        w = np.where(open_, weights, 0.0)
        total = w.sum(axis=1)
        active = (total > 0) & (remaining > 1e-12)
        if not active.any():
            break
        share = np.where(active[:, None], remaining[:, None] * w / np.where(total > 0, total, 1.0)[:, None], 0.0)
        add = np.minimum(share, cap - alloc)
        alloc += add
        remaining -= add.sum(axis=1)
        open_ &= alloc < cap * (1 - 1e-12)
    return alloc


def spread(naive: np.ndarray, leftover: Leftover, rule: Spreading, prior: np.ndarray) -> np.ndarray:
    """The (n, 48) reconstruction: the naive back end's cells plus the leftover placed by ``rule``."""
    reco = np.array(naive, dtype=np.float64)
    n, groups = leftover.amount.shape
    amount, cap = leftover.amount.astype(np.float64), leftover.cap.astype(np.float64)
    cells = leftover.cells
    if leftover.anchor is not None:  # a super trigger cell: its largest cell gives up part of the sum
        share = rule.anchor_share(amount)
        moved = np.where(cells.any(axis=2), (1.0 - share) * amount, 0.0)
        rows = np.repeat(np.arange(n), groups)
        np.subtract.at(reco, (rows, leftover.anchor.ravel()), moved.ravel())
        amount, cap = moved, np.where(moved > 0, share * leftover.amount, 0.0)
    base = _cell_weights(rule, np.where(reco > 0, reco, 0.0), prior)
    weights = np.where(cells, base[:, None, :], 0.0).reshape(n * groups, N_TC)
    placed = water_fill(weights, amount.ravel(), cap.ravel()).reshape(n, groups, N_TC).sum(axis=1)
    return reco + placed


def fit_prior(calq: np.ndarray) -> np.ndarray:
    """(48,) mean share of a wafer's charge on each TC over the (training) wafers, normalised to mean 1;
    a TC never hit keeps a small floor so that every cell stays eligible."""
    calq = np.asarray(calq, dtype=np.float64)
    sums = calq.sum(axis=1, keepdims=True)
    share = (calq / np.where(sums > 0, sums, 1.0)).mean(axis=0)
    share = np.maximum(share, 1e-3 * share.max(initial=0.0) + 1e-12)
    return share / share.mean()


@dataclass(frozen=True)
class BackEndTable:
    """The rule chosen for each ``<algorithm>:<module>:<n>elink`` (None: the naive back end won) and the
    per-cell prior they share; an entry that is missing spreads evenly (``default``)."""

    prior: np.ndarray
    rules: dict[str, Spreading | None] = field(default_factory=dict)
    default: Spreading = Spreading()

    def rule(self, algorithm: str, module: str, elinks: int) -> Spreading | None:
        return self.rules.get(f"{algorithm}:{module}:{elinks}elink", self.default)

    def to_json(self) -> dict[str, Any]:
        return {"prior": [round(float(p), PRIOR_DECIMALS) for p in self.prior],
                "rules": {k: None if r is None else asdict(r) for k, r in sorted(self.rules.items())}}

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str = "back-end table") -> BackEndTable:
        try:
            prior = np.asarray(obj["prior"], dtype=np.float64)
            rules = {str(k): None if v is None else Spreading(**v) for k, v in obj.get("rules", {}).items()}
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{where}: malformed back-end table ({err})") from None
        if prior.shape != (N_TC,) or (prior <= 0).any():
            raise ValueError(f"{where}: 'prior' must hold {N_TC} positive numbers")
        return cls(prior, rules)

    @classmethod
    def even(cls) -> BackEndTable:
        """No fitted table: every sum spread evenly (the issue's baseline rule)."""
        return cls(np.ones(N_TC))
