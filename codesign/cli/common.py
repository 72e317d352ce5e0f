"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codesign.hardware.variants import DEFAULT_VARIANTS, parse_variant

Handler = Callable[[argparse.Namespace], None]


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """--help shows each option's default, unless it has none (required, a flag) or the help says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text.lower():
            return text
        return f"{text} (default: %(default)s)"


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, handler: Handler, help_: str,
         description: str | None = None) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_, description=description or help_,
                       formatter_class=DefaultsHelpFormatter)
    p.set_defaults(handler=handler)
    return p


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """argparse type: an integer in [lo, hi] (no upper bound when ``hi`` is None)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be in {lo}..{hi}, got {value}" if hi is not None
                                             else f"must be at least {lo}, got {value}")
        return value

    return parse


def positive_float(text: str) -> float:
    """argparse type: a finite number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def _output(folder: bool | None) -> Callable[[str], Any]:
    def check(value: str) -> Any:
        from codesign.artifacts import OutputError, check_output

        try:
            return check_output(value, folder=folder)
        except OutputError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return check


def add_out(p: argparse.ArgumentParser, help_: str, *, folder: bool | None = True, default: str | None = None) -> None:
    """``--out``, checked before the command starts: no folder where a file exists (``folder=True``), no file
    where a folder exists (``False``), a writable place (``None``: either kind)."""
    p.add_argument("--out", required=default is None, default=default, type=_output(folder), help=help_)


def with_overrides(spec: Any, args: argparse.Namespace) -> Any:
    """``spec`` with ``training.epochs`` / ``training.seed`` replaced where the command line gives them (the
    overrides of sweeps and the Python API, ``codesign.config.with_overrides``)."""
    from codesign.config import with_overrides as override

    changes = {f"training.{k}": getattr(args, k) for k in ("epochs", "seed") if getattr(args, k) is not None}
    return override(type(spec), spec, changes, where="command line") if changes else spec


def _variant_name(text: str) -> str:
    try:
        return parse_variant(text).name
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_variants(p: argparse.ArgumentParser, default: tuple[str, ...] = DEFAULT_VARIANTS) -> None:
    p.add_argument("--variants", nargs="+", type=_variant_name, default=list(default),
                   help="designs to implement: fixed, reconfig, reconfig_tmr; a reconfigurable one with a reuse "
                        "factor R as e.g. reconfig_tmr_r4")


INPUT_FOLDERS = ("model", "model_a", "model_b", "rtl", "vectors")  # argument names of folders a command reads
INPUT_FILES = ("config", "data")  # of files it reads (--data: a path, a name in the real-data folder or synth:)


def _named(values: Any) -> list[str]:
    return [] if values is None else [str(v) for v in values] if isinstance(values, list) else [str(values)]


def check_inputs(args: argparse.Namespace) -> None:
    """The folders and files a command reads exist: checked before its handler runs, so that a mistyped path
    is refused at once and not after TensorFlow has loaded (seconds and hundreds of MB)."""
    from codesign.data.sources import SYNTH_PREFIX, source_path
    from codesign.errors import InputError

    for key in INPUT_FOLDERS:
        for value in _named(getattr(args, key, None)):
            if not Path(value).is_dir():
                why = "not a folder" if Path(value).exists() else "no such folder"
                raise InputError(f"--{key.replace('_', '-')} {value}: {why}")
    for key in INPUT_FILES:
        for value in _named(getattr(args, key, None)):
            if key == "data" and value.startswith(SYNTH_PREFIX):
                continue
            path = source_path(value) if key == "data" else Path(value)
            if not path.is_file():
                where = f" (nor in the real-data folder {path.parent})" if path != Path(value) else ""
                why = "not a regular file" if path.exists() else "no such file"
                raise InputError(f"--{key} {value}: {why}{where}")
