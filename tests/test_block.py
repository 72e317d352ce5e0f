"""The universal encoder block (``codesign.hardware.block``, issue 31): one RTL for the four reference hybrids,
each run by its configuration image. Fast: the settings and images of every reference, what the block refuses,
lint; slow: Verilator + cocotb with every image in turn on one build, a wrong image caught, upsets with and
without TMR."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from codesign.hardware.block import (
    BlockSettings,
    EncoderBlockSpec,
    block_image,
    settings_of_image,
    write_encoder_block,
)
from codesign.hardware.reconfig import register_image, register_map, register_words
from codesign.models.encoder import EncoderConfig
from codesign.models.store import load_encoder, load_encoder_config
from codesign.paths import MODELS_DIR
from codesign.tools import ToolNotFoundError, verilator_env

REFERENCES = [MODELS_DIR / "reference" / f"econt_{n}elink_hybrid" for n in (2, 3, 4, 5)]


def _need_verilator() -> None:
    try:
        verilator_env()
    except ToolNotFoundError as err:
        pytest.skip(str(err))


def _reference_block(**kwargs: object) -> EncoderBlockSpec:
    return EncoderBlockSpec.for_encoders([load_encoder_config(d) for d in REFERENCES], **kwargs)  # type: ignore[arg-type]


def test_block_settings_of_the_references():
    """What each reference's image sets: the latent width and quantizer shift of its eLink count, its
    selector's threshold, value bits and coding; the block is sized to the 5-eLink reference (14 cells)."""
    spec = _reference_block()
    assert (spec.core.elinks, spec.max_cells, spec.frame_bits, spec.payload_bits) == (5, 14, 160, 150)
    assert spec.config_bits == register_map(spec.core).n_bits + 28 == 12_892
    got = [BlockSettings.of(load_encoder_config(d)) for d in REFERENCES]
    assert got == [
        BlockSettings(2, 3, 9, True, 7, False, 6, False, 4),
        BlockSettings(3, 5, 8, True, 14, False, 7, False, 6),
        BlockSettings(4, 7, 6, True, 19, False, 7, True, 9),
        BlockSettings(5, 9, 4, True, 31, True, 7, True, 14),
    ]


def test_block_images_hold_weights_and_settings():
    """An image is the reconfigurable core's weight image with the settings above it; both read back."""
    spec = _reference_block()
    weight_bits = register_map(spec.core).n_bits
    for folder in (REFERENCES[0], REFERENCES[3]):
        model, cfg = load_encoder(folder)
        image = block_image(model, cfg, spec)
        assert image & ((1 << weight_bits) - 1) == register_image(register_words(model, cfg), cfg.weight_bits)
        assert settings_of_image(image, spec) == BlockSettings.of(cfg)
        assert image >> spec.config_bits == 0


def test_block_refuses_what_it_cannot_run():
    spec = _reference_block()
    ref5 = load_encoder_config(REFERENCES[3])
    assert spec.serves_problem(ref5) is None
    assert "conv_filters" in (spec.serves_problem(replace(ref5, conv_filters=4)) or "")
    assert "conv_act_int_bits" in (spec.serves_problem(replace(ref5, conv_act_int_bits=3)) or "")
    small = EncoderBlockSpec.for_encoders([load_encoder_config(d) for d in REFERENCES[:2]])
    assert (small.core.elinks, small.max_cells) == (3, 6)
    assert "at most 3 eLinks" in (small.serves_problem(ref5) or "")
    with pytest.raises(ValueError, match="another conv_filters"):
        EncoderBlockSpec.for_encoders([ref5, EncoderConfig(conv_filters=2)])
    assert "drops 18 fraction bits" in (spec.serves_problem(replace(ref5, latent_int_bits=16)) or "")


@pytest.mark.parametrize(("tmr", "reuse"), [(False, 1), (True, 4)])
def test_block_is_lint_clean(tmp_path, tmr, reuse):
    from codesign.hardware.rtl import lint_rtl

    _need_verilator()
    info = write_encoder_block(_reference_block(tmr=tmr, reuse=reuse), tmp_path / "rtl")
    assert lint_rtl(tmp_path / "rtl") == []
    assert (info.universal, info.frame_bits, info.config_bits, info.initiation_interval) == (True, 160, 12_892, reuse)
    assert info.latency_cycles == 2 * reuse + 3 and not info.chip_frame


