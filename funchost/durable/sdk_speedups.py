"""Host-side speed-ups for the Durable SDK's replay, with identical results.

* The SDK parses every history event's ``Timestamp`` with ``dateutil.parser.parse`` on every replay, which
  is ~80% of replay time (durable-protocol.md §7). funchost writes timestamps in exactly one format, so it
  swaps the SDK module's ``dt_parse`` for a parser that handles that format directly and hands anything
  else to dateutil. The tz object is the one dateutil itself returns for ``Z`` on this machine, so the
  values are equal *and* identical in type.
* ``TaskOrchestrationExecutor.__init__`` builds a ``namedtuple`` class on every orchestrator call (~0.1 ms,
  a good part of a short orchestration's episode); the module's ``namedtuple`` is replaced by a cached
  one, which returns the same (equal) class each time.

The user's code and the SDK's code are unchanged.
"""

from __future__ import annotations

import collections
import functools
import importlib
import re
from datetime import datetime
from typing import Any, Callable

_FORMAT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?Z")
_MODULE = "azure.durable_functions.models.history.HistoryEvent"
_EXECUTOR_MODULE = "azure.durable_functions.models.TaskOrchestrationExecutor"


def make_fast_parse(original: Callable[..., datetime]) -> Callable[..., datetime]:
    """A drop-in for ``original`` (dateutil's parse) that is fast for funchost's own timestamps."""
    z_tz = original("2000-01-01T00:00:00Z").tzinfo

    def fast_parse(text: Any, *args: Any, **kwargs: Any) -> datetime:
        if not args and not kwargs and isinstance(text, str):
            m = _FORMAT.fullmatch(text)
            if m:
                y, mo, d, hh, mi, ss, frac = m.groups()
                micro = int((frac or "0")[:6].ljust(6, "0"))
                return datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss), micro, tzinfo=z_tz)
        return original(text, *args, **kwargs)

    fast_parse.original = original  # type: ignore[attr-defined]
    return fast_parse


def install() -> bool:
    """Patch the SDK's modules once; returns False if the SDK layout is not the expected one."""
    module = importlib.import_module(_MODULE)
    current = getattr(module, "dt_parse", None)
    if current is None:
        return False
    if getattr(current, "original", None) is None:
        module.dt_parse = make_fast_parse(current)  # type: ignore[attr-defined]
    executor = importlib.import_module(_EXECUTOR_MODULE)
    if getattr(executor, "namedtuple", None) is collections.namedtuple:
        executor.namedtuple = _cached_namedtuple  # type: ignore[attr-defined]
    return True


def _cached_namedtuple(typename: str, field_names: Any, **options: Any) -> type:
    if options or not isinstance(field_names, (str, tuple)):
        return collections.namedtuple(typename, field_names, **options)
    return _namedtuple_once(typename, field_names)


@functools.lru_cache(maxsize=64)
def _namedtuple_once(typename: str, field_names: str | tuple[str, ...]) -> type:
    return collections.namedtuple(typename, field_names)
