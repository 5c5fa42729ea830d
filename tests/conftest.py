"""Shared fixtures: a real Azurite for the session and real funchost processes on loopback ports.

* ``azurite``: one Azurite for the whole session, on ports the OS picked, data in a temp dir;
  ``azurite.connection_string`` is a full connection string for it.
* ``funchost_process``: a factory, ``funchost_process(app_dir, env={...})``, that starts
  ``python -m funchost start`` on any function app folder against that Azurite and returns a
  :class:`FunchostProcess` once ``/admin/host/status`` says ``Running``. Every process it started and
  that still runs is stopped (by pid / process group) at the end of the session.
* ``free_port()``: a TCP port nothing listens on right now; tests get it as the ``free_port``
  fixture (the function itself), which works whether or not ``tests`` becomes a package.
* ``service_storage``: the service's own code (``durableml.service``) called in-process, with its
  records and blobs in the session Azurite (fresh clients for the test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from funchost.azurite import AzuriteHandle, start_azurite
from funchost.host import free_port  # a TCP port on 127.0.0.1 that was free a moment ago
from funchost.process import READY_TIMEOUT, FunchostProcess

REPO_ROOT = Path(__file__).resolve().parent.parent


class _ByFileScheduling:
    """Under pytest-xdist (``scripts/test.sh`` runs ``-n N``): each test file runs whole in one worker, so its module
    fixtures (a funchost, an Azurite) are built once, and the whole ``tests/compute`` package runs in one worker,
    because its Ray cluster is the machine's only one (``ray stop --force`` stops every Ray).

    A scheduler of our own rather than ``--dist loadgroup`` with marks: xdist 3.8 groups by rewriting
    ``item._nodeid``, which pytest 9 no longer reads (node ids come from ``item._id``), so the marks group nothing."""

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        from xdist.scheduler import LoadScopeScheduling

        class ByFile(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types for its schedulers
            def _split_scope(self, nodeid: str) -> str:
                path = nodeid.split("::", 1)[0]
                return "tests/compute" if path.startswith("tests/compute/") else path

        return ByFile(config, log)


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):  # the hook exists only with xdist (``-p no:xdist`` turns it off)
        config.pluginmanager.register(_ByFileScheduling(), "durableml-by-file-scheduling")


@pytest.fixture(name="free_port")
def free_port_fixture() -> Callable[[], int]:
    """``funchost.host.free_port``, as a fixture: ``free_port()`` is a port nothing listens on now."""
    return free_port


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteHandle]:
    """A real Azurite for the whole session (free ports, temp data dir), stopped at the end."""
    handle = start_azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def service_storage(azurite: AzuriteHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point ``durableml.service`` at the session Azurite, with clients and caches made for this test."""
    from durableml.service import state

    monkeypatch.setenv("DURABLEML_STORAGE", azurite.connection_string)
    state.reset()
    yield
    state.reset()


FunchostFactory = Callable[..., FunchostProcess]


@pytest.fixture(scope="session")
def funchost_process(
    azurite: AzuriteHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FunchostFactory]:
    """Factory: ``funchost_process(app_dir, env=None, port=None, state_dir=None)`` → a running funchost.

    The process uses the session Azurite (``AzureWebJobsStorage``) plus ``env``; its state dir and
    output log live in a fresh temp dir unless ``state_dir`` is given. Session-scoped so that module
    fixtures can share one host: call ``.stop()`` to free it early; whatever still runs is stopped
    when the session ends.
    """
    started: list[FunchostProcess] = []

    def factory(
        app_dir: Path | str,
        env: dict[str, str] | None = None,
        port: int | None = None,
        state_dir: Path | None = None,
        ready_timeout: float = READY_TIMEOUT,
    ) -> FunchostProcess:
        work = tmp_path_factory.mktemp("funchost")
        full_env = {**os.environ, "AzureWebJobsStorage": azurite.connection_string, **(env or {})}
        proc = FunchostProcess(
            Path(app_dir).resolve(),
            state_dir or work / "state",
            work / "funchost.log",
            full_env,
            port=port,
            ready_timeout=ready_timeout,
            cwd=REPO_ROOT,
        )
        started.append(proc)
        return proc.start()

    yield factory
    for proc in started:
        proc.stop()