def test_block_from_the_command_line(tmp_path, capsys):
    """`codesign asic rtl --universal` writes the block for the references; `codesign asic config --model M
    --universal` the image (the same bits as ``block_image``) with its fields; an encoder the block cannot
    run exits 2 naming it."""
    from codesign.cli import main

    assert main(["asic", "rtl", "--universal", "--tmr", "--reuse", "4", "--out", str(tmp_path / "block")]) == 0
    info = json.loads((tmp_path / "block" / "rtl.json").read_text())
    assert info["universal"] and info["tmr"] and info["block"]["max_cells"] == 14
    out = tmp_path / "ref3.hex"
    assert main(["asic", "config", "--model", str(REFERENCES[1]), "--universal", "--out", str(out)]) == 0
    model, cfg = load_encoder(REFERENCES[1])
    assert int(out.read_text(), 16) == block_image(model, cfg, _reference_block())
    fields = json.loads((tmp_path / "ref3.hex.json").read_text())["fields"]
    assert fields["latent_bits"] == {"offset": 12_867, "bits": 4, "value": 5}
    assert main(["asic", "config", "--model", str(REFERENCES[3]), "--universal", "--models", *map(str, REFERENCES[:2]),
                 "--out", str(tmp_path / "x.hex")]) == 2
    assert "at most 3 eLinks" in capsys.readouterr().err and not (tmp_path / "x.hex").exists()


@pytest.mark.slow
def test_block_runs_every_reference_by_its_image(tmp_path, highpu):
    """One Verilator build of the block with TMR at R = 4 (the chip's design point); the four references'
    images loaded in turn through the serial port with idle clocks between bits, no reset between them; each
    followed by 3,000 real wafers and the corner cases (every other one with idle cycles between wafers):
    every frame equal to that reference's golden frame, bit for bit; the last image reads back."""
    from codesign.asic.verify import verify_encoder_block

    _need_verilator()
    check = verify_encoder_block(REFERENCES, highpu[:3000], tmp_path, tmr=True, reuse=4)
    assert check.wafers == (3130,) * 4
    sparse = [json.loads((tmp_path / f"vectors_{i}" / "vectors.json").read_text())["sparse_frames"] for i in range(4)]
    assert all(300 < n < 3000 for n in sparse)  # both modes of every reference ran
    print(f"universal block: {sum(check.wafers)} frames bit-exact, sparse {sparse}; build {check.build_seconds:.0f} "
          f"s, simulation {check.test_seconds:.0f} s")


@pytest.mark.slow
def test_block_check_catches_a_wrong_setting(tmp_path, highpu, monkeypatch):
    """The same check fails, naming the wafer, when the 3-eLink reference's image says 6 cells by map."""
    from codesign.asic import verify
    from codesign.errors import VerificationError
    from codesign.hardware import block

    _need_verilator()
    wrong = replace(BlockSettings.of(load_encoder_config(REFERENCES[1])), use_map=True)
    monkeypatch.setattr(block.BlockSettings, "of", classmethod(lambda cls, cfg: wrong))
    with pytest.raises(VerificationError, match=r"frames differ from the encoder's golden frames .* first at wafer"):
        verify.verify_encoder_block(REFERENCES[1:2], highpu[:200], tmp_path, reuse=4)


@pytest.mark.slow
def test_block_upsets_need_tmr(tmp_path, highpu):
    """1,000 single-bit upsets in the block's configuration register (weights and settings) while the 2-eLink
    reference's wafers stream (R = 4: simulates faster than R = 1): frames go wrong without TMR, none with it."""
    from codesign.asic.verify import block_fault_campaign

    _need_verilator()
    reports = block_fault_campaign(REFERENCES[0], highpu[:1000], tmp_path, served=REFERENCES, n_faults=1000,
                                   reuse=4)
    assert reports["tmr"] == {"tmr": True, "injections": 1000, "frames": 4008, "wrong_frames": 0}
    assert reports["no_tmr"]["injections"] == 1000 and reports["no_tmr"]["wrong_frames"] > 100
