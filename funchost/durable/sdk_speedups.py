"""Host-side speed-ups for the Durable SDK's replay, with identical results, and the policy for applying them.

The speed-ups:

* ``timestamps``: the SDK parses every history event's ``Timestamp`` with ``dateutil.parser.parse`` on every
  replay, which is ~80% of replay time (durable-protocol.md §7). funchost writes timestamps in exactly one format,
  so it swaps the SDK module's ``dt_parse`` for a parser that handles that format directly (and remembers what it
  parsed: every replay parses the same history again) and hands anything else to dateutil. The tz object is the
  one dateutil itself returns for ``Z`` on this machine, so the values are equal *and* identical in type.
* ``namedtuple``: ``TaskOrchestrationExecutor.__init__`` builds a ``namedtuple`` class on every orchestrator call
  (~0.1 ms, a good part of a short orchestration's episode); the module's ``namedtuple`` is replaced by a cached
  one, which returns the same (equal) class each time.

The user's code and the SDK's code are unchanged. The policy (:func:`install`):

1. ``FUNCHOST_SDK_SPEEDUPS`` decides: ``0``/``off``/``false`` never patches; unset or ``1``/``on``/``true``
   patches when 2. and 3. hold; any other value is a configuration error.
2. Only an SDK version listed in :data:`VERIFIED_SDK_VERSIONS` is patched: the versions whose replay results the
   tests compare with and without the speed-ups (tests/test_durable_speedups.py). Another version runs unpatched,
   and the reason is logged and shown under ``sdkSpeedups`` in ``/admin/host/status``: to add a version, pin it,
   run those tests, and list it here.
3. Each patch checks its target is still what it replaces (``dt_parse`` is ``dateutil.parser.parse``, the
   executor's ``namedtuple`` is ``collections.namedtuple``) and, for timestamps, that both parsers agree on sample
   timestamps at install time; a patch whose check fails is skipped, with the reason.

:func:`uninstall` puts the originals back (tests compare both ways in one process).
"""

from __future__ import annotations

import collections
import functools
import importlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any, Callable

from funchost.errors import ConfigError

VERIFIED_SDK_VERSIONS = frozenset({"1.7.0"})
SETTING = "FUNCHOST_SDK_SPEEDUPS"
_FORMAT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?Z")
_MODULE = "azure.durable_functions.models.history.HistoryEvent"
_EXECUTOR_MODULE = "azure.durable_functions.models.TaskOrchestrationExecutor"
_SAMPLES = (
    "2024-01-01T00:00:00.1234567Z",
    "2024-02-29T23:59:59.0000000Z",
    "1999-12-31T12:00:00Z",
    "2031-06-15T08:30:15.5Z",
)
_ON, _OFF = {"", "1", "on", "true"}, {"0", "off", "false"}
_SEEN_MAX = 100_000  # timestamps remembered by the fast parser (a few MB), then forgotten all at once


@dataclass
class SpeedupReport:
    """What :func:`install` did: the patches now active, and why any other is not."""

    sdk_version: str
    active: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"sdkVersion": self.sdk_version, "active": list(self.active), "skipped": dict(self.skipped)}


def make_fast_parse(original: Callable[..., datetime]) -> Callable[..., datetime]:
    """A drop-in for ``original`` (dateutil's parse) that is fast for funchost's own timestamps."""
    z_tz = original("2000-01-01T00:00:00Z").tzinfo
    seen: dict[str, datetime] = {}  # a replay parses the same history's timestamps at every episode

    def fast_parse(text: Any, *args: Any, **kwargs: Any) -> datetime:
        if not args and not kwargs and isinstance(text, str):
            found = seen.get(text)
            if found is not None:
                return found  # datetimes are immutable: sharing one is safe
            m = _FORMAT.fullmatch(text)
            if m:
                y, mo, d, hh, mi, ss, frac = m.groups()
                micro = int((frac or "0")[:6].ljust(6, "0"))
                parsed = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss), micro, tzinfo=z_tz)
                if len(seen) >= _SEEN_MAX:
                    seen.clear()
                seen[text] = parsed
                return parsed
        return original(text, *args, **kwargs)

    fast_parse.original = original  # type: ignore[attr-defined]
    return fast_parse


