"""Blob and queue bindings (the ``BindingProvider`` of funchost.invoke) and binding expressions.

Binding expressions in ``path`` / ``queueName``:

* ``%AppSetting%`` from app settings;
* ``{name}`` and any other key of the binding data (trigger path captures, trigger metadata such as
  ``{queueTrigger}`` or ``{Id}``, top-level properties of a JSON queue message), looked up
  case-insensitively; dotted keys ``{a.b}`` walk into nested objects;
* ``{rand-guid}`` / ``{sys.randguid}``, ``{DateTime}`` (``2018-02-16T17-59-55Z``) and ``{sys.utcnow}``.

Blob values follow the Python worker: a binding with ``dataType`` ``string`` gives ``str``, ``binary``
gives ``bytes``, otherwise a ``func.InputStream``. Queue messages are base64-encoded unless host.json
sets ``extensions.queues.messageEncoding`` to ``none``.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import azure.functions as func
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobProperties

from funchost.config import HostConfig, resolve_setting_expression
from funchost.errors import ConfigError
from funchost.storage import Connections, ensure_container

_EXPR = re.compile(r"\{([^{}]+)\}")


def expand_expression(text: str, binding_data: Mapping[str, Any]) -> str:
    """Resolve ``%AppSetting%`` and ``{...}`` binding expressions in ``text``."""
    resolved = resolve_setting_expression(text)
    lowered = {str(k).lower(): v for k, v in binding_data.items()}
    now = datetime.now(timezone.utc)

    def sub(match: re.Match[str]) -> str:
        key = match.group(1).strip()
        low = key.lower()
        if low in ("rand-guid", "sys.randguid"):
            return str(uuid.uuid4())
        if low == "datetime" and "datetime" not in lowered:
            return now.strftime("%Y-%m-%dT%H-%M-%SZ")
        if low == "sys.utcnow":
            return now.isoformat()
        value = _lookup(lowered, low)
        if value is None:
            raise ConfigError(
                f"binding expression '{{{key}}}' in '{text}' has no value: the trigger gives "
                f"{sorted(binding_data)}; use one of those, {{rand-guid}} or {{DateTime}}"
            )
        return _text(value)

    return _EXPR.sub(sub, resolved)


def _lookup(lowered: Mapping[str, Any], key: str) -> Any:
    if key in lowered:
        return lowered[key]
    if "." not in key:
        return None
    head, *parts = key.split(".")
    value: Any = lowered.get(head)
    for part in parts:
        if not isinstance(value, Mapping):
            return None
        value = {str(k).lower(): v for k, v in value.items()}.get(part)
    return value


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def split_blob_path(path: str, binding: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """``container/blob/name`` -> (container, blob name); both parts are required."""
    container, _, blob_name = path.strip("/").partition("/")
    if not container or not blob_name:
        where = f" of binding '{binding.get('name')}'" if binding else ""
        raise ConfigError(f"blob path '{path}'{where} must be '<container>/<blob name>'")
    return container, blob_name


def blob_properties_dict(props: BlobProperties) -> dict[str, Any]:
    """Blob properties with the .NET names the host puts in the ``Properties`` trigger metadata."""
    settings = props.content_settings
    md5 = settings.content_md5 if settings else None
    return {
        "ContentLength": props.size,
        "Length": props.size,
        "ContentType": settings.content_type if settings else None,
        "ContentEncoding": settings.content_encoding if settings else None,
        "ContentMD5": base64.b64encode(md5).decode() if md5 else None,
        "ETag": props.etag,
        "LastModified": props.last_modified.isoformat() if props.last_modified else None,
        "CreatedOn": props.creation_time.isoformat() if props.creation_time else None,
        "BlobType": str(getattr(props.blob_type, "value", props.blob_type)),
    }


def blob_value(
    data: bytes,
    data_type: str | None,
    *,
    name: str | None = None,
    uri: str | None = None,
    properties: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> Any:
    """What the Python worker hands to user code for blob content with this ``dataType``."""
    kind = (data_type or "").lower()
    if kind == "string":
        return data.decode("utf-8")
    if kind == "binary":
        return data
    length = properties.get("ContentLength") if properties else len(data)
    return func.blob.InputStream(
        data=data, name=name, uri=uri, length=length, blob_properties=properties, metadata=metadata
    )


def message_encoding(config: HostConfig | None) -> str:
    """host.json ``extensions.queues.messageEncoding``: ``base64`` (default) or ``none``."""
    value = str((config.extension("queues") if config else {}).get("messageEncoding", "base64")).lower()
    if value not in ("base64", "none"):
        raise ConfigError(f"host.json extensions.queues.messageEncoding is '{value}'; use 'base64' or 'none'")
    return value


def encode_message(body: bytes, encoding: str) -> str:
    """Queue message text for ``body``: base64, or the UTF-8 text itself when encoding is ``none``."""
    if encoding == "base64":
        return base64.b64encode(body).decode("ascii")
    return body.decode("utf-8")


def decode_message(content: str, encoding: str) -> bytes:
    """The body bytes of queue message text; raises ValueError for invalid base64."""
    if encoding == "base64":
        try:
            return base64.b64decode(content.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise ValueError(
                "the message is not valid base64; send base64 text or set "
                "extensions.queues.messageEncoding to 'none' in host.json"
            ) from exc
    return content.encode("utf-8")


def queue_bodies(value: Any) -> list[bytes]:
    """Message bodies from a queue output value, accepting what the worker's converter accepts."""
    if isinstance(value, str):
        return [value.encode("utf-8")]
    if isinstance(value, (bytes, bytearray)):
        return [bytes(value)]
    if isinstance(value, func.QueueMessage):
        return [value.get_body()]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        bodies = []
        for item in value:
            if isinstance(item, str):
                bodies.append(item.encode("utf-8"))
            elif isinstance(item, func.QueueMessage):
                bodies.append(item.get_body())
            else:
                raise TypeError(
                    f"invalid data type in output queue message list: {type(item).__name__}; "
                    "use str or func.QueueMessage items"
                )
        return bodies
    raise TypeError(f"a queue output takes str, bytes, func.QueueMessage or a list of them, not {type(value).__name__}")


