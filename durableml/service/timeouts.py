"""Step timeouts: how long a step may run before it is canceled and ends Failed ("timed out after N s").

Where the limit comes from, first match wins:

* the step's own v1 setting: ``RunConfiguration.max_run_duration_seconds`` (``runConfig.maxRunDurationSeconds``
  in the document; ``ScriptRunConfig(max_run_duration_seconds=...)``'s run_config, a PythonScriptStep's or a
  CommandStep's ``runconfig``);
* a DatabricksStep's ``timeout_seconds``: Databricks enforces it itself (the run ends with Databricks' own
  reason), so the workspace default does not apply on top of it;
* the workspace default, the app setting ``DURABLEML_STEP_TIMEOUT_SECONDS`` (unset or empty: no limit, as v1,
  whose runs have no limit unless ``max_run_duration_seconds`` is given).

``step_run`` enforces it (orchestration side, so the same on every compute backend): a durable timer counted
from the step's submission to its compute target; when it fires first the ``step_timed_out`` activity cancels
the job as a cancel does (its processes stopped) and records the step Failed. The limit also reaches the job
spec (``JobSpec.timeout``), so the step runner stops a script that outlives it even while the orchestration
cannot act (the host is down).

A ParallelRunStep's ``run_invocation_timeout`` is a different limit, per mini-batch ``run()`` call, enforced
by its driver (``durableml.runner.parallel_run``).
"""

from __future__ import annotations

import math
import os
from typing import Any, Mapping, NamedTuple, Optional

from durableml.exceptions import ConfigurationError, ValidationError

__all__ = ["SETTING", "MAX_SECONDS", "StepTimeout", "step_timeout", "workspace_default", "timed_out_message"]

SETTING = "DURABLEML_STEP_TIMEOUT_SECONDS"
MAX_SECONDS = 366 * 24 * 3600
"""The largest limit accepted (a year): beyond it a value is a mistake (milliseconds?), and datetimes stay sane."""


class StepTimeout(NamedTuple):
    """A step's limit in seconds and where it comes from (named in the step's error when it fires)."""

    seconds: float
    source: str


def workspace_default() -> Optional[StepTimeout]:
    """The ``DURABLEML_STEP_TIMEOUT_SECONDS`` app setting, or None when it is unset or empty (no limit).

    A value that is not a positive number of seconds (at most :data:`MAX_SECONDS`) raises ConfigurationError
    naming the setting: the step fails with that reason instead of running without the limit the operator set.
    """
    raw = (os.environ.get(SETTING) or "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds <= MAX_SECONDS):
        raise ConfigurationError(
            f"the app setting {SETTING}={raw!r} is not a number of seconds between 0 and {MAX_SECONDS}; "
            "set it to the default step timeout in seconds, or leave it empty for no limit"
        )
    return StepTimeout(seconds, f"the workspace default {SETTING}")


def step_timeout(kind: str, settings: Mapping[str, Any]) -> Optional[StepTimeout]:
    """The limit of a step of ``kind`` with these (bound) ``settings``, or None for no limit (module docstring)."""
    run_config = settings.get("runConfig")
    own = run_config.get("maxRunDurationSeconds") if isinstance(run_config, Mapping) else None
    if own is not None:
        return StepTimeout(_seconds(own, "max_run_duration_seconds"), "max_run_duration_seconds")
    if kind == "databricks" and settings.get("timeoutSeconds"):
        return None  # Databricks ends the run itself after timeout_seconds
    return workspace_default()


def timed_out_message(limit: Mapping[str, Any]) -> str:
    """The step's error when its limit fires: ``timed out after N s`` and where N came from."""
    seconds = float(limit["seconds"])
    return (
        f"timed out after {seconds:g} s: the step ran longer than its limit ({limit.get('source') or 'its timeout'}) "
        "and was canceled"
    )


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value <= MAX_SECONDS):
        raise ValidationError(
            f"{name} must be a positive number of seconds (at most {MAX_SECONDS}), not {value!r}; "
            "leave it None for no limit"
        )
    return float(value)
