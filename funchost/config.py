"""Host configuration: host.json, local.settings.json and the app settings funchost resolves.

The Functions host reads ``host.json`` for host-wide settings and, locally, ``local.settings.json``
for app settings (its ``Values`` become environment variables). funchost does the same.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from funchost.errors import ConfigError

DEFAULT_RPC_PORT = 17071
"""The Durable rpc listener's port unless ``--rpc-port`` says otherwise (another free one if it is taken)."""

DEFAULT_HUB = "TestHubName"
DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the Functions host's default (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT)


def max_request_bytes() -> int:
    """The largest request body funchost accepts (FUNCHOST_MAX_REQUEST_BYTES, default 100 MB)."""
    return int(os.environ.get("FUNCHOST_MAX_REQUEST_BYTES", str(DEFAULT_MAX_REQUEST_BYTES)))


@dataclass
class HostConfig:
    """Everything funchost needs to know about the app it runs."""

    app_dir: Path
    state_dir: Path
    host_json: dict[str, Any] = field(default_factory=dict)
    port: int = 7071
    bind: str = "127.0.0.1"

    @property
    def route_prefix(self) -> str:
        http = self.host_json.get("extensions", {}).get("http", {})
        return str(http.get("routePrefix", "api")).strip("/")

    @property
    def durable(self) -> dict[str, Any]:
        return dict(self.host_json.get("extensions", {}).get("durableTask", {}))

    @property
    def hub_name(self) -> str:
        configured = self.durable.get("hubName")
        if configured:
            return resolve_setting_expression(str(configured))
        return os.environ.get("WEBSITE_SITE_NAME") or DEFAULT_HUB

    @property
    def max_concurrent_activities(self) -> int:
        return int(self.durable.get("maxConcurrentActivityFunctions", 10 * (os.cpu_count() or 1)))

    @property
    def max_concurrent_orchestrators(self) -> int:
        return int(self.durable.get("maxConcurrentOrchestratorFunctions", 10 * (os.cpu_count() or 1)))

    @property
    def base_url(self) -> str:
        return f"http://{self.bind}:{self.port}"

    def extension(self, name: str) -> dict[str, Any]:
        """The ``extensions.<name>`` section of host.json (empty when absent)."""
        return dict(self.host_json.get("extensions", {}).get(name, {}))


def load_host_json(app_dir: Path) -> dict[str, Any]:
    """Read ``host.json``; a missing file means defaults, a malformed one is an error."""
    path = app_dir / "host.json"
    if not path.exists():
        return {"version": "2.0"}
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); fix the file and start again") from exc


def load_local_settings(app_dir: Path) -> dict[str, str]:
    """Apply ``local.settings.json`` Values to ``os.environ`` (existing variables win, as in `func`)."""
    path = app_dir / "local.settings.json"
    if not path.exists():
        return {}
    try:
        values = json.loads(path.read_text(encoding="utf-8")).get("Values", {}) or {}
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); fix the file and start again") from exc
    applied: dict[str, str] = {}
    for key, value in values.items():
        if key not in os.environ:
            os.environ[key] = str(value)
            applied[key] = str(value)
    return applied


_SETTING = re.compile(r"%([^%]+)%")


def resolve_setting_expression(text: str) -> str:
    """Replace ``%AppSetting%`` references with their values, as binding expressions do."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(
                f"app setting '{name}' referenced as %{name}% is not set; "
                "add it to local.settings.json Values or the environment"
            )
        return os.environ[name]

    return _SETTING.sub(sub, text)


def parse_connection_string(value: str) -> dict[str, str]:
    """Split ``Key=Value;...`` into a dict with case-insensitive (lower-cased) keys."""
    parts: dict[str, str] = {}
    for item in value.strip().strip(";").split(";"):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep:
            raise ConfigError(
                "a storage connection string must look like 'Key=Value;Key=Value' "
                "(for Azurite use 'UseDevelopmentStorage=true')"
            )
        parts[key.strip().lower()] = val.strip()
    return parts


def storage_configured(settings: Mapping[str, str], name: str = "AzureWebJobsStorage") -> bool:
    """Whether connection ``name`` is set: a connection string, or identity-based ``<name>__*ServiceUri`` /
    ``__serviceUri`` / ``__accountName`` settings."""
    if settings.get(name):
        return True
    suffixes = ("blobServiceUri", "queueServiceUri", "tableServiceUri", "serviceUri", "accountName")
    return any(settings.get(f"{name}__{suffix}") for suffix in suffixes)
