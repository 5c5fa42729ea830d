"""The blob trigger: container scans, blob receipts, retries and the poison queue.

Every ``blobTrigger`` function's ``path`` (``container``, ``container/{name}``,
``in/{folder}/{name}.csv``; ``%AppSetting%`` resolved) is polled every ``FUNCHOST_BLOB_POLL_SECONDS``
(default 1 s). A scan lists the container (paged with continuation tokens, from the literal prefix of
the pattern) and this function's completed receipts, and processes every matching blob version (ETag)
that has no completed receipt, as the Functions host does:

* receipt ``azure-webjobs-hosts/blobreceipts/{hostId}/{functionId}/{ETag}/{container}/{blobName}``,
  created with metadata ``Incomplete`` and leased while processing, so one host processes a version;
  on success the metadata is cleared (completed: never again; delete the receipt to reprocess);
* a failing version is tried ``extensions.blobs.poisonBlobThreshold`` times (default 5) in all, then
  ``{"Type":"BlobTrigger","FunctionId","BlobType","ContainerName","BlobName","ETag"}`` (the extension's
  BlobTriggerMessage; ETag as listed, without quotes) goes to queue
  ``webjobs-blobtrigger-poison`` and the receipt is completed;
* at most ``extensions.blobs.maxDegreeOfParallelism`` (default 8 x cores) blobs are processed at once.

``source="EventGrid"`` triggers are fed by the same poller. ``functionId`` is ``Host.Functions.<name>``.
Binding data: the path captures, ``BlobTrigger``, ``Uri``, ``Properties``, ``Metadata`` and ``name``
(the blob name, unless the path captures its own ``{name}``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

from funchost.bindings import blob_properties_dict, blob_value, encode_message, message_encoding
from funchost.config import resolve_setting_expression
from funchost.errors import ConfigError, StorageError
from funchost.functions import FunctionInfo
from funchost.storage import HOSTS_CONTAINER, BlobLease
from funchost.triggers.listener import Listener

POISON_QUEUE = "webjobs-blobtrigger-poison"
RECEIPT_LEASE_SECONDS = 30
SCAN_PAGE_SIZE = 5000  # blobs per List Blobs call; further pages follow the continuation token
_PARAM = re.compile(r"\{([^{}]+)\}")


@dataclass
class BlobPattern:
    """A blob trigger path split into container, listing prefix and a regex over blob names."""

    container: str
    prefix: str
    regex: re.Pattern[str]
    names: list[str]

    @classmethod
    def parse(cls, path: str) -> BlobPattern:
        """Compile ``container[/pattern]``; ``{x}`` parameters capture any text (greedily)."""
        text = resolve_setting_expression(path).strip().strip("/")
        container, _, pattern = text.partition("/")
        if not container or "{" in container:
            raise ConfigError(
                f"blob trigger path '{path}' must start with a literal container name, like 'samples/{{name}}'"
            )
        names: list[str] = []
        parts: list[str] = []
        last = 0
        for match in _PARAM.finditer(pattern):
            parts.append(re.escape(pattern[last : match.start()]))
            parts.append(f"(?P<p{len(names)}>.+)")
            names.append(match.group(1).strip())
            last = match.end()
        parts.append(re.escape(pattern[last:]))
        regex = re.compile("".join(parts) if pattern else ".+", re.DOTALL)
        prefix = pattern.split("{", 1)[0]
        return cls(container, prefix, regex, names)

    def match(self, blob_name: str) -> dict[str, str] | None:
        """The captures for ``blob_name``, or None when it does not match."""
        found = self.regex.fullmatch(blob_name)
        if found is None:
            return None
        return {name: found.group(f"p{i}") for i, name in enumerate(self.names)}


@dataclass
class _Candidate:
    name: str
    etag: str
    captures: dict[str, str]


class BlobTriggerListener(Listener):
    """Polls the containers of every ``blobTrigger`` function (see the module docstring)."""

    trigger_type = "blobTrigger"

    async def start(self) -> None:
        """Compile every trigger path (a bad one raises ConfigError) and start one poller each."""
        await super().start()
        blobs = self.config.extension("blobs")
        self.poison_threshold = int(blobs.get("poisonBlobThreshold", 5))
        parallel = int(blobs.get("maxDegreeOfParallelism", 8 * (os.cpu_count() or 1)))
        self.slots = asyncio.Semaphore(max(1, parallel))
        self.encoding = message_encoding(self.config)
        self.poll_seconds = float(os.environ.get("FUNCHOST_BLOB_POLL_SECONDS", "1"))
        for watch in [_BlobWatch(self, fi) for fi in self.functions]:
            self.spawn(watch.run(), name=f"blob:{watch.fi.name}")


class _BlobWatch:
    """Scanning and processing for one blob trigger function."""

    def __init__(self, listener: BlobTriggerListener, fi: FunctionInfo) -> None:
        self.listener = listener
        self.fi = fi
        trigger = fi.trigger
        self.pattern = BlobPattern.parse(str(trigger.get("path", "")))
        self.connection = trigger.get("connection") or None
        self.data_type = trigger.get("dataType")
        self.function_id = f"Host.Functions.{fi.name}"
        self.receipt_prefix = f"blobreceipts/{listener.host_id}/{self.function_id}/"
        service = listener.connections.blob_service(self.connection)
        self.container = service.get_container_client(self.pattern.container)
        self.hosts = listener.connections.blob_service().get_container_client(HOSTS_CONTAINER)
        self.in_flight: set[str] = set()
        if str(trigger.get("source", "")).lower() == "eventgrid":
            listener.log.info("blob trigger '%s' has source=EventGrid; funchost feeds it by polling", fi.name)

    async def run(self) -> None:
        """Scan, start processing what is new, sleep; forever."""
        while True:
            try:
                for candidate in await self.listener.blocking(self.scan):
                    key = self.receipt_key(candidate)
                    if key not in self.in_flight:
                        self.in_flight.add(key)
                        self.listener.spawn(self.process(candidate, key), name=f"blob:{self.fi.name}:{key}")
            except Exception as exc:  # storage unreachable for a moment: try again next round
                self.listener.log.warning(
                    "blob trigger '%s': scanning %s failed: %s: %s",
                    self.fi.name,
                    self.pattern.container,
                    type(exc).__name__,
                    exc,
                )
            await self.listener.sleep(self.listener.poll_seconds)

    def receipt_key(self, candidate: _Candidate) -> str:
        """``{ETag}/{container}/{blobName}``, the tail of the receipt's name."""
        return f"{candidate.etag}/{self.pattern.container}/{candidate.name}"

    def scan(self) -> list[_Candidate]:
        """Matching blob versions without a completed receipt (blocking; runs in a thread)."""
        done = self._completed_receipts()
        found: list[_Candidate] = []
        try:
            for item in self.container.list_blobs(
                name_starts_with=self.pattern.prefix or None, results_per_page=SCAN_PAGE_SIZE
            ):
                captures = self.pattern.match(item.name)
                if captures is None:
                    continue
                candidate = _Candidate(item.name, str(item.etag), captures)
                if self.receipt_key(candidate) not in done:
                    found.append(candidate)
        except ResourceNotFoundError:  # the container does not exist (yet)
            return []
        return found

    def _completed_receipts(self) -> set[str]:
        done: set[str] = set()
        try:
            for item in self.hosts.list_blobs(name_starts_with=self.receipt_prefix, include=["metadata"]):
                if not any(k.lower() == "incomplete" for k in (item.metadata or {})):
                    done.add(item.name[len(self.receipt_prefix) :])
        except ResourceNotFoundError:
            pass
        return done

    async def process(self, candidate: _Candidate, key: str) -> None:
        """Process one blob version under its receipt lease: tries, then success or poison."""
        try:
            async with self.listener.slots:
                receipt = BlobLease(
                    self.hosts, self.receipt_prefix + key, RECEIPT_LEASE_SECONDS, create_metadata={"Incomplete": "true"}
                )
                if not await self.listener.blocking(receipt.try_acquire):
                    return  # another host is processing this version
                try:
                    async with self.listener.renewed(receipt, f"receipt {key}"):
                        await self._tries(candidate, receipt)
                finally:
                    await asyncio.shield(self.listener.blocking(receipt.release))
        except Exception as exc:  # storage error: the version is picked up again by a later scan
            self.listener.log.warning(
                "blob trigger '%s': processing %s failed: %s: %s", self.fi.name, key, type(exc).__name__, exc
            )
        finally:
            self.in_flight.discard(key)

    async def _tries(self, candidate: _Candidate, receipt: BlobLease) -> None:
        blocking = self.listener.blocking
        props = await blocking(receipt.blob.get_blob_properties)
        if not any(k.lower() == "incomplete" for k in (props.metadata or {})):
            return  # completed meanwhile
        blob_type = "BlockBlob"
        for _ in range(self.listener.poison_threshold):
            loaded = await blocking(self._load, candidate)
            if loaded is None:
                return  # deleted or changed: a new version gets its own receipt
            value, data, blob_type = loaded
            reason = f"New blob detected: {data['BlobTrigger']}"
            if await self.listener.invoke(self.fi, value, data, reason):
                await blocking(self._complete, receipt)
                return
        await blocking(self._poison, candidate, blob_type)
        await blocking(self._complete, receipt)

    def _load(self, candidate: _Candidate) -> tuple[Any, dict[str, Any], str] | None:
        """Download this exact version: (trigger value, binding data, blob type), or None if gone."""
        client = self.container.get_blob_client(candidate.name)
        try:
            downloader = client.download_blob(etag=candidate.etag, match_condition=MatchConditions.IfNotModified)
            content = downloader.readall()
        except (ResourceNotFoundError, ResourceModifiedError):
            return None
        props = blob_properties_dict(downloader.properties)
        metadata = dict(downloader.properties.metadata or {})
        full_name = f"{self.pattern.container}/{candidate.name}"
        value = blob_value(content, self.data_type, name=full_name, uri=client.url, properties=props, metadata=metadata)
        data: dict[str, Any] = dict(candidate.captures)
        data.setdefault("name", candidate.name)
        data.update({"BlobTrigger": full_name, "Uri": client.url, "Properties": props, "Metadata": metadata})
        return value, data, str(props["BlobType"])

    def _complete(self, receipt: BlobLease) -> None:
        if receipt.client is None:
            raise StorageError(f"the lease on receipt {receipt.blob.blob_name} was lost; not completing it")
        metadata = receipt.blob.get_blob_properties().metadata or {}
        kept = {k: v for k, v in metadata.items() if k.lower() != "incomplete"}
        receipt.blob.set_blob_metadata(kept, lease=receipt.client)

    def _poison(self, candidate: _Candidate, blob_type: str) -> None:
        message = {
            "Type": "BlobTrigger",
            "FunctionId": self.function_id,
            "BlobType": blob_type,
            "ContainerName": self.pattern.container,
            "BlobName": candidate.name,
            "ETag": candidate.etag,
        }
        self.listener.log.error(
            "blob trigger '%s': %s/%s failed %d times; moved to queue %s",
            self.fi.name,
            self.pattern.container,
            candidate.name,
            self.listener.poison_threshold,
            POISON_QUEUE,
        )
        queue = self.listener.connections.queue_service(self.connection).get_queue_client(POISON_QUEUE)
        try:
            queue.create_queue()
        except ResourceExistsError:
            pass
        queue.send_message(encode_message(json.dumps(message).encode("utf-8"), self.listener.encoding))
