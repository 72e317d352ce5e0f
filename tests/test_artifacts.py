"""Atomic outputs lose nothing (issue 33, item 1): a failed move of a user's entry puts back what moved, the
umask is read without being changed, a written file is on disk before its rename."""

from __future__ import annotations

import os

import pytest

import codesign.artifacts as artifacts
from codesign.artifacts import OutputError, atomic_dir, atomic_path


def test_a_failed_keep_puts_every_user_entry_back(tmp_path, monkeypatch):
    out = tmp_path / "rtl"
    with atomic_dir(out) as tmp:
        (tmp / "rtl.json").write_text("1")
    for name in ("a_notes.txt", "b_build", "c_thesis.tex"):
        (out / name).write_text(name)
    real_replace = os.replace

    def failing_replace(src, dst):  # the second user entry cannot move (a read-only sub-folder, say)
        if str(src).endswith("b_build"):
            raise PermissionError(13, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(artifacts.os, "replace", failing_replace)
    with pytest.raises(OutputError, match="b_build.*nothing was replaced"), atomic_dir(out) as tmp:
        (tmp / "rtl.json").write_text("2")
    monkeypatch.undo()
    assert {p.name: p.read_text() for p in out.iterdir() if p.name != artifacts.OUTPUT_MARKER} == {
        "rtl.json": "1", "a_notes.txt": "a_notes.txt", "b_build": "b_build", "c_thesis.tex": "c_thesis.tex"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rtl"]  # no temporary left behind


def test_umask_is_read_without_changing_it(monkeypatch, tmp_path):
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs Linux's /proc")
    expected = os.umask(0o022)
    os.umask(expected)

    def no_umask(_mask):
        raise AssertionError("os.umask called: another thread would see umask 0")

    monkeypatch.setattr(artifacts.os, "umask", no_umask)
    assert artifacts._umask() == expected
    with atomic_path(tmp_path / "x.txt") as tmp:
        tmp.write_text("x")
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o666 & ~expected


def test_a_written_file_is_synced_before_its_rename(monkeypatch, tmp_path):
    synced = []
    monkeypatch.setattr(artifacts.os, "fsync", lambda fd: synced.append(fd))
    with atomic_path(tmp_path / "y.txt") as tmp:
        tmp.write_text("y")
    assert synced and (tmp_path / "y.txt").read_text() == "y"


def test_a_model_folder_claimed_by_a_killed_run_can_be_trained_into(tmp_path):
    """A run killed while it wrote the model folder's marker leaves only the marker's temporary: the rerun
    (a sweep point retried) takes the folder; a live writer's temporary or a user's file still stop it."""
    import subprocess
    import sys

    from codesign.models.store import MODEL_MARKER, check_model_out

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / f".{MODEL_MARKER}.{dead}.abcd1234.tmp").write_text("a model folder written by codesign\n")
    check_model_out(folder)
    assert not any(folder.iterdir())
    (folder / f".{MODEL_MARKER}.{os.getpid()}.abcd1234.tmp").write_text("being written\n")
    with pytest.raises(OutputError, match="not a model folder codesign wrote"):
        check_model_out(folder)
