"""The Python API: one object per model folder, over the same library functions as the command line.

    import codesign

    model = codesign.load_model("models/reference/econt_2elink_hybrid")
    calq = codesign.read_calq("../shared/data/hgcal/highpu_dev.csv")
    encoded = model.predict(calq[:100])   # what the chip sends: latents, sum codes, modes, frames
    wafers = model.reconstruct(calq[:100])  # what the back end rebuilds (needs the decoder)
    result = model.evaluate(calq[:100])     # exact EMD against the chip's algorithms
    info = model.write_rtl("out/rtl")       # Verilog (da4ml core + econt_top), an RtlInfo

A model folder is what ``codesign train`` writes (encoder and decoder) or ``codesign model init`` (encoder
only, seeded weights). TensorFlow is imported on the first call that needs it, not by ``import codesign``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codesign.data.geometry import N_TC
from codesign.hardware.frame import FrameFormat
from codesign.models.encoder import EncoderConfig
from codesign.models.store import AE_FILE, ENCODER_FILE, SPEC_FILE, ModelFolderError, load_encoder_config


@dataclass(frozen=True)
class Evaluation:
    """Exact EMD of an encoder and of the chip's algorithms on the same wafers: ``metrics[name]`` (mean,
    median, p90, bits per BX, ...) and ``emd[name]`` (per wafer)."""

    encoder: str
    metrics: dict[str, dict[str, Any]]
    emd: dict[str, np.ndarray]

    def mean(self, name: str | None = None) -> float:
        """Mean EMD of ``name`` (default: the encoder)."""
        return float(self.metrics[name or self.encoder]["mean_emd"])

    def best_chip(self, module: str) -> tuple[str, float]:
        """(name, mean EMD) of the chip's best algorithm for module type ``module`` (hd or ld)."""
        chips = {k: v["mean_emd"] for k, v in self.metrics.items() if k.startswith("chip:") and f":{module}:" in k}
        if not chips:
            raise KeyError(f"no chip algorithm for module type {module!r} in this evaluation")
        name = min(chips, key=chips.__getitem__)
        return name, float(chips[name])

    def __repr__(self) -> str:
        lines = [f"Evaluation of {self.encoder} on {len(self.emd[self.encoder])} wafers: mean EMD {self.mean():.4f}"]
        for module in ("hd", "ld"):
            try:
                name, value = self.best_chip(module)
            except KeyError:
                continue
            lines.append(f"  best chip ({module}): {name} {value:.4f} ({self.mean() / value - 1:+.1%})")
        return "\n".join(lines)


@dataclass
class Model:
    """A model folder: the quantized encoder (``config``, its frame), and the decoder when trained."""

    folder: Path
    config: EncoderConfig
    _encoder: Any = field(default=None, repr=False)
    _autoencoder: Any = field(default=None, repr=False)
    _spec: Any = field(default=None, repr=False)

    @property
    def frame_format(self) -> FrameFormat:
        return FrameFormat.of(self.config)

    @property
    def trained(self) -> bool:
        """Whether the folder holds a decoder (``reconstruct`` and ``evaluate`` need one)."""
        return (self.folder / AE_FILE).is_file() and (self.folder / SPEC_FILE).is_file()

    @property
    def keras_encoder(self) -> Any:
        if self._encoder is None:
            from codesign.models.store import load_encoder

            self._encoder, _ = load_encoder(self.folder)
        return self._encoder

    def _trained(self) -> tuple[Any, Any]:
        if not self.trained:
            raise ModelFolderError(f"{self.folder}: no decoder ({AE_FILE}, {SPEC_FILE}): an untrained model folder "
                                   "can predict frames, not rebuild wafers; train one with `codesign train`")
        if self._autoencoder is None:
            from codesign.training import load_autoencoder

            self._autoencoder, self._spec = load_autoencoder(self.folder)
        return self._autoencoder, self._spec

    def predict(self, calq: np.ndarray) -> Any:
        """(n, 48) CALQ charges in -> ``EncodedWafers`` (latents, sum codes, sparse-mode flags, frames and,
        where the format fits, the chip's autoencoder frames), bit-exact with the hardware."""
        from codesign.hardware.vectors import encode

        return encode(self.keras_encoder, self.config, _as_calq(calq))

    def reconstruct(self, calq: np.ndarray) -> np.ndarray:
        """(n, 48) unit-sum wafers: what the off-chip decoder (and the sparse mode) rebuild from the frames."""
        from codesign.evaluation import autoencoder_reconstruction

        ae, spec = self._trained()
        return autoencoder_reconstruction(ae, spec, _as_calq(calq)).wafers

    def evaluate(self, calq: np.ndarray, *, elinks: int | None = None,
                 modules: tuple[str, ...] = ("hd", "ld")) -> Evaluation:
        """Exact EMD of this encoder and of every chip algorithm at ``elinks`` (default: the encoder's) for
        each module type, on the same wafers."""
        from codesign.evaluation import evaluate_model

        ae, spec = self._trained()
        metrics, emds = evaluate_model(ae, spec, _as_calq(calq), elinks=elinks, modules=modules)
        return Evaluation(f"autoencoder:{spec.name}", metrics, emds)

    def write_rtl(self, out_dir: str | Path, *, clock_period_ns: float = 25.0, calq_bits: int = 22,
                  force: bool = False) -> Any:
        """Verilog of the encoder behind the CALQ-to-frame top (``codesign rtl``); returns its ``RtlInfo``."""
        from codesign.hardware.rtl import write_rtl

        return write_rtl(self.keras_encoder, self.config, out_dir, clock_period_ns, calq_bits=calq_bits,
                         force=force)

    def __repr__(self) -> str:
        fmt = self.frame_format
        coding = fmt.cell_coding
        mode = (f", sparse mode up to {self.config.sparse_max_occupancy} inputs as {coding.describe()}"
                if fmt.sparse_mode else "")
        decoder = "trained decoder" if self.trained else "encoder only"
        return (f"Model({str(self.folder)!r}: {fmt.elinks} eLinks, {fmt.n_latents} x {fmt.latent_bits}-bit latents"
                f"{mode}, {fmt.width}-bit frame, {decoder})")


def load_model(folder: str | Path) -> Model:
    """The model folder ``folder`` (written by ``codesign train`` or ``codesign model init``)."""
    path = Path(folder)
    if not (path / ENCODER_FILE).is_file():
        raise ModelFolderError(f"{path}: not a model folder (no {ENCODER_FILE})")
    return Model(path, load_encoder_config(path))


def _as_calq(calq: np.ndarray) -> np.ndarray:
    calq = np.asarray(calq)
    if calq.ndim != 2 or calq.shape[1] != N_TC or not np.issubdtype(calq.dtype, np.integer):
        raise ValueError(f"expected (n, {N_TC}) integer CALQ charges, got {calq.dtype} of shape {calq.shape}")
    return calq
