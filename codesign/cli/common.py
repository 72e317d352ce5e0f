"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Handler = Callable[[argparse.Namespace], None]


def add_command(sub: argparse._SubParsersAction, name: str, handler: Handler, help_: str,
         description: str | None = None) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_, description=description or help_)
    p.set_defaults(handler=handler)
    return p


def with_overrides(spec: Any, args: argparse.Namespace) -> Any:
    """``spec`` with ``training.epochs`` / ``training.seed`` replaced where the command line gives them."""
    import dataclasses

    changes = {k: getattr(args, k) for k in ("epochs", "seed") if getattr(args, k) is not None}
    return dataclasses.replace(spec, training=dataclasses.replace(spec.training, **changes)) if changes else spec
