"""Training the learned EMD: pair labels per wafer source and split, seeded, resumable fitting.

Every source (a real wafer file, or ``synth:PRESET``) is split by wafer first (train/val/test with the
config's seed), and exact-EMD pair labels are drawn inside each split, so no wafer of an evaluation pair
ever appears in a training pair. Labels are cached under ``OUT/labels``; an interrupted fit resumes when the
command is rerun (``codesign.nn.fit``); the final model, config and history are written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from codesign.artifacts import atomic_path, load_keras_file, provenance, write_json, write_text
from codesign.config import load_config, to_mapping
from codesign.data.sources import source_stem, source_wafers
from codesign.data.splits import split_indices
from codesign.emd.labels import PairLabels, cached_pair_labels
from codesign.emd.learned import LearnedEmdConfig, build_learned_emd, relative_error_loss
from codesign.nn.fit import fit_resumable

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.yaml"


@dataclass(frozen=True)
class PairSource:
    data: str  # a wafer file (relative to the real-data folder, or a path) or "synth:PRESET"
    n_random: int  # training pairs of distinct wafers
    n_perturbed: int  # training pairs wafer vs degraded copy
    n_synth_wafers: int = 20000  # wafers to generate for a synth: source


@dataclass(frozen=True)
class EmdTrainingConfig:
    sources: tuple[PairSource, ...]
    split: tuple[float, float, float] = (0.7, 0.1, 0.2)  # train / val / test by wafer
    val_fraction_of_pairs: float = 0.1  # validation pairs per source, relative to its training pairs
    epochs: int = 40
    batch_size: int = 512
    learning_rate: float = 1e-3
    patience: int = 6
    loss_floor: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class LearnedEmdSpec:
    model: LearnedEmdConfig = field(default_factory=LearnedEmdConfig)
    training: EmdTrainingConfig = field(default_factory=lambda: EmdTrainingConfig(sources=()))


def load_spec(path: str | Path) -> LearnedEmdSpec:
    return load_config(LearnedEmdSpec, path)


def source_splits(src: PairSource, cfg: EmdTrainingConfig) -> dict[str, np.ndarray]:
    calq = source_wafers(src.data, cfg.seed, src.n_synth_wafers)
    split = split_indices(len(calq), cfg.split, seed=cfg.seed)
    return {"train": calq[split.train], "val": calq[split.val], "test": calq[split.test]}


def _label_name(src: PairSource, part: str) -> str:
    return f"{source_stem(src.data)}_{part}.h5"


def training_pairs(cfg: EmdTrainingConfig, label_dir: Path, progress: bool = True) -> dict[str, PairLabels]:
    """Cached train and validation labels over all sources, concatenated."""
    parts: dict[str, list[PairLabels]] = {"train": [], "val": []}
    for k, src in enumerate(cfg.sources):
        wafers = source_splits(src, cfg)
        for part, scale in (("train", 1.0), ("val", cfg.val_fraction_of_pairs)):
            parts[part].append(cached_pair_labels(
                label_dir / _label_name(src, part), wafers[part], int(src.n_random * scale),
                n_perturbed=int(src.n_perturbed * scale), seed=cfg.seed + 100 * k + (part == "val"), progress=progress))
    return {part: _concat(labels) for part, labels in parts.items()}


def _concat(labels: list[PairLabels]) -> PairLabels:
    return PairLabels(**{f: np.concatenate([getattr(x, f) for x in labels]) for f in PairLabels.__dataclass_fields__})


def train_learned_emd(spec: LearnedEmdSpec, out_dir: str | Path, progress: bool = True) -> Any:
    """Train, save ``model.keras`` + ``config.yaml`` + ``history.json`` into ``out_dir``; return the model."""
    import keras
    import tensorflow as tf

    cfg, out = spec.training, Path(out_dir)
    if not cfg.sources:
        raise ValueError("training.sources is empty: name at least one wafer file or synth:PRESET")
    pairs = training_pairs(cfg, out / "labels", progress)
    tf.config.experimental.enable_op_determinism()
    model = build_learned_emd(spec.model, cfg.seed)
    model.compile(keras.optimizers.Adam(cfg.learning_rate), loss=relative_error_loss(cfg.loss_floor))
    history = fit_resumable(model, [pairs["train"].a, pairs["train"].b], pairs["train"].emd.astype("float32"),
                            validation_data=([pairs["val"].a, pairs["val"].b],
                                             pairs["val"].emd.astype("float32")), out_dir=out,
                            epochs=cfg.epochs, batch_size=cfg.batch_size, patience=cfg.patience, progress=progress)
    save_learned_emd(model, spec, out, history=history,
                     n_train_pairs=len(pairs["train"]), n_val_pairs=len(pairs["val"]))
    return model


def save_learned_emd(model: Any, spec: LearnedEmdSpec, out_dir: Path, *, history: dict[str, list[float]],
                     **meta: Any) -> None:
    with atomic_path(out_dir / MODEL_FILE) as tmp:
        model.save(tmp)
    write_text(out_dir / CONFIG_FILE, yaml.safe_dump(to_mapping(spec), sort_keys=False))
    write_json(out_dir / "history.json", history)
    write_json(out_dir / "metadata.json", provenance(**meta))


def load_learned_emd(model_dir: str | Path) -> tuple[Any, LearnedEmdSpec]:
    """(Keras model, its spec) from a folder written by ``train_learned_emd``."""

    import codesign.emd.learned  # noqa: F401  (registers the custom layers)

    folder = Path(model_dir)
    for name in (MODEL_FILE, CONFIG_FILE):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: no {name}; train one with `codesign emd train`")
    return load_keras_file(folder / MODEL_FILE, compile=False), load_spec(folder / CONFIG_FILE)


def history_summary(model_dir: str | Path) -> dict[str, Any]:
    history = json.loads((Path(model_dir) / "history.json").read_text())
    return {"epochs": len(history["loss"]), "best_val_loss": min(history["val_loss"])}
