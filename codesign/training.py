"""Training the autoencoder: seeded wafer splits, quantization-aware fitting, resumable, saved atomically.

``train_autoencoder(spec, out_dir)`` writes into ``out_dir``
    autoencoder.keras        encoder + decoder (load with compile=False)
    encoder.keras, config.yaml, metadata.json   the on-chip encoder as a model folder for `codesign hls/rtl`
    spec.yaml, history.json  the full training spec and the loss curves
With ``training.decoder_epochs`` a second stage trains the decoder alone on the frozen encoder.
Every source is split by wafer (train/val/test with the spec's seed); the test split is never seen in
training and is what `codesign evaluate` uses. An interrupted fit resumes from ``out_dir/backup`` when the
same command is run again; one stopped in the decoder stage restarts from the joint fit kept in
``joint.keras`` and resumes from ``out_dir/decoder_stage/backup``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from codesign.artifacts import atomic_path, load_keras_file, save_model_file, write_json, write_text
from codesign.config import load_config, to_mapping
from codesign.data.geometry import find_tc_groups
from codesign.data.io import REFERENCE_FILE
from codesign.data.normalise import normalise
from codesign.data.onchip import onchip_convert
from codesign.data.sources import source_wafers, test_split_wafers
from codesign.data.splits import split_indices
from codesign.models.autoencoder import AutoencoderSpec, build_autoencoder
from codesign.models.encoder import encoder_inputs
from codesign.models.losses import LossConfig, combined_loss
from codesign.models.qdecoder import (
    QuantizedDecoder,
    QuantizedDecoderConfig,
    build_quantized_decoder,
    load_quantized_decoder,
    save_quantized_decoder,
)
from codesign.models.store import (
    AE_FILE,
    CONFIG_FILE,
    SPEC_FILE,
    ModelFolderError,
    check_model_out,
    claim_model_out,
    load_encoder,
    load_encoder_config,
    save_encoder,
)
from codesign.nn.fit import TrainingFailed, fit_resumable
from codesign.paths import PROJECT_ROOT

JOINT_FILE = "joint.keras"  # the autoencoder after the joint fit, while the decoder stage runs
JOINT_HISTORY_FILE = "joint_history.json"


def load_ae_spec(path: str | Path) -> AutoencoderSpec:
    return load_config(AutoencoderSpec, path)


def split_sources(spec: AutoencoderSpec) -> dict[str, np.ndarray]:
    """CALQ wafers per split (train/val/test by wafer, the spec's seed) over all sources."""
    cfg = spec.training
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for data in cfg.sources:
        calq = source_wafers(data, cfg.seed, cfg.n_synth_wafers)
        split = split_indices(len(calq), cfg.split, seed=cfg.seed)
        for name in parts:
            parts[name].append(calq[getattr(split, name)])
    return {k: np.concatenate(v) if v else np.empty((0, 48), dtype=np.int64) for k, v in parts.items()}


def held_out_wafers(spec: AutoencoderSpec, data: str | None = None, n_wafers: int = 0) -> np.ndarray:
    """The test split of ``data`` (a real file, bare name or path, or ``synth:PRESET``; default the real
    reference sample) with the spec's fractions and seed: wafers its training never saw when ``data`` is one
    of its sources. ``n_wafers`` > 0 keeps the first ones."""
    cfg = spec.training
    return test_split_wafers(data or REFERENCE_FILE, cfg.split, cfg.seed, n_synth=cfg.n_synth_wafers,
                             n_wafers=n_wafers)


def model_arrays(spec: AutoencoderSpec, calq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(encoder images from the on-chip conversion, unit-sum target wafers)."""
    return encoder_inputs(onchip_convert(calq).inputs, spec.encoder), normalise(calq).astype(np.float32)


def _training_set(spec: AutoencoderSpec, calq: np.ndarray) -> tuple[Any, Any]:
    """(x, y) arrays of the training split, or (a streamed PyDataset, None) with ``training.stream_store``."""
    cfg = spec.training
    if not cfg.stream_store:
        return model_arrays(spec, calq)
    from codesign.data.stream import WaferStream
    from codesign.nn.fit import stream_batches

    stream = WaferStream(cfg.stream_store, cfg.batch_size, cfg.seed, transform=lambda c: model_arrays(spec, c))
    return stream_batches(stream), None


def train_autoencoder(spec: AutoencoderSpec, out_dir: str | Path, progress: bool = True, *,
                      force: bool = False) -> Any:
    """Train ``spec`` into model folder ``out_dir`` (resuming an interrupted run there); a folder of other
    files is refused unless ``force`` (``check_model_out``)."""
    check_model_out(out_dir, force)
    import keras
    import tensorflow as tf

    cfg = spec.training
    splits = split_sources(spec)
    if len(splits["val"]) == 0:
        raise ValueError("training.sources gives no validation wafers: add wafers or widen training.split")
    out = claim_model_out(out_dir)  # after the sources are read: a missing one leaves no folder behind
    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    ae, encoder, _ = build_autoencoder(spec, cfg.seed)
    groups = find_tc_groups()
    if groups is None and spec.loss.telescope:
        raise FileNotFoundError("the telescope loss needs tc_groups_2x2.csv from the real-data folder "
                                "(set CODESIGN_DATA_DIR), or use the mse/emd losses")
    loss = combined_loss(spec.loss, groups, PROJECT_ROOT)
    (x_tr, y_tr), (x_val, y_val) = _training_set(spec, splits["train"]), model_arrays(spec, splits["val"])
    fit = {"x": x_tr, "y": y_tr, "validation_data": (x_val, y_val), "batch_size": cfg.batch_size,
           "patience": cfg.patience, "progress": progress}
    joint = out / JOINT_FILE
    if joint.is_file():  # an earlier run finished the joint fit and was stopped in the decoder stage
        ae.set_weights(keras.models.load_model(joint, compile=False).get_weights())
        history = json.loads((out / JOINT_HISTORY_FILE).read_text())
    else:
        check_latents_alive(encoder, x_val, spec, when="at initialisation")
        ae.compile(keras.optimizers.Adam(cfg.learning_rate), loss=loss)
        history = fit_resumable(ae, out_dir=out, epochs=cfg.epochs, **fit)
        check_latents_alive(encoder, x_val, spec, when="after the joint fit")
    if cfg.decoder_epochs:
        history = _fit_decoder(ae, encoder, loss, history, out, cfg, fit)
    save_model_file(ae, out / AE_FILE)
    n_train = len(x_tr) if y_tr is not None else x_tr.n_wafers
    save_encoder(encoder, spec.encoder, out, trained=spec.name, n_train=n_train, n_val=len(x_val))
    write_text(out / SPEC_FILE, yaml.safe_dump(to_mapping(spec), sort_keys=False))
    write_json(out / "history.json", history)
    joint.unlink(missing_ok=True)
    (out / JOINT_HISTORY_FILE).unlink(missing_ok=True)
    return ae


def check_latents_alive(encoder: Any, x: np.ndarray, spec: AutoencoderSpec, *, when: str) -> None:
    """Refuse an encoder whose latents are the same on every wafer: its decoder sees no input, the loss
    cannot move and the saved model would output one wafer shape for all."""
    latents = encoder.predict(x, batch_size=4096, verbose=0)
    if np.ptp(latents, axis=0).any():
        return
    cfg = spec.encoder
    raise TrainingFailed(
        f"{spec.name}: all {cfg.latent_dim} latents are constant ({float(latents.flat[0]):g}) on every one of "
        f"{len(x)} validation wafers {when}: nothing can train. With {cfg.latent_bits}-bit latents "
        f"({cfg.latent_int_bits} integer bits) one LSB is {2.0 ** -cfg.latent_frac_bits:g}; the truncating "
        "quantizer sends smaller values to 0, where the ReLU passes no gradient. Set encoder.latent_bias_init "
        "(in LSBs, e.g. 1.0) or fewer encoder.latent_int_bits.")


def _fit_decoder(ae: Any, encoder: Any, loss: Any, joint_history: dict[str, list[float]], out: Path, cfg: Any,
                 fit: dict[str, Any]) -> dict[str, list[float]]:
    """Second stage: the decoder alone on the frozen encoder; returns the joint curves followed by its own."""
    import keras

    if not (out / JOINT_FILE).is_file():
        write_json(out / JOINT_HISTORY_FILE, joint_history)
        with atomic_path(out / JOINT_FILE) as tmp:
            ae.save(tmp)
    encoder.trainable = False
    ae.compile(keras.optimizers.Adam(cfg.decoder_learning_rate), loss=loss)
    stage = fit_resumable(ae, out_dir=out / "decoder_stage", epochs=cfg.decoder_epochs, **fit)
    encoder.trainable = True
    shutil.rmtree(out / "decoder_stage")
    return {key: joint_history[key] + stage.get(key, []) for key in joint_history}


def load_autoencoder(model_dir: str | Path) -> tuple[Any, AutoencoderSpec]:
    import hgq  # noqa: F401  (quantized layers)

    import codesign.nn.layers  # noqa: F401  (custom layers)

    folder = Path(model_dir)
    for name in (AE_FILE, SPEC_FILE):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: no {name}; train one with `codesign train`")
    spec = load_ae_spec(folder / SPEC_FILE)
    if (folder / CONFIG_FILE).is_file():  # the encoder's own config, saved with it by the same training
        saved = load_encoder_config(folder)
        differ = [f"{f.name}: {getattr(spec.encoder, f.name)!r} in {SPEC_FILE}, {getattr(saved, f.name)!r} in "
                  f"{CONFIG_FILE}" for f in dataclasses.fields(saved)
                  if getattr(spec.encoder, f.name) != getattr(saved, f.name)]
        if differ:
            raise ModelFolderError(f"{folder}: {SPEC_FILE} and {CONFIG_FILE} describe different encoders "
                                   f"({'; '.join(differ)}): a hand edit? The trained weights are "
                                   f"{CONFIG_FILE}'s; restore {SPEC_FILE} or retrain")
    return load_keras_file(folder / AE_FILE, compile=False), spec


def dense_wafers(spec: AutoencoderSpec, calq: np.ndarray) -> np.ndarray:
    """The wafers a hybrid encoder sends as latents (all of them without a sparse mode): what its decoder
    receives on chip."""
    from codesign.models.frame import FrameFormat
    from codesign.models.sparse import cell_values, is_sparse

    frame = FrameFormat.of(spec.encoder)
    if not frame.sparse_mode:
        return calq
    values = cell_values(calq, onchip_convert(calq).inputs, frame.cell_coding)
    return calq[~is_sparse(values, spec.encoder.sparse_max_occupancy)]


def train_quantized_decoder(model_dir: str | Path, out_dir: str | Path, cfg: QuantizedDecoderConfig, *,
                            seed: int = 0, epochs: int = 60, patience: int = 8, learning_rate: float = 3e-3,
                            loss: LossConfig | None = None, progress: bool = True,
                            force: bool = False) -> QuantizedDecoder:
    """Train a quantized back-end decoder on the frozen encoder of autoencoder folder ``model_dir``: its
    latents of the wafers it sends as latents (training split of its own sources, validation split for early
    stopping) against the unit-sum wafers, with ``loss`` (default: the autoencoder's training loss) on the
    normalised cell integers. Writes the decoder folder ``out_dir`` (an interrupted fit resumes there)."""
    check_model_out(out_dir, force)
    import keras
    import tensorflow as tf

    from codesign.nn.layers import UnitSum

    _, spec = load_autoencoder(model_dir)
    encoder, _ = load_encoder(model_dir)
    splits = {name: dense_wafers(spec, calq) for name, calq in split_sources(spec).items() if name != "test"}
    out = claim_model_out(out_dir)

    def arrays(calq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = model_arrays(spec, calq)
        return encoder.predict(x, batch_size=4096, verbose=0), y

    (z_tr, y_tr), (z_val, y_val) = arrays(splits["train"]), arrays(splits["val"])
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    decoder = build_quantized_decoder(cfg, spec.encoder, seed)
    trained = keras.Model(decoder.input, UnitSum(name="unit_sum")(decoder.output), name="decoder_training")
    trained.compile(keras.optimizers.Adam(learning_rate),
                    loss=combined_loss(loss or spec.loss, find_tc_groups(), PROJECT_ROOT))
    history = fit_resumable(trained, z_tr, y_tr, validation_data=(z_val, y_val), out_dir=out, epochs=epochs,
                            batch_size=spec.training.batch_size, patience=patience, progress=progress)
    save_quantized_decoder(decoder, cfg, spec.encoder, out, autoencoder=str(model_dir), seed=seed,
                           n_train=len(z_tr), n_val=len(z_val), epochs=epochs, learning_rate=learning_rate)
    write_json(out / "history.json", history)
    return load_quantized_decoder(out)
