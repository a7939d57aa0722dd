"""``cached_property`` without Python 3.11's lock.

Python 3.11's :func:`functools.cached_property` holds one lock per *class* while it computes,
so a property that asks the chain (a head block's time) makes every instance of the class
wait for every other: the API's per-request services answered one request at a time
(bench/http_reads.py). Python 3.12 removed that lock; this is 3.12's behaviour: the value is
computed on first access and kept in the instance's ``__dict__`` (two threads reading one
instance's property at once may both compute it; the last one is kept).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class cached_property(Generic[T]):
    """Compute once per instance, on first access; no lock."""

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> cached_property[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> T | cached_property[T]:
        if obj is None:
            return self
        value = self.func(obj)
        obj.__dict__[self.name] = value
        return value
