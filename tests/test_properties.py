"""Property-based tests (Hypothesis) of the readers and configs: malformed input never gives a traceback,
only the framework's input errors, naming the file (issue 19)."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesign.config import ConfigError, from_mapping, read_yaml
from codesign.data.io import CALQ_COLUMNS, WaferFileError, load_wafers
from codesign.models.autoencoder import AeTrainingConfig
from codesign.models.encoder import EncoderConfig

CSV_ALPHABET = string.digits + ",,,,\n\n.-+eE \tabcN" + "\u00e9\ufeff\x00\""
CELL = st.one_of(st.integers(-5, 2**64), st.floats(allow_nan=True), st.text(CSV_ALPHABET, max_size=6))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_reader(content: bytes, suffix: str = ".csv") -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"w{suffix}"
        path.write_bytes(content)
        try:
            wafers = load_wafers(path)
        except WaferFileError as err:
            assert str(err).startswith(str(path)), err
            return
        assert wafers.calq.shape[1] == 48 and wafers.calq.min() >= 0 and wafers.calq.max() < 2**22


@SETTINGS
@given(st.text(CSV_ALPHABET, max_size=400))
def test_any_text_reads_or_names_the_file(text):
    _check_reader(text.encode("utf-8"))


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_read_or_name_the_file(content):
    _check_reader(content)
    _check_reader(content, ".h5")


@SETTINGS
@given(st.booleans(), st.lists(st.lists(CELL, min_size=46, max_size=50), min_size=1, max_size=4))
def test_near_valid_tables_read_or_name_the_file(header, rows):
    lines = ([",".join(CALQ_COLUMNS)] if header else []) + [",".join(str(c) for c in row) for row in rows]
    _check_reader("\n".join(lines).encode("utf-8"))


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                   st.text(max_size=5), st.lists(st.integers(-3, 3), max_size=4))


@SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(EncoderConfig.__dataclass_fields__) + ["typo"]), VALUES, max_size=4))
def test_encoder_configs_load_or_name_the_key(mapping):
    _check_config(EncoderConfig, mapping, "enc.yaml")


@SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(AeTrainingConfig.__dataclass_fields__)), VALUES, max_size=4))
def test_training_configs_load_or_name_the_key(mapping):
    _check_config(AeTrainingConfig, mapping, "spec.yaml: training")


def _check_config(cls: type, mapping: dict, where: str) -> None:
    try:
        from_mapping(cls, mapping, where=where)
    except ConfigError as err:
        assert str(err).startswith(where), err


@SETTINGS
@given(st.binary(max_size=200))
def test_any_yaml_file_reads_or_names_the_file(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_bytes(content)
        try:
            read_yaml(path)
        except ConfigError as err:
            assert str(err).startswith(str(path)), err
