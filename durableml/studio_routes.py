"""Which routes of the durableml HTTP API the studio page may call, and matching a request path to one.

The page reads the same HTTP API the SDK uses (``/api/<route>``), through ``/api/studio/api/<route>``: that route
authorises the studio session (durableml.studio_auth) and hands the request to the API's own function for
``<route>``, so the answers, error mapping and long polls are the API's. Only the routes and methods listed in
:data:`ALLOWED` pass: the page reads runs, steps, logs, metrics, files, published pipelines, endpoints,
schedules, datastores, datasets and computes, and it cancels or resumes runs and enables or disables published
pipelines, endpoints and schedules. Anything else (registering datastores, uploading snapshots, deleting
computes...) is refused with 403 ``NotAllowedInStudio`` even for a signed-in user.

Route templates are the Functions host's (ASP.NET) syntax: ``{name}``, ``{name?}`` (optional), ``{*rest}``
(catch-all); a path matches the template with the most literal segments first, as the host orders them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, Optional, Sequence, TypeVar

T = TypeVar("T")

ALLOWED: dict[str, frozenset[str]] = {
    "workspace": frozenset({"GET"}),
    "experiments": frozenset({"GET"}),
    "experiments/{experiment}/runs": frozenset({"GET"}),
    "runs/{run_id}": frozenset({"GET"}),
    "runs/{run_id}/steps": frozenset({"GET"}),
    "runs/{run_id}/logs": frozenset({"GET"}),
    "runs/{run_id}/metrics": frozenset({"GET"}),
    "runs/{run_id}/files/{*name}": frozenset({"GET"}),
    "runs/{run_id}/reuse": frozenset({"GET"}),
    "runs/{run_id}/cancel": frozenset({"POST"}),
    "runs/{run_id}/resume": frozenset({"POST"}),
    "snapshots/manifests/{id}": frozenset({"GET"}),
    "published-pipelines": frozenset({"GET"}),
    "published-pipelines/{id}": frozenset({"GET", "PATCH"}),
    "pipeline-endpoints": frozenset({"GET"}),
    "pipeline-endpoints/{id}": frozenset({"GET", "PATCH"}),
    "pipeline-drafts": frozenset({"GET"}),
    "pipeline-drafts/{id}": frozenset({"GET"}),
    "schedules": frozenset({"GET"}),
    "schedules/{schedule_id}": frozenset({"GET", "PATCH"}),
    "schedules/{schedule_id}/runs": frozenset({"GET"}),
    "datastores/{name?}": frozenset({"GET"}),
    "datastores/{name}/files/{*path}": frozenset({"GET"}),
    "datasets/{name?}": frozenset({"GET"}),
    "computes/{name?}": frozenset({"GET"}),
    "models/{name?}": frozenset({"GET"}),
}

_PARAM = re.compile(r"^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(\?)?\}$")


@dataclass(frozen=True)
class Template:
    """A compiled route template."""

    text: str
    regex: "re.Pattern[str]"
    literals: int


def compile_template(text: str) -> Template:
    """Compile a route template (``{name}``, ``{name?}``, ``{*rest}``); ValueError for other syntax."""
    pattern, literals = "", 0
    for i, segment in enumerate(s for s in text.strip("/").split("/") if s):
        sep = "/" if i else ""
        found = _PARAM.match(segment)
        if not found:
            if "{" in segment or "}" in segment:
                raise ValueError(f"route template {text!r}: unsupported segment {segment!r}")
            pattern += sep + re.escape(segment)
            literals += 1
            continue
        catch_all, name, optional = found.groups()
        body = ".*" if catch_all else "[^/]+"
        pattern += f"(?:{sep}(?P<{name}>{body}))?" if catch_all or optional else f"{sep}(?P<{name}>{body})"
    return Template(text, re.compile(pattern, re.IGNORECASE), literals)


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A route of the table: its template and what serves it (``target``)."""

    template: Template
    target: T


@dataclass(frozen=True)
class Match(Generic[T]):
    """A matched route: what serves it and the route parameters."""

    entry: Entry[T]
    params: dict[str, str]


class RouteTable(Generic[T]):
    """Routes in the host's order (more literal segments first); ``match`` finds the one serving a path."""

    def __init__(self, entries: Sequence[tuple[str, T]]) -> None:
        compiled = [Entry(compile_template(text), target) for text, target in entries]
        self.entries = sorted(compiled, key=lambda e: -e.template.literals)

    def match(self, path: str) -> Optional[Match[T]]:
        for entry in self.entries:
            found = entry.template.regex.fullmatch(path.strip("/"))
            if found:
                return Match(entry, {k: v for k, v in found.groupdict().items() if v is not None})
        return None


def allowed(template: str, method: str) -> bool:
    """Whether the studio may call ``method`` on the API route ``template``."""
    return method.upper() in ALLOWED.get(template, frozenset())
