"""Typed configuration: frozen dataclasses loaded from YAML in one place.

``load_config(cls, path)`` maps a YAML document onto a (nested) frozen dataclass. Unknown keys, missing
keys and wrong types raise ``ConfigError`` naming the file and the dotted key, and listing the valid keys,
so a typo in a config never silently falls back to a default.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from codesign.errors import InputError

T = TypeVar("T")


class ConfigError(InputError):
    """A configuration file or mapping does not match its schema."""


def _check_scalar(value: Any, typ: Any, where: str) -> Any:
    if typ is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if typ is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if typ in (str, bool) and isinstance(value, typ):
        return value
    raise ConfigError(f"{where}: expected {typ.__name__}, got {value!r}")


def _convert(value: Any, typ: Any, where: str) -> Any:
    origin = typing.get_origin(typ)
    if isinstance(typ, type) and dataclasses.is_dataclass(typ):
        return from_mapping(typ, value, where)
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item_type, *rest) = typing.get_args(typ)
        return tuple(_convert(v, item_type, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(typ)
        if value is None and type(None) in args:
            return None
        return _convert(value, next(a for a in args if a is not type(None)), where)
    if origin is typing.Literal:
        if value not in typing.get_args(typ):
            raise ConfigError(f"{where}: {value!r} is not one of {list(typing.get_args(typ))}")
        return value
    return _check_scalar(value, typ, where)


def from_mapping(cls: type[T], mapping: Any, where: str = "config") -> T:
    """Build dataclass ``cls`` from a mapping, validating every key recursively."""
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: expected a mapping of {cls.__name__} fields, got {mapping!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {sorted(fields)}")
    kwargs = {}
    for name, field in fields.items():
        key = f"{where}.{name}"
        if name in mapping:
            kwargs[name] = _convert(mapping[name], hints[name], key)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key}: missing required key")
    try:
        return cls(**kwargs)
    except ValueError as err:  # __post_init__ range checks
        raise ConfigError(f"{where}: {err}") from err


def read_yaml(path: str | Path, what: str = "config file") -> Any:
    """The content of YAML file ``path``; a missing, unreadable or malformed file is a ``ConfigError`` that
    names it."""
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, expected a {what}") from None
    except PermissionError:
        raise ConfigError(f"{path}: no permission to read this {what}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not a text file (byte {err.start} is not UTF-8)") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML: {err}") from None


def load_config(cls: type[T], path: str | Path) -> T:
    """Load YAML file ``path`` into dataclass ``cls``; errors name the file and the key."""
    return from_mapping(cls, read_yaml(path), where=str(path))


def to_mapping(obj: Any) -> dict[str, Any]:
    """Dataclass -> plain dict (tuples become lists) suitable for YAML/JSON."""

    def plain(v: Any) -> Any:
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(obj))


def _section(mapping: dict[str, Any], dotted: str, where: str, kind: str) -> tuple[dict[str, Any], str]:
    *parents, leaf = dotted.split(".")
    node: Any = mapping
    for i, part in enumerate(parents):
        node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ConfigError(f"{where}: {kind} {dotted!r}: {'.'.join(parents[: i + 1])!r} is not a section")
    if leaf not in node:
        raise ConfigError(f"{where}: {kind} {dotted!r}: no field {leaf!r}; valid: {sorted(node)}")
    return node, leaf


def apply_overrides(base: dict[str, Any], overrides: dict[str, Any], where: str = "overrides",
                    *, kind: str = "key") -> dict[str, Any]:
    """A copy of config mapping ``base`` with every ``dotted.key: value`` set (a mapping value is merged into that
    section): the one override mechanism of sweeps (grid keys), the command line and the Python API."""
    spec = copy.deepcopy(base)
    for dotted, value in overrides.items():
        node, leaf = _section(spec, dotted, where, kind)
        if isinstance(value, dict):
            if not isinstance(node[leaf], dict):
                raise ConfigError(f"{where}: {kind} {dotted!r} is a field, its values cannot be mappings")
            for key in value:
                _section(node[leaf], key, f"{where}: {kind} {dotted!r}", "key")
            node[leaf] = {**node[leaf], **value}
        else:
            node[leaf] = value
    return spec


def dotted_key(mapping: dict[str, Any], name: str, where: str = "overrides") -> str:
    """``name`` as a dotted key of ``mapping``: itself when dotted, else the one section field of that name
    (``epochs`` -> ``training.epochs``); ambiguous or unknown names raise ``ConfigError`` with the options."""
    if "." in name or name in mapping:
        return name
    found = [f"{section}.{name}" for section, node in mapping.items() if isinstance(node, dict) and name in node]
    if len(found) != 1:
        raise ConfigError(f"{where}: {name!r} " + (f"is ambiguous: use one of {found}" if found else
                                                   "is no field of any section; give a dotted key"))
    return found[0]


def with_overrides(cls: type[T], obj: T, overrides: dict[str, Any], where: str = "overrides") -> T:
    """Dataclass config ``obj`` with ``overrides`` (dotted keys, or field names unique across sections)
    applied and every value validated again."""
    base = to_mapping(obj)
    dotted = {dotted_key(base, name, where): value for name, value in overrides.items()}
    return from_mapping(cls, apply_overrides(base, dotted, where), where)
