"""The make targets a newcomer types first (issue 33, item 11): a shipped reference model is used as it is,
not retrained; `make train` writes out/models and `evaluate` then scores what was trained."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _dry_run(*goals: str) -> str:
    return subprocess.run(["make", "-n", *goals], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_a_shipped_reference_model_is_not_retrained(tmp_path):
    out = _dry_run("rtl", "MODEL=econt_2elink_hybrid", f"OUT={tmp_path}")
    assert "--model models/reference/econt_2elink_hybrid" in out and "codesign train" not in out


def test_train_then_evaluate_scores_the_trained_model(tmp_path):
    out = _dry_run("train", "evaluate", "MODEL=econt_2elink_hybrid", f"OUT={tmp_path}")
    assert f"train --config models/econt_2elink_hybrid.yaml --out {tmp_path}/models/econt_2elink_hybrid" in out
    assert f"evaluate --model {tmp_path}/models/econt_2elink_hybrid --out {tmp_path}/eval/econt_2elink_hybrid" in out


def test_a_model_without_reference_is_built(tmp_path):
    out = _dry_run("rtl", f"OUT={tmp_path}")
    assert f"--out {tmp_path}/models/econt_5elink_seeded" in out


def test_a_table_system_is_evaluated_and_built_from_its_reference_folder(tmp_path):
    out = _dry_run("evaluate", "rtl", "MODEL=econt_3elink_table", f"OUT={tmp_path}")
    assert f"evaluate --model models/reference/econt_3elink_table --out {tmp_path}/eval/econt_3elink_table" in out
    assert f"rtl --model models/reference/econt_3elink_table --out {tmp_path}/rtl/econt_3elink_table" in out
    assert "codesign train" not in out
    out = _dry_run("train", "evaluate", "MODEL=econt_3elink_table", f"OUT={tmp_path}")
    assert f"train --config models/econt_3elink_table.yaml --out {tmp_path}/models/econt_3elink_table" in out
    refused = subprocess.run(["make", "-n", "sim", "MODEL=econt_3elink_table"], cwd=ROOT, capture_output=True,
                             text=True)
    assert refused.returncode == 2 and "is a table system" in refused.stderr
