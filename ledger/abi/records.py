"""Our frozen records built by their own field lists: from a view's decoded struct
(:func:`record_from_view`) or from a reducer's mutable record (:func:`record_from`).

The contracts' views answer structs whose members are the record's fields in camelCase
(``approvalMotionId`` -> ``approval_motion_id``); :func:`record_from_view` converts each
member by the field's declared type (``int``, ``bytes``, ``str``, ``bool`` or an ``IntEnum``
of the contract's values). A field whose value needs more than that (an optional address,
a tuple, a key) is passed by the caller, already converted, as a keyword.

The reducers fold events into mutable records and answer views as the frozen ones:
:func:`record_from` copies the fields the two share by name and takes the derived ones
(a state at a time, a total) as keywords.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Any, TypeVar

T = TypeVar("T")

_Convert = Callable[[Any], object]
_PLAIN: dict[object, _Convert] = {int: int, bytes: bytes, str: str, bool: bool}


def camel(name: str) -> str:
    """``approval_motion_id`` -> ``approvalMotionId`` (a struct member's name in the ABI)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _converter(hint: object) -> _Convert | None:
    if hint in _PLAIN:
        return _PLAIN[hint]
    if isinstance(hint, type) and issubclass(hint, IntEnum):
        enum = hint
        return lambda v: enum(int(v))
    return None  # the caller converts it


_Plan = tuple[tuple[str, str, _Convert | None], ...]
_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    """Each field's name, its struct member's name and its conversion (worked out once a class)."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = _PLANS[cls] = tuple(
            (f.name, camel(f.name), _converter(hints[f.name])) for f in dataclasses.fields(cls)
        )
    return plan


def record_from_view(cls: type[T], raw: Mapping[str, Any], **given: object) -> T:
    """``cls`` built from a view's decoded struct ``raw``; ``given`` holds the fields converted
    by the caller (every field whose type is not int, bytes, str, bool or an IntEnum)."""
    values: dict[str, object] = {}
    for name, key, convert in _plan(cls):
        if name in given:
            values[name] = given[name]
        elif convert is None:
            raise TypeError(f"{cls.__name__}.{name} must be given: its type has no plain conversion")
        else:
            values[name] = convert(raw[key])
    return cls(**values)


_NAMES: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """The dataclass ``cls``'s field names, in order (worked out once a class)."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def record_from(cls: type[T], source: object, **given: object) -> T:
    """``cls`` with each field from ``given`` when there, else from ``source``'s attribute of that name."""
    for name in field_names(cls):
        if name not in given:
            given[name] = getattr(source, name)
    return cls(**given)


_KEYS: dict[type, tuple[tuple[str, str], ...]] = {}


def view_struct(cls: type, source: object, **given: object) -> dict[str, object]:
    """The struct the contract's view answers for the record ``cls``, by member name: each field
    from ``given`` when there, else ``source``'s attribute of that name (the inverse of
    :func:`record_from_view`, as the auditor's expected answers)."""
    keys = _KEYS.get(cls)
    if keys is None:
        keys = _KEYS[cls] = tuple((name, camel(name)) for name in field_names(cls))
    return {key: given[name] if name in given else getattr(source, name) for name, key in keys}
