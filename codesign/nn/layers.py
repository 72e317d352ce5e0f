"""Small serializable Keras layers shared by the learned EMD and the autoencoder."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from codesign.data.arrange import IMAGE_SHAPE, PIXEL_MASK, PIXEL_OF_TC, TC_OF_PIXEL, Layout


@keras.saving.register_keras_serializable(package="codesign")
class UnitSum(keras.layers.Layer):
    """Normalise each wafer (n, 48) to unit sum; an all-zero wafer stays zero."""

    def call(self, x: Any) -> Any:
        return x / ops.maximum(ops.sum(x, axis=-1, keepdims=True), 1e-12)


@keras.saving.register_keras_serializable(package="codesign")
class WaferImage(keras.layers.Layer):
    """(n, 48) -> image in a layout of ``codesign.data.arrange`` (masked pixels zero)."""

    def __init__(self, layout: Layout, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layout = layout
        self._pixels = TC_OF_PIXEL[layout].tolist()
        self._mask = PIXEL_MASK[layout].astype("float32").tolist()

    def call(self, x: Any) -> Any:
        flat = ops.take(x, self._pixels, axis=1) * ops.convert_to_tensor(self._mask, dtype=x.dtype)
        return ops.reshape(flat, (-1, *IMAGE_SHAPE[self.layout]))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layout": self.layout}


@keras.saving.register_keras_serializable(package="codesign")
class ImageToWafer(keras.layers.Layer):
    """Image in a layout -> (n, 48), each TC read from its first unmasked pixel."""

    def __init__(self, layout: Layout, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layout = layout
        self._pixels = PIXEL_OF_TC[layout].tolist()

    def call(self, x: Any) -> Any:
        return ops.take(ops.reshape(x, (ops.shape(x)[0], -1)), self._pixels, axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layout": self.layout}
