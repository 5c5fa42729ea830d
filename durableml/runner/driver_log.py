"""The step's driver log: stdout + stderr of the script, on local disk and in an append blob.

Bytes go to ``<job>/logs/70_driver_log.txt`` as they arrive and are appended to the blob
``durableml-logs/<run id>/<step run id>/70_driver_log.txt`` by a background thread at least every
``interval`` seconds, and once more on :meth:`DriverLog.close`. A failing blob append does not stop the
step: the bytes stay buffered and go out with the next flush.

The blob is created by the first flush, not when the step starts: a step that ends within ``interval``
(most short steps) writes its whole log with one request at close (a block blob), instead of creating
an append blob while its script starts (a storage request competing with the script for the CPU) and
appending to it at the end. Longer steps get an append blob that grows every ``interval`` seconds.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from durableml.runner import background

__all__ = ["DriverLog", "MAX_APPEND"]

MAX_APPEND = 4 * 1024 * 1024  # the append-block size limit of the Blob service
_log = logging.getLogger("durableml.runner")


class AppendBlob(Protocol):
    """The calls of an Azure blob client the log needs."""

    def create_append_blob(self) -> Any: ...

    def append_block(self, data: bytes) -> Any: ...

    def upload_blob(self, data: bytes, **kwargs: Any) -> Any: ...


class DriverLog:
    """A log file plus a blob kept in step with it.

    ``blob_factory`` returns the blob client (or None for local-only logs); it is called on the first
    flush (the flusher thread's after ``interval``, or close's).
    """

    def __init__(
        self,
        path: Path,
        blob_factory: Optional[Callable[[], AppendBlob]],
        interval: float = 0.5,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "wb")
        self._blob_factory = blob_factory
        self._blob: Optional[AppendBlob] = None
        self._pending = bytearray()
        self._lock = threading.Lock()
        self._upload_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._interval = interval
        self._redact = redact
        self.upload_errors = 0
        self._flusher: Optional[threading.Event] = None  # started by the first write, off the script's start

    def write(self, data: bytes) -> None:
        """Record bytes from the script (written to disk at once, to the blob on the next flush)."""
        with self._lock:
            self._file.write(data)
            self._file.flush()
            self._pending += data
            if self._flusher is None and not self._closed:
                self._flusher = background.start(self._flush_loop, f"log:{self.path.parent.parent.name}")

    def note(self, text: str) -> None:
        """Record a message of the runner itself (redacted: it never carries secrets into the log)."""
        line = self._redact(text.rstrip("\n")) + "\n"
        self.write(line.encode("utf-8", errors="replace"))

    def flush(self) -> None:
        """Append the buffered bytes to the blob now (creating the blob first if needed)."""
        with self._upload_lock:
            if self._blob_factory is None:
                return
            with self._lock:
                data, self._pending = bytes(self._pending), bytearray()
            try:
                self._ensure_blob()
                while data and self._blob is not None:
                    chunk = data[:MAX_APPEND]
                    self._blob.append_block(chunk)
                    data = data[len(chunk) :]
            except Exception as exc:  # noqa: BLE001 - the step goes on; the bytes are retried
                self.upload_errors += 1
                _log.warning("driver log upload failed (%s); will retry: %s", type(exc).__name__, exc)
                with self._lock:
                    self._pending[:0] = data

    def _ensure_blob(self) -> None:
        if self._blob is None:
            assert self._blob_factory is not None
            blob = self._blob_factory()
            blob.create_append_blob()
            self._blob = blob

    def _flush_loop(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            if self._pending and not self._closed:
                self.flush()

    def close(self) -> None:
        """Stop the flusher, upload what is left, close the file. Safe to call twice.

        If nothing was uploaded yet, the whole log goes up as one blob in one request.
        """
        if self._closed:
            return
        with self._lock:
            self._closed = True
            flusher = self._flusher
        self._wake.set()
        if flusher is not None:
            flusher.wait()
        if not self._upload_whole():
            self.flush()
        with self._lock:
            self._file.close()

    def _upload_whole(self) -> bool:
        """Write the blob with everything buffered in one request, if no flush created it yet."""
        with self._upload_lock:
            if self._blob_factory is None or self._blob is not None:
                return self._blob_factory is None
            with self._lock:
                data = bytes(self._pending)
            if len(data) > MAX_APPEND:
                return False
            try:
                blob = self._blob_factory()
                blob.upload_blob(data, overwrite=True)
            except Exception as exc:  # noqa: BLE001 - the step's own status must not depend on it
                self.upload_errors += 1
                _log.warning("driver log upload failed (%s): %s", type(exc).__name__, exc)
                return True
            with self._lock:
                del self._pending[: len(data)]
            return True

    def tail(self, max_bytes: int = 64 * 1024) -> str:
        """The last ``max_bytes`` of the log file, decoded."""
        with open(self.path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            return handle.read().decode("utf-8", errors="replace")
