"""What a user sees while long work runs: heartbeats for steps of unknown length, timed stages, and the
command line's ``--quiet`` / ``--verbose`` level.

Progress bars (tqdm) are used where the amount of work is known; a step whose length is unknown (a Yosys
run, a simulator build, a g++ compile, a place and route) runs inside ``heartbeat``, which prints a line
with the elapsed time, where the tool is (its log's last progress line: a Yosys pass, a router iteration)
and the log being written, every ``HEARTBEAT_S`` seconds and at most one a minute for hours-long work, so
that a hang never looks the same as work.
Everything here writes to stderr; results stay on stdout.
"""

from __future__ import annotations

import enum
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

HEARTBEAT_S = 10.0


class Level(enum.IntEnum):
    QUIET = 0  # errors and results only
    NORMAL = 1  # plus progress bars, heartbeats and stage lines
    VERBOSE = 2  # plus the libraries' own log lines and warnings (TensorFlow, hls4ml)


_level = Level.NORMAL
_beating: list[str] = []  # open heartbeats, innermost last: only the innermost prints


def set_level(level: Level) -> None:
    """Set the level for this process and the tools it starts (tqdm reads ``TQDM_DISABLE``)."""
    global _level
    _level = level
    if level == Level.QUIET:
        os.environ["TQDM_DISABLE"] = "1"
    else:
        os.environ.pop("TQDM_DISABLE", None)


def level() -> Level:
    return _level


def note(message: str) -> None:
    """A progress line on stderr (not shown with ``--quiet``)."""
    if _level >= Level.NORMAL:
        print(message, file=sys.stderr, flush=True)


@contextmanager
def heartbeat(what: str, log: str | Path | None = None, every: float | None = None, *,
              status: Callable[[], str | None] | None = None) -> Iterator[None]:
    """Run the body while a background thread prints ``what: still running, N s[: STATUS] (log: LOG)``;
    silent for bodies shorter than ``every`` seconds (default ``HEARTBEAT_S``), then a line every ``every``
    seconds, spacing out to one a minute for work of hours. ``status`` says where the work is (the last
    progress line of the tool's log, see ``log_status``). Nested heartbeats (a tool run inside a stage) print
    only the innermost one."""
    every = every or HEARTBEAT_S
    done = threading.Event()
    start = time.monotonic()
    where = f" (log: {log})" if log else ""
    token = f"{what}#{id(done)}"

    def beat() -> None:
        while not done.wait(max(every, min(60.0, (time.monotonic() - start) / 10))):
            if _beating and _beating[-1] == token:
                found = status() if status else None
                note(f"  {what}: still running, {time.monotonic() - start:,.0f} s"
                     f"{f': {found}' if found else ''}{where}")

    _beating.append(token)
    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        _beating.remove(token)


def log_status(log: str | Path, describe: Callable[[str], str | None],
               tail_bytes: int = 16384) -> Callable[[], str | None]:
    """A ``heartbeat`` status: what ``describe`` says of the last line near the end of ``log`` it recognises
    (None before the tool has written one)."""
    def status() -> str | None:
        try:
            with Path(log).open("rb") as handle:
                handle.seek(max(0, handle.seek(0, os.SEEK_END) - tail_bytes))
                lines = handle.read().decode(errors="replace").splitlines()
        except OSError:
            return None
        return next((found for line in reversed(lines) if (found := describe(line))), None)

    return status


@dataclass
class Stages:
    """Numbered, timed stages of a long job (``codesign demo``): each prints its start and its time, and
    ``times`` keeps {stage: seconds} for the report."""

    total: int
    times: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, beat: bool = True) -> Iterator[None]:
        """``beat=False`` for a stage that shows its own progress (a bar, one line per epoch)."""
        note(f"[{len(self.times) + 1}/{self.total}] {name}")
        start = time.monotonic()
        with heartbeat(name) if beat else nullcontext():
            yield
        self.times[name] = time.monotonic() - start
        note(f"[{len(self.times)}/{self.total}] {name}: done in {self.times[name]:.0f} s")


def bar(total: int, desc: str, unit: str, *, shown: bool = True, **options: Any) -> tqdm:
    """A tqdm progress bar on stderr (a count and a rate when ``total`` is 0: unknown), hidden when ``shown``
    is false or at ``--quiet`` (an explicit ``disable=`` would override tqdm's own ``TQDM_DISABLE``, so every
    bar of the project comes from here)."""
    return tqdm(total=total or None, desc=desc, unit=unit, disable=not shown or _level == Level.QUIET, **options)
