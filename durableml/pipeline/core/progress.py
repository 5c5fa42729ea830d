"""What ``PipelineRun.wait_for_completion(show_output=True)`` shows while a run goes on.

Like v1 it prints each step's status changes, streams each step's driver log as it grows, and ends a
step with its execution summary. On a terminal it also keeps one live status line at the bottom
(elapsed time and step counts), rewritten in place. When the service stops answering (a restart, a
crash) it says so once and keeps waiting; it never loses its place in a log.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Sequence
from typing import Any, Protocol, TextIO

from durableml.core.run import Run, RunStatus
from durableml.exceptions import ServiceError

__all__ = ["RunProgress"]


class WatchedRun(Protocol):
    """What the report reads of a pipeline run (a PipelineRun, whose ``wait_for_completion`` makes the report)."""

    _record: dict[str, Any]

    @property
    def id(self) -> str: ...

    @property
    def _client(self) -> Any: ...

    def get_steps(self) -> Sequence[Run]: ...


class RunProgress:
    """Incremental reporter for one pipeline run; call ``update()`` on every poll."""

    def __init__(self, run: WatchedRun, out: TextIO | None = None) -> None:
        self.run = run
        self.out = out or sys.stdout
        self.live = bool(getattr(self.out, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.status: dict[str, str] = {}
        self.offsets: dict[str, int] = {}
        self.summarized: set[str] = set()
        self.outage_reported = False
        self._line_shown = False

    # -- output helpers --------------------------------------------------------------------------
    def say(self, text: str) -> None:
        """Print ``text`` above the live status line."""
        self._clear_line()
        print(text, file=self.out, flush=True)

    def _clear_line(self) -> None:
        if self._line_shown:
            self.out.write("\r" + " " * (shutil.get_terminal_size().columns - 1) + "\r")
            self._line_shown = False

    def _status_line(self, steps: list[Run]) -> None:
        if not self.live:
            return
        counts: dict[str, int] = {}
        for step in steps:
            counts[self.status.get(step.id, "NotStarted")] = counts.get(self.status.get(step.id, "NotStarted"), 0) + 1
        parts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
        line = f"[{time.monotonic() - self.started:6.1f}s] {self.run.id[:8]}: {parts or 'waiting for steps'}"
        self.out.write("\r" + line[: shutil.get_terminal_size().columns - 1])
        self.out.flush()
        self._line_shown = True

    # -- polling ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.say(f"PipelineRunId: {self.run.id}")
        self.say(f"PipelineRun Status: {self.run._record.get('status', 'NotStarted')}")

    def update(self) -> bool:
        """Report what changed since the last call; False when the service did not answer."""
        try:
            steps = list(reversed(self.run.get_steps()))  # oldest first
            for step in steps:
                self._step(step)
        except ServiceError as exc:
            if not self.outage_reported:
                self.say(
                    f"The durableml service is not answering ({type(exc).__name__}); the run goes on "
                    "there. Still waiting..."
                )
                self.outage_reported = True
            return False
        if self.outage_reported:
            self.say("The durableml service answers again.")
            self.outage_reported = False
        self._status_line(steps)
        return True

    def _step(self, step: Run) -> None:
        status = str(step._record.get("status"))
        changed, terminal = self.status.get(step.id) != status, status in RunStatus.TERMINAL
        self.status[step.id] = status
        if changed and not terminal:
            self._say_status(step, status)
        if step._record.get("submitted") and step.id not in self.summarized:
            self._stream_log(step)  # before a terminal status, so the log's last lines come first
        if changed and terminal:
            self._say_status(step, status)
        if terminal and step.id not in self.summarized:
            self.summarized.add(step.id)
            self._summary(step, status)

    def _say_status(self, step: Run, status: str) -> None:
        reused = step._record.get("reusedFrom")
        self.say(f"StepRun( {step.name} ) Status: {status}" + (f" (reused from {reused})" if reused else ""))

    def _stream_log(self, step: Run) -> None:
        offset = self.offsets.get(step.id)
        if offset is None:
            self.say(f"\nStreaming log of {step.name} ({step.id})\n" + "=" * 60)
            offset = 0
        text = self.run._client.get_run_log(step.id, offset)
        if text:
            self.say(text.rstrip("\n"))
            offset += len(text)
        self.offsets[step.id] = offset

    def _summary(self, step: Run, status: str) -> None:
        title = f"StepRun({step.name}) Execution Summary"
        lines = [f"\n{title}", "=" * len(title), f"StepRun( {step.name} ) Status: {status}"]
        details: dict[str, Any] = {"runId": step.id, "status": status}
        if step._record.get("error"):
            details["error"] = step._record["error"]
        if step._record.get("reusedFrom"):
            details["reusedFrom"] = step._record["reusedFrom"]
        lines.append(str(details) + "\n")
        self.say("\n".join(lines))

    def finish(self, status: str) -> None:
        self._clear_line()
        self.say(
            f"PipelineRun Execution Summary\n==============================\n"
            f"PipelineRun Status: {status} ({time.monotonic() - self.started:.1f} s)"
        )
