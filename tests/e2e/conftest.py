"""Fixtures for the end-to-end pipeline tests (issue 3): the SDK against a real funchost on this repo's app.

* ``service`` (module scope): a private Azurite and durableml started by :mod:`durableml.launcher` (the one
  local starter, as ``durableml up`` and the examples use it) on that Azurite, with its state in a temp dir
  (``funchost/`` keys and store, ``durableml/`` the service's DURABLEML_STATE_DIR, ``funchost.log``), plus a
  project directory holding a ``config.json`` with the endpoint and function key. ``service.workspace()``
  builds a Workspace from that file; ``service.api(method, path, ...)`` sends a raw HTTP request with the
  key. At the end the launcher stops the host and the local-compute workers, then Azurite is stopped.
* ``project_copy(name)``: a fresh copy of a project under ``tests/e2e/projects`` with a config.json.

Each module gets its own Azurite so run records, reuse records and the task hub never leak between
modules (a crash test leaves orchestrations behind that another host must not pick up).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from durableml.compute.local import shutdown_workers
from durableml.core import Workspace
from durableml.launcher import LocalDurableml, write_config
from funchost.azurite import AzuriteHandle, start_azurite

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECTS = Path(__file__).resolve().parent / "projects"


class Service:
    """A running durableml (funchost + Azurite) and a project directory configured for it.

    ``host`` is the :class:`funchost.process.FunchostProcess` (``kill()``, ``restart()``, ``output()``...),
    ``launched`` the :class:`durableml.launcher.LocalDurableml` that started it.
    """

    def __init__(self, launched: LocalDurableml, azurite: AzuriteHandle, project: Path) -> None:
        self.launched = launched
        self.host = launched.host
        self.azurite = azurite
        self.state_dir = launched.durableml_state
        self.project = project
        self.session = requests.Session()
        self.step_key: str | None = launched.step_key

    @property
    def base_url(self) -> str:
        return self.launched.base_url

    @property
    def key(self) -> str:
        return self.launched.function_key

    def write_config(self, directory: Path) -> Path:
        """Write a config.json naming this service into ``directory``; return its path."""
        return write_config(directory, self.base_url, self.key, workspace_name="durableml-e2e")

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
        """Stop every detached local-compute worker this service started (as the launcher does when it stops)."""
        shutdown_workers(self.state_dir)


@contextlib.contextmanager
def running_service(
    funchost_process: object,
    work: Path,
    step_key: bool = False,
    accounts: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[Service]:
    """A private Azurite and durableml (:class:`durableml.launcher.LocalDurableml`) on it under ``work``.

    ``accounts``: more storage accounts Azurite serves (``svc.azurite.account_connection_string(name)``), for
    datastores on other accounts.

    ``step_key``: provision a function key for step processes (``durableml-steps`` in keys.json, named by the
    app's DURABLEML_STEP_KEY setting), as an operator does, so steps can call the service; ``svc.step_key``.
    ``env``: app settings for the host, as an operator sets them (a compute backend, a workspace default...).
    ``funchost_process`` is not used (the launcher starts the host); it stays for the modules that pass it.
    """
    azurite = start_azurite(work / "azurite", accounts=accounts)
    launched = LocalDurableml(
        work, storage=azurite.connection_string, step_key=step_key, ready_timeout=60, accounts=accounts, env=env
    )
    svc: Service | None = None
    try:
        launched.start()
        svc = Service(launched, azurite, work / "project")
        svc.write_config(svc.project)
        yield svc
    finally:
        if svc is not None:
            svc.session.close()
            launched.stop()  # the host, then the detached local-compute workers
        azurite.stop()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(None, tmp_path_factory.mktemp("e2e")) as svc:
        yield svc


@pytest.fixture(scope="module")
def v1_project(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory holding the service's config.json, with the ``azureml`` alias on for the module (as v1 code
    runs against durableml: ``from azureml.core import ...``, ``Workspace.from_config()``)."""
    from durableml import compat

    directory = tmp_path_factory.mktemp("v1-project")
    service.write_config(directory)
    was_enabled = compat.is_enabled()
    assert compat.enable(), "the real Azure ML SDK is installed: the alias stays off"
    yield directory
    if not was_enabled:
        compat.disable()


@pytest.fixture
def v1_ws(v1_project: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``Workspace.from_config()`` from the v1 project directory (the current directory of the test)."""
    monkeypatch.chdir(v1_project)
    from azureml.core import Workspace

    return Workspace.from_config()


@pytest.fixture
def project_copy(tmp_path: Path, service: Service) -> Callable[[str], Path]:
    """``project_copy(name)``: a fresh copy of ``tests/e2e/projects/<name>`` with a config.json for ``service``."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(PROJECTS / name, target, ignore=shutil.ignore_patterns("__pycache__", "config.json"))
        service.write_config(target)
        return target

    return copy
