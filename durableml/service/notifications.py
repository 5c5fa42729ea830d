"""Run-finished notifications: a schedule or a pipeline endpoint may name a URL that receives a POST when a
run it started finishes. The ``notify_run_finished`` activity sends it; ``pipeline_run`` calls that activity
with a retry policy (backoff), so a receiver that is down for a while still gets the notice.

The URL is treated as a secret (webhook URLs often carry a signature or token): only its scheme and host
appear in logs and errors, never its path or query (``notification_urls``, which also checks them).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Mapping, Optional

from durableml.service import endpoints, schedules
from durableml.service.notification_urls import check_url, where
from durableml.service.runs import get_run

__all__ = ["NotificationFailed", "check_url", "where", "payload", "send", "target", "notify_run_finished"]

log = logging.getLogger("durableml.notifications")
TIMEOUT_S = (5, 30)
RETRY_FIRST_MS, RETRY_ATTEMPTS, RETRY_BACKOFF = 2_000, 6, 2.0  # 2 s, 4 s, 8 s, ... about a minute in all


class NotificationFailed(RuntimeError):
    """The receiver did not accept the notice (the activity fails, so the orchestration retries it)."""


def payload(run_id: str) -> dict[str, Any]:
    """What the receiver gets: the run's id, status, experiment, times, error, trigger and links."""
    run = get_run(run_id)
    base = _base_url()
    links = (
        {
            "run": f"{base}/api/runs/{run_id}",
            "steps": f"{base}/api/runs/{run_id}/steps",
            "logs": f"{base}/api/runs/{run_id}/logs",
        }
        if base
        else {}
    )
    return {
        "event": "PipelineRunFinished",
        "runId": run_id,
        "status": run["status"],
        "experimentName": run["experiment"],
        "created": run.get("created"),
        "ended": run.get("ended"),
        "error": run.get("error"),
        "runSource": run.get("run_source"),
        "properties": run.get("properties") or {},
        "links": links,
    }


def send(run_id: str, url: str, post: Optional[Any] = None) -> dict[str, Any]:
    """POST the notice; raise NotificationFailed (naming only the host) unless the receiver answers 2xx."""
    import requests

    body = payload(run_id)
    try:
        response = (post or requests.post)(
            url, json=body, timeout=TIMEOUT_S, headers={"User-Agent": "durableml-notifications"}
        )
    except requests.RequestException as exc:
        raise NotificationFailed(f"notifying {where(url)} about run {run_id} failed: {type(exc).__name__}") from None
    status = response.status_code
    response.close()
    if not 200 <= status < 300:
        raise NotificationFailed(f"{where(url)} answered {status} to the notice of run {run_id}")
    log.info("notified %s: run %s %s", where(url), run_id, body["status"])
    return {"url": where(url), "status": status}


def _base_url() -> str:
    host = os.environ.get("WEBSITE_HOSTNAME", "")
    if not host:
        return ""
    scheme = "http" if host.split(":")[0] in ("localhost", "127.0.0.1") else "https"
    return f"{scheme}://{host}"


def target(run: Mapping[str, Any]) -> Optional[str]:
    """The URL a run's notice goes to: the one the schedule or endpoint that started it names now (kept there,
    not copied into runs)."""
    properties = run.get("properties") or {}
    try:
        if properties.get("azureml.scheduleId"):
            return schedules.get(properties["azureml.scheduleId"]).get("notificationUrl") or None
        if properties.get("azureml.pipelineEndpointId"):
            return endpoints.get(properties["azureml.pipelineEndpointId"]).get("notificationUrl") or None
    except LookupError:
        return None  # deleted since
    return None


def notify_run_finished(run_id: str) -> Optional[dict[str, Any]]:
    """Send the notice of a finished run if it has a receiver (the activity's body)."""
    url = target(get_run(run_id))
    return send(run_id, url) if url else None