def blob_bytes(value: Any) -> bytes:
    """Content for a blob output: str (UTF-8), bytes, or anything with ``read()``."""
    if callable(getattr(value, "read", None)):
        value = value.read()
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise TypeError(f"a blob output takes str, bytes or a readable stream, not {type(value).__name__}")


class StorageBindings:
    """Blob input/output and queue output bindings over :class:`Connections` (a ``BindingProvider``)."""

    def __init__(self, connections: Connections, config: HostConfig | None = None) -> None:
        self.connections = connections
        self.encoding = message_encoding(config)
        self._queues_created: set[tuple[str, str]] = set()

    def input_value(self, binding: dict[str, Any], binding_data: dict[str, Any]) -> Any:
        """Read a blob input binding; None when the blob does not exist (as the host passes null)."""
        if binding.get("type") != "blob":
            raise ConfigError(
                f"input binding '{binding.get('name')}' has type '{binding.get('type')}', "
                "which funchost does not support; use blob inputs or read it in code"
            )
        path = expand_expression(str(binding.get("path", "")), binding_data)
        container, blob_name = split_blob_path(path, binding)
        client = self.connections.blob_service(binding.get("connection")).get_blob_client(container, blob_name)
        try:
            downloader = client.download_blob()
        except ResourceNotFoundError:
            return None
        props = blob_properties_dict(downloader.properties)
        return blob_value(
            downloader.readall(),
            binding.get("dataType"),
            name=f"{container}/{blob_name}",
            uri=client.url,
            properties=props,
            metadata=dict(downloader.properties.metadata),
        )

    def write_output(self, binding: dict[str, Any], value: Any, binding_data: dict[str, Any]) -> None:
        """Write a blob, queue or twilioSms output binding's value."""
        kind = binding.get("type")
        if kind == "blob":
            self._write_blob(binding, value, binding_data)
        elif kind == "queue":
            self._write_queue(binding, value, binding_data)
        elif kind == "twilioSms":
            from funchost import twilio

            twilio.send(binding, value)
        else:
            raise ConfigError(
                f"output binding '{binding.get('name')}' has type '{kind}', which funchost "
                "does not support; use blob, queue or twilioSms outputs, or write it in code"
            )

    def _write_blob(self, binding: dict[str, Any], value: Any, binding_data: dict[str, Any]) -> None:
        container, blob_name = split_blob_path(expand_expression(str(binding.get("path", "")), binding_data), binding)
        service = self.connections.blob_service(binding.get("connection"))
        data = blob_bytes(value)
        try:
            service.get_blob_client(container, blob_name).upload_blob(data, overwrite=True)
        except ResourceNotFoundError:
            ensure_container(service.get_container_client(container))
            service.get_blob_client(container, blob_name).upload_blob(data, overwrite=True)

    def _write_queue(self, binding: dict[str, Any], value: Any, binding_data: dict[str, Any]) -> None:
        name = expand_expression(str(binding.get("queueName", "")), binding_data).lower()
        if not name:
            raise ConfigError(f"queue output '{binding.get('name')}' has no queueName")
        connection = binding.get("connection")
        self.send(connection, name, queue_bodies(value))

    def send(self, connection: str | None, queue_name: str, bodies: list[bytes]) -> None:
        """Put messages on a queue (created if missing), encoded per host.json messageEncoding."""
        queue = self.connections.queue_service(connection).get_queue_client(queue_name)
        key = (connection or "", queue_name)
        if key not in self._queues_created:
            try:
                queue.create_queue()
            except ResourceExistsError:
                pass
            self._queues_created.add(key)
        for body in bodies:
            queue.send_message(encode_message(body, self.encoding))