def sdk_version() -> str:
    try:
        return metadata.version("azure-functions-durable")
    except metadata.PackageNotFoundError:
        return "not installed"


def wanted(environ: Any = None) -> bool:
    """Whether ``FUNCHOST_SDK_SPEEDUPS`` allows the speed-ups (ConfigError for a value it does not know)."""
    value = str((os.environ if environ is None else environ).get(SETTING, "")).strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ConfigError(f"{SETTING}={value!r}: use 1 (the default: speed-ups for a verified SDK) or 0 (none)")


def install(environ: Any = None, version: str | None = None) -> SpeedupReport:
    """Apply the speed-ups the policy allows (see the module docstring); returns what is active and why not."""
    report = SpeedupReport(version or sdk_version())
    if not wanted(environ):
        uninstall()
        report.skipped = {"all": f"{SETTING}=0"}
        return report
    if report.sdk_version not in VERIFIED_SDK_VERSIONS:
        uninstall()
        report.skipped = {
            "all": f"azure-functions-durable {report.sdk_version} is not one the speed-ups were verified with "
            f"({', '.join(sorted(VERIFIED_SDK_VERSIONS))})"
        }
        return report
    for name, patch in (("timestamps", _patch_timestamps), ("namedtuple", _patch_namedtuple)):
        problem = patch()
        if problem is None:
            report.active.append(name)
        else:
            report.skipped[name] = problem
    return report


def uninstall() -> None:
    """Restore the SDK's own functions (no-op when nothing is patched)."""
    module = importlib.import_module(_MODULE)
    original = getattr(getattr(module, "dt_parse", None), "original", None)
    if original is not None:
        module.dt_parse = original  # type: ignore[attr-defined]
    executor = importlib.import_module(_EXECUTOR_MODULE)
    if getattr(executor, "namedtuple", None) is _cached_namedtuple:
        executor.namedtuple = collections.namedtuple  # type: ignore[attr-defined]


def _patch_timestamps() -> str | None:
    from dateutil import parser

    module = importlib.import_module(_MODULE)
    current = getattr(module, "dt_parse", None)
    if getattr(current, "original", None) is not None:
        return None  # already installed
    if current is not parser.parse:
        return f"{_MODULE}.dt_parse is not dateutil.parser.parse"
    fast = make_fast_parse(current)
    for sample in _SAMPLES:
        mine, theirs = fast(sample), current(sample)
        if mine != theirs or type(mine.tzinfo) is not type(theirs.tzinfo):
            return f"the fast parser disagrees with dateutil on {sample}: {mine!r} != {theirs!r}"
    module.dt_parse = fast  # type: ignore[attr-defined]
    return None


def _patch_namedtuple() -> str | None:
    executor = importlib.import_module(_EXECUTOR_MODULE)
    current = getattr(executor, "namedtuple", None)
    if current is _cached_namedtuple:
        return None
    if current is not collections.namedtuple:
        return f"{_EXECUTOR_MODULE}.namedtuple is not collections.namedtuple"
    executor.namedtuple = _cached_namedtuple  # type: ignore[attr-defined]
    return None


def _cached_namedtuple(typename: str, field_names: Any, **options: Any) -> type:
    if options or not isinstance(field_names, (str, tuple)):
        return collections.namedtuple(typename, field_names, **options)
    return _namedtuple_once(typename, field_names)


@functools.lru_cache(maxsize=64)
def _namedtuple_once(typename: str, field_names: str | tuple[str, ...]) -> type:
    return collections.namedtuple(typename, field_names)
