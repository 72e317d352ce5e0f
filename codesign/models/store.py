"""A model folder: ``encoder.keras`` + ``config.yaml`` (EncoderConfig) + ``metadata.json``, and when trained
``autoencoder.keras`` (encoder and float decoder) + ``spec.yaml`` (AutoencoderSpec).

This is the hand-over between training (or ``codesign model init`` with seeded weights) and every hardware
command (``--model DIR``). Files are written atomically; a folder missing a file is reported by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from codesign.artifacts import atomic_path, load_keras_file, provenance, write_json, write_text
from codesign.config import from_mapping, read_yaml, to_mapping
from codesign.errors import InputError
from codesign.models.encoder import EncoderConfig

ENCODER_FILE = "encoder.keras"
CONFIG_FILE = "config.yaml"
METADATA_FILE = "metadata.json"
AE_FILE = "autoencoder.keras"
SPEC_FILE = "spec.yaml"


class ModelFolderError(InputError):
    """A model folder is missing or incomplete."""


MODEL_MARKER = ".codesign-model"  # written first into a model folder: the folder is codesign's from then on


def claim_model_out(path: str | Path) -> Path:
    """Create model folder ``path`` (if needed) and mark it as codesign's before anything else goes in, so
    that a run stopped halfway (training, the final save) can be rerun into it."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / MODEL_MARKER).is_file():
        write_text(folder / MODEL_MARKER, "a model folder written by codesign (train or model init)\n")
    return folder


def check_model_out(path: str | Path, force: bool = False) -> None:
    """Refuse to write a model folder into ``path`` when it holds files but is not codesign's (its marker,
    or a ``metadata.json`` that codesign wrote): the user's own ``config.yaml`` or ``history.csv`` would be
    overwritten. ``force`` writes anyway."""
    from codesign.artifacts import OutputError, check_output, remove_stale_temporary

    folder = Path(path)
    if force or not folder.exists():
        return
    check_output(folder, folder=True)
    remove_stale_temporary(folder / MODEL_MARKER)  # a run killed while it claimed the folder: claim it again
    if not any(folder.iterdir()) or (folder / MODEL_MARKER).is_file():
        return
    try:
        ours = str(json.loads((folder / METADATA_FILE).read_text()).get("producer", "")).startswith("codesign")
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise OutputError(f"{folder}: holds files but is not a model folder codesign wrote (no codesign "
                          f"{METADATA_FILE}); writing one there would overwrite files of the same names "
                          "(config.yaml, history.csv): choose a new or empty folder, or pass --force")


def save_encoder(model: Any, cfg: EncoderConfig, out_dir: str | Path, **meta: Any) -> Path:
    out = claim_model_out(out_dir)
    with atomic_path(out / ENCODER_FILE) as tmp:
        model.save(tmp)
    write_text(out / CONFIG_FILE, yaml.safe_dump(to_mapping(cfg), sort_keys=False))
    write_json(out / METADATA_FILE, provenance(**meta))
    return out


def load_encoder_config(model_dir: str | Path) -> EncoderConfig:
    path = Path(model_dir) / CONFIG_FILE
    if not path.is_file():
        raise ModelFolderError(f"{model_dir}: not a model folder (no {CONFIG_FILE})")
    return from_mapping(EncoderConfig, read_yaml(path, "model config"), where=str(path))


def load_encoder(model_dir: str | Path) -> tuple[Any, EncoderConfig]:
    """(Keras encoder, its config) from a model folder."""
    import hgq  # noqa: F401  (registers the quantized layers with Keras before loading)

    cfg = load_encoder_config(model_dir)
    path = Path(model_dir) / ENCODER_FILE
    if not path.is_file():
        raise ModelFolderError(f"{model_dir}: no {ENCODER_FILE}")
    return load_keras_file(path), cfg
