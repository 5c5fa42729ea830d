"""The run-finished notice (durableml.service.notifications); ``pipeline_run`` calls it with retries."""

from __future__ import annotations

from typing import Any, Optional

import azure.durable_functions as df

from app_decorators import activity, function_name
from durableml import contract
from durableml.service import notifications

bp = df.Blueprint()


@function_name(bp, contract.ACTIVITY_NOTIFY_RUN_FINISHED)
@activity(bp)
def notify_run_finished(payload: dict[str, Any]) -> Optional[dict[str, Any]]:
    return notifications.notify_run_finished(payload["run_id"])
