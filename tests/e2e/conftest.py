"""Fixtures for the end-to-end pipeline tests (issue 3): the SDK against a real funchost on this repo's app.

* ``service`` (module scope): a private Azurite and one ``funchost`` on the repository's
  ``function_app.py`` (``DURABLEML_STATE_DIR`` in a temp dir), plus a project directory holding a
  ``config.json`` with the endpoint and function key. ``service.workspace()`` builds a Workspace from
  that file; ``service.api(method, path, ...)`` sends a raw HTTP request with the key. At the end the
  host is stopped, the detached local-compute workers are shut down and Azurite is stopped.
* ``project_copy(name)``: a fresh copy of a project under ``tests/e2e/projects`` with a config.json.

Each module gets its own Azurite so run records, reuse records and the task hub never leak between
modules (a crash test leaves orchestrations behind that another host must not pick up).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from durableml.compute.local import shutdown_workers
from durableml.core import Workspace
from funchost.azurite import AzuriteHandle, start_azurite
from funchost.keys import ensure_function_key

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECTS = Path(__file__).resolve().parent / "projects"


class Service:
    """A running durableml (funchost + Azurite) and a project directory configured for it."""

    def __init__(self, host: Any, azurite: AzuriteHandle, state_dir: Path, project: Path) -> None:
        self.host = host
        self.azurite = azurite
        self.state_dir = state_dir
        self.project = project
        self.session = requests.Session()
        self.step_key: str | None = None

    @property
    def base_url(self) -> str:
        return str(self.host.base_url)

    @property
    def key(self) -> str:
        return str(self.host.function_key)

    def write_config(self, directory: Path) -> Path:
        """Write a config.json naming this service into ``directory``; return its path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "config.json"
        path.write_text(
            json.dumps(
                {
                    "subscription_id": "00000000-0000-0000-0000-000000000000",
                    "resource_group": "durableml",
                    "workspace_name": "durableml-e2e",
                    "endpoint": self.base_url,
                    "key": self.key,
                }
            ),
            encoding="utf-8",
        )
        return path

    def workspace(self) -> Workspace:
        """A Workspace built from the project's explicit config.json (not from cwd or the environment)."""
        return Workspace.from_config(path=str(self.project / "config.json"))

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A raw request to the durableml HTTP API with the function key; the body is read and closed."""
        headers = {"x-functions-key": self.key, **kwargs.pop("headers", {})}
        with self.session.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs) as response:
            _ = response.content  # read everything so that the connection is released
            return response

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.host.output().splitlines()[-lines:])

    def shutdown_workers(self) -> None:
        """Stop every detached local-compute worker this service started (they outlive funchost)."""
        shutdown_workers(self.state_dir)


@contextlib.contextmanager
def running_service(funchost_process: Callable[..., Any], work: Path, step_key: bool = False) -> Iterator[Service]:
    """A private Azurite and a funchost on this repository's app under ``work``; stopped afterwards.

    ``step_key``: provision a function key for step processes (``durableml-steps`` in keys.json, named by the
    app's DURABLEML_STEP_KEY setting), as an operator does, so steps can call the service; ``svc.step_key``.
    """
    azurite = start_azurite(work / "azurite")
    state, host_state = work / "durableml", work / "funchost-state"
    env = {"AzureWebJobsStorage": azurite.connection_string, "DURABLEML_STATE_DIR": str(state), "PYTHONUNBUFFERED": "1"}
    key = ensure_function_key(host_state, "durableml-steps") if step_key else None
    if key:
        env["DURABLEML_STEP_KEY"] = key
    svc: Service | None = None
    try:
        host = funchost_process(REPO_ROOT, env=env, state_dir=host_state, ready_timeout=60)
        svc = Service(host, azurite, state, work / "project")
        svc.step_key = key
        svc.write_config(svc.project)
        yield svc
    finally:
        if svc is not None:
            svc.session.close()
            svc.host.stop()
            svc.shutdown_workers()
        azurite.stop()


@pytest.fixture(scope="module")
def service(funchost_process: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(funchost_process, tmp_path_factory.mktemp("e2e")) as svc:
        yield svc


@pytest.fixture
def project_copy(tmp_path: Path, service: Service) -> Callable[[str], Path]:
    """``project_copy(name)``: a fresh copy of ``tests/e2e/projects/<name>`` with a config.json for ``service``."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(PROJECTS / name, target, ignore=shutil.ignore_patterns("__pycache__", "config.json"))
        service.write_config(target)
        return target

    return copy
