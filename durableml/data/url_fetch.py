"""Datasets over ``http(s)://`` URLs: where each URL's file lands, and fetching it to local disk.

The step runner stages URL inputs with it (``durableml/runner/staging.py``) and datasets read in user code
(``FileDataset.download``/``to_path``, ``TabularDataset.to_pandas_dataframe``) fetch with it: the data goes
from the web server straight to where it is read, never through the service. Standard library only.

* Layout: as for datastore paths (:mod:`durableml.data.layout`, v1 "removes a common prefix"), on
  ``host/path`` of each URL: one URL gives its last path segment (``https://h/d/iris.csv`` → ``iris.csv``),
  several keep what follows the folder they share (``h/d/train/a.csv`` + ``h/d/test/a.csv`` →
  ``train/a.csv``, ``test/a.csv``); URLs on different hosts keep their host as the first folder.
* Fetch: a GET streamed into a temporary file beside the destination, renamed once complete; redirects
  followed (urllib's handler, up to 10); ``DURABLEML_URL_TIMEOUT`` seconds (default 60) to connect and
  between reads; at most ``DURABLEML_URL_MAX_BYTES`` (default 20 GiB) per file; a body shorter than its
  ``Content-Length`` counts as failed. Connection failures, timeouts and HTTP 408/429/502/503/504 are tried
  three times; any other HTTP error fails at once. Up to 8 files are fetched at a time.
* Errors (:class:`UrlFetchError`) name the URL and the HTTP status; a URL's credentials never reach a
  message: :func:`safe_url` drops a ``user:password@`` and a query string carrying a SAS signature (``sig=``).
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any, Optional
from urllib.parse import unquote, urlsplit, urlunsplit

from durableml._version import __version__
from durableml.data import layout
from durableml.exceptions import UserErrorException, ValidationError

__all__ = [
    "UrlFetchError",
    "is_url",
    "safe_url",
    "url_entries",
    "url_layout",
    "fetch",
    "fetch_all",
    "select_files",
    "relative_dest",
    "TIMEOUT_SETTING",
    "MAX_BYTES_SETTING",
]

TIMEOUT_SETTING = "DURABLEML_URL_TIMEOUT"
MAX_BYTES_SETTING = "DURABLEML_URL_MAX_BYTES"
_DEFAULT_TIMEOUT = 60.0
_DEFAULT_MAX_BYTES = 20 * 1024**3
_ATTEMPTS = 3
_RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
_CHUNK = 1024 * 1024
_PARALLEL = 8
_SAS = re.compile(r"(^|&)sig=", re.IGNORECASE)
_SCHEMES = ("http", "https")


class UrlFetchError(UserErrorException):
    """A dataset URL could not be read: its (safe) URL and the HTTP status, when there was one."""

    def __init__(self, message: str, url: str = "", status: Optional[int] = None) -> None:
        super().__init__(message)
        self.url = safe_url(url) if url else ""
        self.status = status


class _Transient(Exception):
    """A failure worth another attempt (connection, timeout, 5xx gateway errors)."""

    def __init__(self, error: UrlFetchError) -> None:
        super().__init__(str(error))
        self.error = error


def is_url(path: object) -> bool:
    """Whether a dataset path is an ``http(s)://`` URL."""
    return isinstance(path, str) and urlsplit(path).scheme.lower() in _SCHEMES


def safe_url(url: str) -> str:
    """``url`` as messages may show it: without a password and without a query string holding ``sig=``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<a malformed URL>"
    netloc = parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
    query = "<SAS token removed>" if _SAS.search(parts.query) else parts.query
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def url_entries(definition: Mapping[str, Any]) -> list[str]:
    """The URLs among a dataset definition's paths (``{"url": ...}`` entries), in order."""
    return [str(p["url"]) for p in definition.get("paths") or [] if isinstance(p, Mapping) and p.get("url")]


def _key(url: str) -> str:
    """``host/path`` of an http(s) URL (percent-decoded), the name its file is laid out by."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        raise ValidationError(
            f"dataset path {safe_url(url)!r} is not an http(s) URL durableml can read; use http:// or https:// "
            "URLs, or upload the files to a datastore and build the dataset from (datastore, path)"
        )
    path = unquote(parts.path).strip("/")
    segments = [s for s in path.split("/") if s]
    if not segments or parts.path.endswith("/") or any(s in (".", "..") for s in segments):
        raise ValidationError(
            f"dataset URL {safe_url(url)!r} names no file (its path is empty, ends with '/' or holds '..'); "
            "give the URL of each file"
        )
    return "/".join([parts.hostname, *segments])


def url_layout(urls: Sequence[str]) -> list[tuple[str, str]]:
    """``(url, relative path)`` per URL: where its file lands below the dataset's root (see the module doc)."""
    keys = [_key(u) for u in urls]
    common = layout.common_folder(layout.path_folder(k, [k]) for k in keys)
    placed = [(u, layout.relative_to(k, common)) for u, k in zip(urls, keys, strict=True)]
    seen: dict[str, str] = {}
    for url, rel in placed:
        if rel in seen and seen[rel] != url:
            raise ValidationError(
                f"dataset URLs {safe_url(seen[rel])!r} and {safe_url(url)!r} would both be the file {rel!r}; "
                "a dataset's files need distinct paths"
            )
        seen[rel] = url
    return list(dict.fromkeys(placed))


