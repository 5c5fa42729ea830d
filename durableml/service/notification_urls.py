"""Notification URLs (the webhook a schedule or pipeline endpoint names): checking one, and showing it safely.

The URL is treated as a secret (webhook URLs often carry a signature or token): only its scheme and host
appear in logs and errors, never its path or query. Endpoints and schedules check the URLs they are given
here; ``notifications`` sends the notices (and reads endpoints and schedules to find where to).
"""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlsplit

from durableml.exceptions import ValidationError


def where(url: str) -> str:
    """The part of a notification URL that is safe to show: scheme and host."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}"


def check_url(url: Any) -> Optional[str]:
    """A notification URL as given (None: no notices); ValidationError unless it is http(s)."""
    if url in (None, ""):
        return None
    if not (isinstance(url, str) and url.startswith(("http://", "https://")) and urlsplit(url).hostname):
        raise ValidationError(
            f"notification_url must be an http(s) URL such as https://example.com/hooks/runs, got {url!r}"
        )
    return str(url)
