"""Fixtures for the studio's browser tests: one durableml (funchost + Azurite) and one headless Chromium per module
(a module's leftovers, canceled runs and queued steps, never reach another's).

* ``service``: tests/e2e's ``running_service`` (a private Azurite, funchost on this repo's app).
* ``browser``: Debian's chromium (``/usr/bin/chromium``, installed by scripts/setup.sh) driven by playwright.
* ``studio``: a :class:`Studio` whose pages record every request the browser sends (``requests``), so tests can
  check that none leaves loopback and that no key or code is in any URL.
* Screenshots go to ``$DURABLEML_STUDIO_SCREENSHOTS`` when set (``docs/studio`` refreshes the README's), else to
  the test's temp dir.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from durableml.config import WorkspaceConfig
from durableml.http_client import HttpServiceClient
from durableml.studio_login import login_link
from tests.e2e.conftest import Service, running_service

CHROMIUM = os.environ.get("DURABLEML_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(None, tmp_path_factory.mktemp("studio")) as svc:
        yield svc


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: run scripts/setup.sh (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


def href(page: Any) -> str:
    """The page's address as the page has it now (``page.url`` is only updated while playwright is called)."""
    return str(page.evaluate("location.href"))


class Studio:
    """Opens studio pages signed in, as ``durableml studio`` does, and records the requests they send."""

    def __init__(self, service: Service, browser: Any, shots: Path) -> None:
        self.service = service
        self.browser = browser
        self.shots = shots
        self.requests: list[str] = []
        self.contexts: list[Any] = []
        self.client = HttpServiceClient(WorkspaceConfig(endpoint=service.base_url, key=service.key, source="test"))

    def page(self, viewport: dict[str, int] = DESKTOP, signed_in: bool = True, run_id: str | None = None) -> Any:
        context = self.browser.new_context(viewport=viewport, service_workers="block")
        self.contexts.append(context)
        page = context.new_page()
        page.on("request", lambda request: self.requests.append(request.url))
        page.set_default_timeout(30_000)
        if signed_in:
            page.goto(login_link(self.client, run_id).login_url)
            page.wait_for_selector("#who button")  # signed in: the sign-out button is there
        else:
            page.goto(self.service.base_url + "/api/studio")
        return page

    def shot(self, page: Any, name: str, full_page: bool = True) -> Path:
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    def check_requests(self) -> None:
        """Every request went to the service on loopback, and no URL holds the function key."""
        assert self.requests, "the browser sent no request"
        for url in self.requests:
            parts = urlsplit(url)
            assert parts.hostname == "127.0.0.1", f"a request left loopback: {url}"
            assert self.service.key not in url, "the function key is in a URL"
            assert "code=" not in parts.query, f"a code is in a query string: {url}"

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.client.close()


@pytest.fixture(scope="module")
def studio(service: Service, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    target = os.environ.get("DURABLEML_STUDIO_SCREENSHOTS")
    shots = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    found = Studio(service, browser, shots)
    yield found
    found.close()