def select_files(files: Sequence[Any], transforms: Iterable[Mapping[str, Any]]) -> list[Any]:
    """A FileDataset's ``take``/``skip`` transforms applied to its files (others do not select files)."""
    selected = list(files)
    for transform in transforms:
        if transform.get("kind") == "take":
            selected = selected[: int(transform["count"])]
        elif transform.get("kind") == "skip":
            selected = selected[int(transform["count"]) :]
    return selected


def _setting(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


def fetch(url: str, dest: Path, *, timeout: Optional[float] = None, max_bytes: Optional[int] = None) -> int:
    """GET ``url`` into the file ``dest`` (its parent is created); returns the number of bytes written."""
    _key(url)
    wait = timeout if timeout is not None else _setting(TIMEOUT_SETTING, _DEFAULT_TIMEOUT)
    limit = max_bytes if max_bytes is not None else int(_setting(MAX_BYTES_SETTING, _DEFAULT_MAX_BYTES))
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return _fetch_once(url, dest, wait, limit)
        except _Transient as failed:
            if attempt == _ATTEMPTS:
                raise UrlFetchError(
                    f"{failed.error} (tried {_ATTEMPTS} times)", url, failed.error.status
                ) from failed.error
            time.sleep(0.5 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def fetch_all(pairs: Iterable[tuple[str, Path]], overwrite: bool = True) -> int:
    """Fetch each ``(url, local path)``, several at a time; an existing file is kept unless ``overwrite``.
    Returns the bytes fetched; the first failure (in the given order) is raised once all have ended."""
    todo = [(url, dest) for url, dest in pairs if overwrite or not dest.exists()]
    if len(todo) <= 1:
        return sum(fetch(url, dest) for url, dest in todo)
    with ThreadPoolExecutor(max_workers=min(_PARALLEL, len(todo)), thread_name_prefix="url-fetch") as pool:
        futures = [pool.submit(fetch, url, dest) for url, dest in todo]
    return sum(future.result() for future in futures)


def _fetch_once(url: str, dest: Path, timeout: float, limit: int) -> int:
    shown = safe_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": f"durableml/{__version__}", "Accept": "*/*"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) only, checked by _key
    except urllib.error.HTTPError as exc:
        exc.close()
        error = UrlFetchError(f"GET {shown} answered HTTP {exc.code} {exc.reason}".rstrip(), url, exc.code)
        if exc.code in _RETRY_STATUSES:
            raise _Transient(error) from exc
        raise error from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise _Transient(UrlFetchError(f"GET {shown} failed: {reason}", url)) from exc
    with response:
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        if expected is not None and expected > limit:
            raise UrlFetchError(_too_big(shown, expected, limit), url, response.status)
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            written = _stream(response, partial, limit, shown, url)
            if expected is not None and written != expected:
                raise _Transient(
                    UrlFetchError(f"GET {shown}: the connection ended after {written} of {expected} bytes", url)
                )
            os.replace(partial, dest)
        finally:
            if partial.exists():
                partial.unlink()
    return written


def _stream(response: Any, partial: Path, limit: int, shown: str, url: str) -> int:
    written = 0
    try:
        with open(partial, "wb") as handle:
            while chunk := response.read(_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise UrlFetchError(_too_big(shown, written, limit), url)
                handle.write(chunk)
    except (socket.timeout, ConnectionError, http.client.HTTPException) as exc:
        raise _Transient(UrlFetchError(f"GET {shown} failed while reading: {exc or type(exc).__name__}", url)) from exc
    return written


def _too_big(shown: str, size: int, limit: int) -> str:
    return (
        f"GET {shown}: the file is larger than {limit} bytes (at least {size}); raise {MAX_BYTES_SETTING} "
        "if it should be read"
    )


def relative_dest(root: Path, rel: str) -> Path:
    """``root / rel`` for a laid-out URL file (``rel`` is checked by :func:`url_layout`)."""
    return root.joinpath(*PurePosixPath(rel).parts)
