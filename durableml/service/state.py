"""Everything the service keeps in memory between calls, declared in one place, each with the rule that
makes keeping it safe, and one :func:`reset` that forgets all of it (tests call it between storages).

The service runs in the Function App's worker process(es), possibly several on several machines; nothing
here may be needed for correctness across processes. Each piece is one of:

* :func:`cache`: a dict, for values that only this process writes or that never change once written;
* :func:`recent`: the same, bounded: it forgets the entries written longest ago (thread-safe);
* :func:`memoize`: an ``lru_cache`` over a function whose answer for given arguments never changes
  (documents of runs and published pipelines are immutable);
* :func:`singleton`: one lazily built object per process (storage clients: thread-safe, costly to build).

Not here: the long poll's waiters (:mod:`durableml.service.changes`), which are requests in flight, not
kept data. :func:`describe` lists every piece with its rule (see docs/design/pipeline-runtime.md, "Service state").
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Generic, Optional, TypeVar

__all__ = ["cache", "recent", "memoize", "singleton", "reset", "describe", "Recent", "Singleton"]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class _Entry:
    name: str
    rule: str
    clear: Callable[[], None]


_entries: list[_Entry] = []
_lock = threading.Lock()


def _register(name: str, rule: str, clear: Callable[[], None]) -> None:
    with _lock:
        if any(e.name == name for e in _entries):
            raise ValueError(f"service state {name!r} is declared twice")
        _entries.append(_Entry(name, rule, clear))


def cache(name: str, rule: str) -> dict[Any, Any]:
    """A process-wide dict called ``name``; ``rule`` says why keeping its values is safe."""
    values: dict[Any, Any] = {}
    _register(name, rule, values.clear)
    return values


class Recent(Generic[K, V]):
    """At most ``maxsize`` entries; writing one past that forgets the one written longest ago. Thread-safe."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> Optional[V]:
        with self._lock:
            return self._values.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.maxsize:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)


def recent(name: str, rule: str, maxsize: int = 4096) -> Recent[Any, Any]:
    """A process-wide :class:`Recent` called ``name``; ``rule`` says why keeping its values is safe."""
    values: Recent[Any, Any] = Recent(maxsize)
    _register(name, rule, values.clear)
    return values


def memoize(name: str, rule: str, maxsize: int = 256) -> Callable[[F], F]:
    """``functools.lru_cache(maxsize)`` over a function whose answers never change (``rule`` says why)."""

    def decorate(function: F) -> F:
        cached = functools.lru_cache(maxsize=maxsize)(function)
        _register(name, rule, cached.cache_clear)
        return cached  # type: ignore[return-value]

    return decorate


class Singleton(Generic[T]):
    """One object per process, built on first :meth:`get` by ``factory``."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: Optional[T] = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._factory()
                value = self._value
        return value

    def clear(self) -> None:
        with self._lock:
            self._value = None


def singleton(name: str, rule: str, factory: Callable[[], T]) -> Singleton[T]:
    """A :class:`Singleton` called ``name``, forgotten by :func:`reset`."""
    holder = Singleton(factory)
    _register(name, rule, holder.clear)
    return holder


def reset() -> None:
    """Forget every cache, memo and singleton (the next call builds them anew, e.g. for another storage)."""
    with _lock:
        entries = list(_entries)
    for entry in entries:
        entry.clear()


def describe() -> list[tuple[str, str]]:
    """``(name, rule)`` of every piece of service state, in declaration order."""
    with _lock:
        return [(e.name, e.rule) for e in _entries]
