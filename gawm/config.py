"""Typed, validated configuration objects built from plain dicts (parsed YAML).

Every hyperparameter lives in exactly one YAML file under config/; the dataclasses here and in the modules
that declare them only say which keys exist and of what type. `from_dict` rejects unknown keys, missing
keys and values of the wrong type with one clear message, so a typo in a config never runs silently.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or dict does not match the dataclass it should build."""


def _check_type(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(tp):
            try:
                return _check_type(value, arm, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} is not of type {tp}")
    if tp is type(None):
        if value is not None:
            raise ConfigError(f"{where}: expected null, got {value!r}")
        return value
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{where}: {value!r} is not one of {typing.get_args(tp)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (arm, *_) = typing.get_args(tp) or (Any,)
        items = [_check_type(v, arm, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def from_dict(cls: type[T], data: Any, where: str | None = None) -> T:
    """Build dataclass `cls` from `data`, checking keys and types recursively."""
    where = where or cls.__name__
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(fields)}")
    kwargs = {}
    for name, field in fields.items():
        if name not in data:
            has_default = field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
            if has_default:
                continue
            raise ConfigError(f"{where}: missing key '{name}'")
        kwargs[name] = _check_type(data[name], hints[name], f"{where}.{name}")
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate()
    return obj


class _Loader(yaml.SafeLoader):
    """PyYAML's SafeLoader (YAML 1.1) plus YAML 1.2's floats: `3e-4` and `1e6` are numbers, not strings.

    YAML 1.1 only reads exponents with a dot and a signed exponent (`3.0e-4`) as floats, a quirk users hit
    with learning rates all the time; YAML 1.2 (and every other YAML parser users know) reads `3e-4`."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                  |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                  |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping; a missing file, a syntax error (with its line) or a non-mapping top level is a
    ConfigError of one line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        with path.open() as fh:
            data = yaml.load(fh, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark, ctx = exc.problem_mark or exc.context_mark, exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        if ctx is not None and mark is not None and ctx.line != mark.line:
            what += f" (the construct began on line {ctx.line + 1})"
        raise ConfigError(f"{where}: YAML syntax error: {what}; fix that line (indentation, a missing ':' "
                          f"or an unclosed quote/bracket)") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not readable as YAML ({exc.__class__.__name__}); fix the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return data


class BlockTracker(dict):
    """A method config (top-level blocks -> dicts) that records which blocks the method read.

    Methods read their blocks as `cfg["world_model"]`; a misspelt block (`wolrd_model:`) is then either a
    KeyError deep inside a constructor or silently ignored. `gawm train` builds the method from a tracker
    and calls `check_blocks`, which turns both cases into one line naming the file and the block."""

    IGNORED = frozenset({"maps", "base"})  # per-map overrides and overlay parents are consumed on load

    def __init__(self, data: dict):
        super().__init__(data)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key) -> bool:
        self.read.add(key)
        return super().__contains__(key)

    def unread(self) -> list[str]:
        return sorted(k for k in self if k not in self.read and k not in self.IGNORED)


def missing_block_error(key: str, cfg: dict, source: str | Path) -> ConfigError:
    """The one-line error for a block a method needs but the config lacks (KeyError `key`)."""
    near = difflib.get_close_matches(str(key), [str(k) for k in cfg], n=1)
    hint = f" (found '{near[0]}': misspelt?)" if near else f"; blocks present: {sorted(map(str, cfg))}"
    return ConfigError(f"{source}: missing top-level block '{key}'{hint}")


def check_blocks(cfg: BlockTracker, source: str | Path) -> None:
    """Refuse top-level blocks no part of the method read (typos of optional blocks, stale blocks)."""
    unread = cfg.unread()
    if unread:
        hints = []
        for k in unread:
            near = difflib.get_close_matches(k, sorted(cfg.read), n=1)
            hints.append(f"'{k}'" + (f" (did you mean '{near[0]}'?)" if near else ""))
        raise ConfigError(f"{source}: unknown top-level block(s) {', '.join(hints)}; "
                          f"this method reads {sorted(k for k in cfg.read if k in cfg)}")
