"""Image layouts of the 48 TCs used by the ECON-T networks, and their inverses.

This module is the only place that knows where each TC sits in an image. Layouts are index maps, so
the same tables serve numpy here and ``keras.ops.take`` inside models.

- ``4x4x3``: one 16-TC block per channel; TC ``i + 16*c`` at row ``i // 4``, column ``i % 4``, channel c.
- ``8x8``: the final ECON-T encoder input (8, 8, 1); the lower-right 4x4 quadrant repeats TCs of block 2
  in the published map and is set to zero (``MASK_8X8`` is 0 there).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from codesign.data.geometry import N_TC

Layout = Literal["4x4x3", "8x8"]
LAYOUTS: tuple[Layout, ...] = ("4x4x3", "8x8")

# Published row-major TC index of each 8x8 pixel (lower-right quadrant: duplicates, masked to zero).
_TC_OF_PIXEL_8X8 = np.array(
    [28, 29, 30, 31, 0, 4, 8, 12,
     24, 25, 26, 27, 1, 5, 9, 13,
     20, 21, 22, 23, 2, 6, 10, 14,
     16, 17, 18, 19, 3, 7, 11, 15,
     47, 43, 39, 35, 35, 34, 33, 32,
     46, 42, 38, 34, 39, 38, 37, 36,
     45, 41, 37, 33, 43, 42, 41, 40,
     44, 40, 36, 32, 47, 46, 45, 44]
)  # fmt: skip
MASK_8X8 = np.ones((8, 8), dtype=bool)
MASK_8X8[4:, 4:] = False


def _tc_of_pixel_4x4x3() -> np.ndarray:
    """Flattened (row, col, channel) -> TC index."""
    rows, cols, chans = np.meshgrid(np.arange(4), np.arange(4), np.arange(3), indexing="ij")
    return (rows * 4 + cols + 16 * chans).ravel()


TC_OF_PIXEL = {"4x4x3": _tc_of_pixel_4x4x3(), "8x8": _TC_OF_PIXEL_8X8}
IMAGE_SHAPE = {"4x4x3": (4, 4, 3), "8x8": (8, 8, 1)}
PIXEL_MASK = {"4x4x3": np.ones(48, dtype=bool), "8x8": MASK_8X8.ravel()}


def _pixel_of_tc(layout: Layout) -> np.ndarray:
    """For each TC, the first unmasked flattened pixel holding it (used by the inverse)."""
    tc_of_pixel, mask = TC_OF_PIXEL[layout], PIXEL_MASK[layout]
    pixel = np.full(N_TC, -1)
    for p in np.flatnonzero(mask)[::-1]:
        pixel[tc_of_pixel[p]] = p
    assert (pixel >= 0).all(), f"layout {layout} does not contain every TC"
    return pixel


PIXEL_OF_TC = {layout: _pixel_of_tc(layout) for layout in LAYOUTS}


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {list(LAYOUTS)}")


def to_image(wafers: np.ndarray, layout: Layout) -> np.ndarray:
    """(n, 48) -> (n, *IMAGE_SHAPE[layout]); masked pixels are zero."""
    _check_layout(layout)
    wafers = np.asarray(wafers)
    if wafers.ndim != 2 or wafers.shape[1] != N_TC:
        raise ValueError(f"expected wafers of shape (n, {N_TC}), got {wafers.shape}")
    flat = wafers[:, TC_OF_PIXEL[layout]] * PIXEL_MASK[layout]
    return flat.reshape(len(wafers), *IMAGE_SHAPE[layout])


def from_image(images: np.ndarray, layout: Layout) -> np.ndarray:
    """(n, *IMAGE_SHAPE[layout]) -> (n, 48), reading each TC from its first unmasked pixel."""
    _check_layout(layout)
    images = np.asarray(images)
    if images.shape[1:] != IMAGE_SHAPE[layout]:
        raise ValueError(f"expected images of shape (n, {IMAGE_SHAPE[layout]}), got {images.shape}")
    return images.reshape(len(images), -1)[:, PIXEL_OF_TC[layout]]
