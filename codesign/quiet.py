"""TensorFlow's C++ start-up lines (absl's "All log messages before absl::InitializeLog()", oneDNN's notice,
CPU features) are noise for users of this package. ``TF_CPP_MIN_LOG_LEVEL`` does not hide them on every CPU
(TensorFlow 2.21 prints them before reading it, e.g. where oneDNN is on), so while ``tensorflow`` is first
imported, file descriptor 2 goes to a temporary file: kept quiet when the import succeeds, replayed when it
fails. ``TF_CPP_MIN_LOG_LEVEL=0`` (``codesign --verbose``) shows everything.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import IO

QUIET_PACKAGE = "tensorflow"


@contextlib.contextmanager
def stderr_to_file() -> Iterator[IO[bytes]]:
    """Send file descriptor 2 (C libraries' stderr too) to a temporary file for the block; restored after."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` once, through the other finders, and runs its import with stderr captured."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None,
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname != QUIET_PACKAGE or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
            return None
        sys.meta_path.remove(self)  # one import only, and no recursion into this finder
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            with stderr_to_file() as captured:
                try:
                    run(module)
                except BaseException:
                    captured.seek(0)
                    failed = captured.read()
                else:
                    return
            sys.stderr.write(failed.decode(errors="replace"))
            raise

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def quiet_tensorflow_import() -> None:
    """Install the finder unless TensorFlow is already imported (then there is nothing left to hide)."""
    if QUIET_PACKAGE not in sys.modules and not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())
