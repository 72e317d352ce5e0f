"""The Python API (codesign/api.py): the README's example runs as written, and the API gives what the
command line gives."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import codesign
from codesign.models.store import ModelFolderError

ROOT = Path(__file__).parents[1]
REFERENCE = ROOT / "models" / "reference" / "econt_2elink_hybrid"


def test_import_codesign_loads_no_tensorflow():
    code = "import sys, codesign; print(sorted(set(sys.modules) & {'keras', 'tensorflow'}))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"
    assert set(codesign.__all__) == {"Evaluation", "HlsProject", "Model", "RtlDesign", "load_model", "load_wafers",
                                     "read_calq", "train", "CodesignError", "InputError", "VerificationError",
                                     "ToolFailure", "load_system", "evaluate_system"}


def test_api_results_are_typed():
    """issue 33, item 5: every call returns a named type (the annotations name the dataclasses)."""
    import inspect

    from codesign.api import HlsProject, Model, RtlDesign

    returns = {Model.predict: "EncodedWafers", Model.write_rtl: "RtlInfo", HlsProject.check: "CsimCheck",
               RtlDesign.simulate: "SimResult", RtlDesign.verify: "BulkReport", Model.held_out: "np.ndarray"}
    for call, name in returns.items():
        assert inspect.signature(call).return_annotation == name, call
    assert inspect.signature(RtlDesign.info.fget).return_annotation == "RtlInfo"


@pytest.mark.slow
def test_the_readme_python_blocks_run(real_dir, monkeypatch, tmp_path):
    """Every README python block runs; the first block's HLS and RTL objects are then checked as hls4ml and
    da4ml users know them (issue 16: to_hls() -> compile/predict/check/config, to_rtl() -> write/lint/simulate,
    one readable repr), reusing its compiled C simulation and written Verilog."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert blocks, "the README has no python example"
    monkeypatch.chdir(ROOT)
    namespaces: list[dict] = []
    for block in blocks:
        namespaces.append({})
        exec(compile(block.replace('"out/', f'"{tmp_path}/'), "README.md", "exec"), namespaces[-1])
    model, hls, rtl, calq = (namespaces[0][name] for name in ("model", "hls", "rtl", "calq"))
    assert model.folder.resolve() == REFERENCE and len(calq) == 200
    assert "not compiled" in repr(model.to_hls(tmp_path / "fresh_hls"))
    assert "not written" in repr(model.to_rtl(tmp_path / "fresh_rtl"))
    assert "compiled" in repr(hls) and hls.config["Model"]["ReuseFactor"] == 1
    assert np.array_equal(hls.predict(calq[:100]), model.predict(calq[:100]).latents)
    assert hls.check(calq[:100]).mismatches == 0
    assert rtl.info.latency_cycles == 7 and "not simulated" in repr(rtl)
    result = rtl.simulate(calq[:100])
    assert result.n_tests == 3 and result.n_vectors == 100 + len(rtl_corner_cases())
    assert "simulated: 3 tests passed" in repr(rtl) and "64-bit frame out" in repr(rtl)


@pytest.mark.slow
def test_api_evaluate_equals_the_committed_cli_report(real_dir, assert_same_metrics):
    from codesign.training import held_out_wafers, load_ae_spec

    model = codesign.load_model(REFERENCE)
    assert "2 eLinks, 16 x 3-bit latents, sparse mode up to 7 inputs as 4 cells of 6 bits" in repr(model)
    held_out = model.held_out()
    assert np.array_equal(held_out, held_out_wafers(load_ae_spec(REFERENCE / "spec.yaml")))
    assert np.array_equal(model.held_out(n_wafers=7), held_out[:7])
    result = model.evaluate(held_out, decoder=REFERENCE / "qdecoder")  # the report has its quantized decoder
    committed = json.loads((REFERENCE / "eval" / "metrics.json").read_text())["algorithms"]
    assert_same_metrics(result.metrics, committed)
    assert result.best_chip("ld")[0] == "chip:best-choice:ld:2elink"


@pytest.mark.slow
def test_predict_is_the_vectors_frames_and_untrained_folders_say_why(tmp_path, highpu):
    from codesign.cli import main
    from codesign.hardware.vectors import read_vectors

    assert main(["vectors", "--model", str(REFERENCE), "--n-wafers", "300", "--out", str(tmp_path / "v")]) == 0
    _, expected, _ = read_vectors(tmp_path / "v")
    encoded = codesign.load_model(REFERENCE).predict(highpu[:300])
    assert encoded.frames == expected[:300] and encoded.sparse.any() and not encoded.sparse.all()
    assert encoded.latents.shape == (300, 16) and encoded.chip_frames is None  # hybrid: no chip frame
    seeded = tmp_path / "seeded"
    assert main(["model", "init", "--config", "models/econt_5elink_seeded.yaml", "--out", str(seeded)]) == 0
    untrained = codesign.load_model(seeded)
    assert not untrained.trained and len(untrained.predict(highpu[:5]).chip_frames) == 5
    with pytest.raises(ModelFolderError, match="no decoder"):
        untrained.reconstruct(highpu[:5])
    with pytest.raises(ModelFolderError, match="no training split"):
        untrained.held_out()
    with pytest.raises(ValueError, match="integer CALQ"):
        untrained.predict(np.zeros((2, 47), dtype=int))
    with pytest.raises(ModelFolderError, match="not a model folder"):
        codesign.load_model(tmp_path)


def rtl_corner_cases() -> np.ndarray:
    from codesign.hardware.vectors import corner_cases

    return corner_cases(22)[0]


def test_overrides_by_name_or_dotted_key_are_validated_like_yaml():
    from codesign.config import ConfigError, with_overrides
    from codesign.models.autoencoder import AutoencoderSpec
    from codesign.training import load_ae_spec

    spec = load_ae_spec(ROOT / "models" / "econt_demo.yaml")
    changed = with_overrides(AutoencoderSpec, spec, {"epochs": 3, "encoder.elinks": 4})
    assert (changed.training.epochs, changed.encoder.elinks, spec.training.epochs) == (3, 4, 40)
    with pytest.raises(ConfigError, match="'epochz' is no field"):
        with_overrides(AutoencoderSpec, spec, {"epochz": 3})
    with pytest.raises(ConfigError, match="epochs must be at least 1"):
        with_overrides(AutoencoderSpec, spec, {"epochs": 0})


@pytest.mark.slow
def test_train_with_keyword_overrides_returns_the_model_and_its_history(tmp_path):
    model = codesign.train(ROOT / "models" / "econt_demo.yaml", tmp_path / "m", progress=False, epochs=2,
                           n_synth_wafers=2000)
    assert model.trained and len(model.history["loss"]) == 2
    assert "5 eLinks" in repr(model)


def test_committed_metrics_compare_floats_to_a_tolerance_and_the_rest_exactly(assert_same_metrics):
    want = {"a": {"mean_emd": 0.8754944334065906, "n": 75, "back_end": "even", "bins": [{"lo": 0.0}]}}
    assert_same_metrics({"a": {"mean_emd": 0.875494436700241, "n": 75, "back_end": "even", "bins": [{"lo": 0.0}]}},
                        want)  # a fresh install's last digits
    for changed in ({"mean_emd": 0.8755}, {"n": 76}, {"back_end": "prior"}, {"bins": []}, {"extra": 1}):
        with pytest.raises(AssertionError):
            assert_same_metrics({"a": {**want["a"], **changed}}, want)
