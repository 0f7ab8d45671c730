"""Typed configuration loaded from YAML and validated on load.

Every configurable value of the project is a field of a frozen dataclass. YAML
(or a dict) is checked against the dataclass: unknown keys, wrong types and values
outside their declared choices or range are reported with the dotted key path and
the file they came from, so a typo fails at start-up instead of silently falling
back to a default.

Constraints are declared next to the field with ``field(metadata=...)``:
``choices`` (allowed values), ``min`` / ``max`` (inclusive bounds) and ``length``
(for sequences).
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml

from cluenet_ros.errors import InputError

T = TypeVar("T")


class ConfigError(InputError, ValueError):
    """A configuration file or mapping that does not match its schema."""


def spec(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING,
         help: str = "", choices: tuple | None = None, min: float | None = None,
         max: float | None = None, length: int | None = None) -> Any:
    """A dataclass field carrying its documentation and validation constraints."""
    meta = {"help": help, "choices": choices, "min": min, "max": max, "length": length}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} matches none of "
                          + ", ".join(_type_name(a) for a in args))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return _build(tp, value, where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
            return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if math.isnan(value):
            raise ConfigError(f"{where}: expected a number, got NaN")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported field type {tp!r}")


def _check(value: Any, meta: Mapping[str, Any], where: str) -> None:
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, choices))}")
    values = value if isinstance(value, (list, tuple)) else [value]
    lo, hi = meta.get("min"), meta.get("max")
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if (lo is not None or hi is not None) and not math.isfinite(v):
                raise ConfigError(f"{where}: {v!r} is not a finite number")
            if lo is not None and v < lo:
                raise ConfigError(f"{where}: {v!r} is below the minimum {lo}")
            if hi is not None and v > hi:
                raise ConfigError(f"{where}: {v!r} is above the maximum {hi}")
    length = meta.get("length")
    if length is not None and isinstance(value, (list, tuple)) and len(value) != length:
        raise ConfigError(f"{where}: expected {length} values, got {len(value)}")


def _build(cls: type[T], data: Mapping[str, Any], where: str) -> T:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or '<root>'}: expected a mapping, got {type(data).__name__}")
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise ConfigError(f"{where or '<root>'}: keys must be strings, got {bad_keys[0]!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where or '<root>'}: unknown key(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(fields))}")
    kwargs = {}
    for name, f in fields.items():
        key = f"{where}.{name}" if where else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{key}: required")
            continue
        value = _convert(data[name], hints[name], key)
        _check(value, f.metadata, key)
        kwargs[name] = value
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except ValueError as exc:
            raise ConfigError(f"{where or '<root>'}: {exc}") from None
    return obj


def from_dict(cls: type[T], data: Mapping[str, Any] | None, source: str = "") -> T:
    """Build and validate ``cls`` from a mapping; ``source`` names it in errors."""
    try:
        return _build(cls, data or {}, "")
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}" if source else str(exc)) from None


def _read_mapping(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    """A YAML mapping with its ``base:`` files merged underneath it.

    ``base: other.yaml`` (relative to the file naming it) lets a variant, such as an
    ablation, state only what differs from the run it is compared with; nested
    mappings merge key by key, and anything else in the variant replaces the base.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    data = dict(data)
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: 'base' must be the path of another YAML file")
    base_path = (path.parent / base).resolve()
    if base_path in chain or base_path == path.resolve():
        raise ConfigError(f"{path}: 'base' chain loops back to {base_path}")
    return _merge(_read_mapping(base_path, chain + (path.resolve(),)), data)


def _merge(base: Mapping, over: Mapping) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_yaml(cls: type[T], path: str | Path, section: str | None = None) -> T:
    """Load ``cls`` from a YAML file (optionally one top-level ``section`` of it)."""
    path = Path(path)
    data = _read_mapping(path)
    if section is not None:
        data = data.get(section) or {}
    return from_dict(cls, data, str(path) + (f" [{section}]" if section else ""))


def to_dict(obj: Any) -> Any:
    """Plain-data form of a config (for checkpoints and logs); inverse of from_dict."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


def differences(a: Mapping | None, b: Mapping | None) -> dict[str, tuple]:
    """Dotted key -> (a's value, b's value) for every leaf that differs between two nested
    mappings (a key on one side only reads as None on the other): what changed between two
    configs or recipes, for messages that name it."""
    def flat(d: Mapping, pre: str = "") -> dict:
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{pre}{k}.") if isinstance(v, Mapping) and v else {pre + str(k): v})
        return out

    fa, fb = flat(a or {}), flat(b or {})
    return {k: (fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)}
