"""``durableml studio``: open the studio in the browser, signed in, without the function key leaving this process.

The CLI holds the function key (from the state dir's keys.json or config.json). It asks the service for a one-time
login code (``POST /api/studio/login-codes`` with the key) and opens ``<endpoint>/api/studio#login=<code>``: the
fragment never goes to the server (no request line, log or Referer carries it), the page exchanges the code for an
HttpOnly session cookie and removes it from the address bar, and the code works once, for two minutes
(durableml.studio_auth). The browser is the one :mod:`webbrowser` picks (``$BROWSER`` names another).
"""

from __future__ import annotations

import webbrowser
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from durableml.http_client import HttpServiceClient

STUDIO_PATH = "/api/studio"


@dataclass(frozen=True)
class StudioLink:
    """The page's address (``url``, no secret in it) and the one-time sign-in link (``login_url``)."""

    url: str
    login_url: str


def login_link(client: "HttpServiceClient", run_id: Optional[str] = None) -> StudioLink:
    """A fresh one-time sign-in link to the studio of the service ``client`` talks to (its function key proves
    who asks); the page opens run ``run_id`` after signing in, or the newest pipeline run (the Runs page when
    there is none)."""
    answer = client._record("studio login", "POST", f"{STUDIO_PATH}/login-codes")
    url = client.endpoint + STUDIO_PATH
    target = f"&next=/run/{run_id}" if run_id else "&next=latest"
    return StudioLink(url, f"{url}#login={answer['code']}{target}")


def open_studio(
    client: "HttpServiceClient", run_id: Optional[str] = None, opener: Callable[[str], bool] = webbrowser.open
) -> StudioLink:
    """Open the studio signed in; returns the link. Raises RuntimeError when no browser could be started."""
    link = login_link(client, run_id)
    if not opener(link.login_url):
        raise RuntimeError(
            f"could not start a web browser; open {link.url} yourself after running `durableml studio --print-link`"
        )
    return link
