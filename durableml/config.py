"""Where a workspace lives: config.json discovery and the durableml endpoint settings.

``Workspace.from_config()`` reads the same ``config.json`` an Azure ML notebook uses
(``subscription_id``, ``resource_group``, ``workspace_name``) plus two optional durableml keys,
``endpoint`` (the base URL of the durableml Function App) and ``key`` (its function key). Without
a config file, or with an Azure ML file that lacks them, the workspace talks to the local funchost
default, ``http://127.0.0.1:7071``. The environment variables ``DURABLEML_ENDPOINT`` and
``DURABLEML_KEY`` override the file (step processes get their workspace that way).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durableml.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_SUBSCRIPTION_ID",
    "DEFAULT_RESOURCE_GROUP",
    "DEFAULT_WORKSPACE_NAME",
    "DEFAULT_LOCATION",
    "WorkspaceConfig",
    "find_config_file",
    "load_config",
]

DEFAULT_ENDPOINT = "http://127.0.0.1:7071"
DEFAULT_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESOURCE_GROUP = "durableml"
DEFAULT_WORKSPACE_NAME = "durableml-local"
DEFAULT_LOCATION = "local"

_CONFIG_NAMES = ("config.json", "project.json")
_CONFIG_DIRS = (".azureml", "aml_config", "")


@dataclass(frozen=True)
class WorkspaceConfig:
    """The settings that identify a workspace and the service behind it."""

    subscription_id: str = DEFAULT_SUBSCRIPTION_ID
    resource_group: str = DEFAULT_RESOURCE_GROUP
    workspace_name: str = DEFAULT_WORKSPACE_NAME
    location: str = DEFAULT_LOCATION
    endpoint: str = DEFAULT_ENDPOINT
    key: str | None = field(default=None, repr=False)
    source: str | None = None

    def with_environment(self) -> WorkspaceConfig:
        """Return a copy where DURABLEML_ENDPOINT / DURABLEML_KEY override endpoint and key."""
        endpoint = os.environ.get("DURABLEML_ENDPOINT") or self.endpoint
        key = os.environ.get("DURABLEML_KEY") or self.key
        return WorkspaceConfig(
            self.subscription_id,
            self.resource_group,
            self.workspace_name,
            self.location,
            endpoint.rstrip("/"),
            key,
            self.source,
        )


def find_config_file(path: str | os.PathLike[str] | None = None, file_name: str | None = None) -> Path | None:
    """Find config.json the way v1 does: in ``path`` (a file or directory) or cwd and its parents.

    Each directory is searched directly and in its ``.azureml`` and ``aml_config`` subfolders.
    Returns None when nothing is found.
    """
    start = Path(path) if path is not None else Path.cwd()
    if start.is_file():
        return start
    names = (file_name,) if file_name else _CONFIG_NAMES
    for directory in (start, *start.resolve().parents):
        for sub in _CONFIG_DIRS:
            for name in names:
                candidate = directory / sub / name
                if candidate.is_file():
                    return candidate
    return None


def load_config(path: str | os.PathLike[str] | None = None, file_name: str | None = None) -> WorkspaceConfig:
    """Load the workspace configuration; fall back to the local defaults when there is none.

    A ``path`` that was given explicitly but holds no config file is an error, as in v1.
    """
    found = find_config_file(path, file_name)
    if found is None:
        if path is not None:
            raise ConfigurationError(
                f"No workspace config file ({' or '.join(_CONFIG_NAMES)}) was found in {str(path)!r} "
                "or its parents. Pass the directory that holds config.json, or omit path to use "
                "the local durableml workspace."
            )
        return WorkspaceConfig().with_environment()
    return _parse_config(found).with_environment()


def _parse_config(file: Path) -> WorkspaceConfig:
    try:
        data: Any = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"Workspace config file {str(file)!r} could not be read as JSON ({exc}). "
            "Fix the file or delete it to use the local durableml workspace."
        ) from exc
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"Workspace config file {str(file)!r} must hold a JSON object with subscription_id, "
            f"resource_group and workspace_name, not {type(data).__name__}."
        )
    return WorkspaceConfig(
        subscription_id=_text(data, file, "subscription_id", DEFAULT_SUBSCRIPTION_ID),
        resource_group=_text(data, file, "resource_group", DEFAULT_RESOURCE_GROUP),
        workspace_name=_text(data, file, "workspace_name", DEFAULT_WORKSPACE_NAME),
        location=_text(data, file, "location", DEFAULT_LOCATION),
        endpoint=_text(data, file, "endpoint", DEFAULT_ENDPOINT).rstrip("/"),
        key=data.get("key") if isinstance(data.get("key"), str) else None,
        source=str(file),
    )


def _text(data: dict[str, Any], file: Path, key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(
            f"{key!r} in workspace config file {str(file)!r} must be a non-empty string, got {value!r}."
        )
    return value
