"""How one request reaches the durableml service: session, key header, timeouts, retries, error answers.

:class:`HttpTransport` is the base of :class:`~durableml.http_client.HttpServiceClient`, which adds the
routes. Idempotent requests (GET, PUT, DELETE, the content-addressed snapshot POSTs, setting the default
datastore, cancel) are retried twice on connection errors and 502/503/504, after a short backoff.
Submitting a run or logging metrics is never retried: a lost answer must not submit a run twice. Error
answers are mapped by :mod:`durableml._http_errors`.

The function key travels in the ``x-functions-key`` header only: never in a URL, a log line, an
exception message or a repr. ``requests`` is imported on the first request, not with ``durableml``.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from durableml._http_errors import connection_refused, error_for, read_failure
from durableml._version import __version__
from durableml.config import WorkspaceConfig
from durableml.exceptions import ServiceError, ServiceNotConnectedError

if TYPE_CHECKING:
    import requests

__all__ = ["HttpTransport", "Record", "DEFAULT_TIMEOUT", "RETRY_DELAYS", "download_destination"]

Record = dict[str, Any]
log = logging.getLogger("durableml.http_client")

DEFAULT_TIMEOUT = (5.0, 300.0)
"""(connect, read) timeouts in seconds for one request."""
RETRY_DELAYS = (0.2, 0.5)
"""Pauses before the second and third attempt of an idempotent request."""

_RETRY_STATUSES = frozenset({502, 503, 504})
_CHUNK = 1024 * 1024
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class HttpTransport:
    """Requests to the durableml service at ``config.endpoint``, each a 2xx response or a durableml exception.

    ``timeout`` is (connect, read) seconds per request; ``retry_delays`` the pauses before each retry
    of an idempotent request. The pooled connections are closed by :meth:`close`, or when the object
    is garbage-collected.
    """

    def __init__(
        self,
        config: WorkspaceConfig,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self.config = config
        self.endpoint = config.endpoint.rstrip("/")
        self.timeout = timeout
        self.retry_delays = tuple(retry_delays)
        self._session: requests.Session | None = None

    def close(self) -> None:
        """Close the pooled connections (the client opens new ones if used again)."""
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def _session_for_requests(self) -> requests.Session:
        if self._session is None:
            import requests

            session = requests.Session()
            session.headers["User-Agent"] = f"durableml/{__version__}"
            if self.config.key:
                session.headers["x-functions-key"] = self.config.key
            weakref.finalize(self, session.close)  # no unclosed sockets when a workspace is dropped
            self._session = session
        return self._session

    def _request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        retry: bool | None = None,
        stream: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request (retried when idempotent); return a 2xx response or raise the mapped error."""
        retry = method in ("GET", "PUT", "DELETE") if retry is None else retry
        delays = self.retry_delays if retry else ()
        for attempt in range(len(delays) + 1):
            final = attempt == len(delays)
            response = self._send(operation, method, path, final, retry, stream=stream, **kwargs)
            if response is not None and (response.status_code not in _RETRY_STATUSES or final):
                if response.status_code >= 400:
                    self._raise_for(response, method, path)
                return response
            if response is not None:
                response.close()
            log.debug("retrying %s %s in %.1f s", method, path, delays[attempt])
            time.sleep(delays[attempt])
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(
        self, operation: str, method: str, path: str, final: bool, idempotent: bool, **kwargs: Any
    ) -> requests.Response | None:
        """One attempt; None when the connection failed and another attempt follows."""
        import requests

        try:
            return self._session_for_requests().request(method, self.endpoint + path, timeout=self.timeout, **kwargs)
        except requests.ConnectionError as exc:
            if not final:
                return None
            raise self._not_connected(operation, method, path, exc, idempotent) from exc
        except requests.Timeout as exc:
            raise ServiceError(
                f"'{operation}': the durableml service at {self.endpoint} did not answer {method} {path} within "
                f"{self.timeout[1]:.0f} s. {_maybe_done(operation, idempotent)}",
                details={"request": f"{method} {path}"},
            ) from exc
        except requests.RequestException as exc:
            raise ServiceError(f"'{operation}': {method} {path} to {self.endpoint} failed: {exc}") from exc

    def _raise_for(self, response: requests.Response, method: str, path: str) -> NoReturn:
        try:
            failure = read_failure(response, method, path)
        finally:
            response.close()
        raise error_for(failure, self.endpoint, self._auth_hint())

    def _not_connected(
        self, operation: str, method: str, path: str, exc: BaseException, idempotent: bool
    ) -> ServiceNotConnectedError:
        refused = connection_refused(exc)  # then the request never reached the service
        what = "refused the connection" if refused else f"could not be reached ({type(exc).__name__})"
        return ServiceNotConnectedError(
            f"'{operation}' needs the durableml service at {self.endpoint}, which {what} ({method} {path}). "
            f"{self._start_hint()} {_maybe_done(operation, idempotent or refused)}".rstrip(),
            details={"operation": operation, "endpoint": self.endpoint, "request": f"{method} {path}"},
        )

    def _start_hint(self) -> str:
        parts = urlsplit(self.endpoint)
        if parts.hostname in _LOCAL_HOSTS:
            return (
                "Start the local service: `python -m funchost start --app <your durableml checkout> "
                f"--port {parts.port or 80}` (see README, 'Running funchost on any function app'), or point "
                "'endpoint' in config.json / DURABLEML_ENDPOINT at a running service."
            )
        return "Check that the Function App runs and that 'endpoint' in config.json / DURABLEML_ENDPOINT is right."

    def _auth_hint(self) -> str:
        where = f"config.json ({self.config.source})" if self.config.source else "config.json"
        if not self.config.key:
            return f"No function key is configured: set 'key' in {where} or the DURABLEML_KEY environment variable."
        return (
            f"Check the function key: 'key' in {where} or the DURABLEML_KEY environment variable (locally, "
            "functionKeys.default in the funchost state dir's keys.json)."
        )

    def _json(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        return self._json_and_headers(operation, method, path, **kwargs)[0]

    def _json_and_headers(self, operation: str, method: str, path: str, **kwargs: Any) -> tuple[Any, Mapping[str, str]]:
        response = self._request(operation, method, path, **kwargs)
        try:
            return response.json(), response.headers
        except ValueError as exc:
            raise ServiceError(
                f"'{operation}': the durableml service at {self.endpoint} answered {method} {path} with a body "
                f"that is not JSON ({response.text[:200]!r})."
            ) from exc
        finally:
            response.close()

    def _record(self, operation: str, method: str, path: str, **kwargs: Any) -> Record:
        return self._record_and_headers(operation, method, path, **kwargs)[0]

    def _record_and_headers(
        self, operation: str, method: str, path: str, **kwargs: Any
    ) -> tuple[Record, Mapping[str, str]]:
        value, headers = self._json_and_headers(operation, method, path, **kwargs)
        if not isinstance(value, dict):
            raise ServiceError(f"'{operation}': {method} {path} returned {type(value).__name__}, not a JSON object.")
        return value, headers

    def _records(self, operation: str, path: str, **kwargs: Any) -> list[Any]:
        value = self._json(operation, "GET", path, **kwargs)
        if not isinstance(value, list):
            raise ServiceError(f"'{operation}': GET {path} returned {type(value).__name__}, not a JSON array.")
        return value

    def _download(self, operation: str, path: str, destination: str) -> None:
        """Stream ``path``'s bytes into ``destination`` (written whole, or not at all)."""
        import requests

        folder = os.path.dirname(os.path.abspath(destination))
        os.makedirs(folder, exist_ok=True)
        response = self._request(operation, "GET", path, stream=True)
        descriptor, partial = tempfile.mkstemp(dir=folder, prefix=".durableml-download-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                for chunk in response.iter_content(_CHUNK):
                    handle.write(chunk)
            os.replace(partial, destination)
        except requests.RequestException as exc:
            raise ServiceError(f"'{operation}': the download of {path} from {self.endpoint} broke off: {exc}") from exc
        finally:
            response.close()
            if os.path.exists(partial):
                os.remove(partial)


def download_destination(target_path: str, name: str) -> str:
    """Where the blob ``name`` lands under ``target_path``; names that would leave it are refused."""
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ServiceError(f"refusing to download the blob {name!r}: its name would leave {target_path!r}.")
    return os.path.join(target_path, *parts)


def _maybe_done(operation: str, safe_to_repeat: bool) -> str:
    """For a request that must not be repeated blindly: say that it may have been carried out."""
    if safe_to_repeat:
        return ""
    check = " (Experiment(ws, name).get_runs() lists the runs submitted)" if operation == "submit_pipeline" else ""
    return f"The request may have reached the service: check its effect before repeating it{check}."
