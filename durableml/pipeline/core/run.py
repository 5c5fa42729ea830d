"""PipelineRun and StepRun: handles on runs the service executes, and their outputs.

Records read from the service (``durableml/service/record_types.py``): a pipeline run has ``id``,
``status``, ``error`` and ``pipelineOutputs`` (``{pipeline output name: {"datastore", "path"}}``);
a step run has ``id``, ``name``, ``status``, ``startTimeUtc``, ``createdUtc``, ``properties``, ``reusedFrom``
and ``outputs`` (``{output name: {"datastore", "path", ...}}``, where PipelineData lives at
``azureml/<step run id>/<output name>``).

Runs hold their experiment as an :class:`~durableml._handles.ExperimentHandle` (the experiment lists its
runs); ``publish_pipeline`` makes its PublishedPipeline through ``ServiceRecord.of_kind`` (published
pipelines start PipelineRuns).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from durableml.core.datastore import Datastore
from durableml.core.run import Run, RunStatus
from durableml.exceptions import ActivityFailedException, NotFoundError, ServiceError
from durableml.pipeline.core._service_record import ServiceRecord
from durableml.pipeline.core.progress import RunProgress

if TYPE_CHECKING:
    from durableml._handles import ExperimentHandle, WorkspaceHandle

__all__ = ["PipelineRun", "StepRun", "StepRunOutput", "PortDataReference", "ReuseExplanation"]

# How long one long poll of wait_for_completion may wait for news: with show_output the logs of running
# steps are read at least this often (a log growing changes no record).
_WAIT_S = 10.0
_PROGRESS_WAIT_S = 1.0


class PortDataReference:
    """Where a step output lives on a datastore; ``download`` copies it locally."""

    def __init__(self, workspace: WorkspaceHandle, name: str, location: Mapping[str, Any]) -> None:
        self._workspace = workspace
        self.data_reference_name = name
        self.datastore_name: str = str(location["datastore"])
        self.path_on_datastore: str = str(location["path"])
        self._path_on_datastore = self.path_on_datastore

    @property
    def datastore(self) -> Datastore:
        """The datastore holding the data."""
        return Datastore(self._workspace, self.datastore_name)

    def download(self, local_path: str, overwrite: bool = False, show_progress: bool = True) -> int:
        """Download to ``local_path/<path_on_datastore>``; return the number of files downloaded."""
        return self._workspace._client.download_files(
            self.datastore_name, self.path_on_datastore, os.fspath(local_path), bool(overwrite), bool(show_progress)
        )

    def __repr__(self) -> str:
        return f"PortDataReference(datastore={self.datastore_name!r}, path_on_datastore={self.path_on_datastore!r})"


class StepRunOutput:
    """One named output of a step run."""

    def __init__(self, step_run: StepRun, name: str, location: Mapping[str, Any]) -> None:
        self.step_run = step_run
        self.name = name
        self._location = dict(location)

    def get_port_data_reference(self) -> PortDataReference:
        """Return where the output's data lives."""
        return PortDataReference(self.step_run.experiment.workspace, self.name, self._location)


@dataclass(frozen=True)
class ReuseExplanation:
    """Why a step run was (not) reused; ``str()`` gives it as text (one line per change).

    ``reused_from`` is the step run whose outputs were reused; otherwise ``compared_with`` is the most recent
    earlier run of the same step (same display name, same experiment, another pipeline run), ``changes``
    every difference in the reuse key's components (``{"what": "file"|"argument"|"parameter"|"input"|
    "setting"|..., "name", "old", "new"}``; files carry their sha256 before and after) and ``reasons``
    what forbade reuse whatever changed (``allow_reuse=False``, ``regenerate_outputs=True``, a resumed run).
    """

    step_run_id: str
    reused: bool
    message: str
    reused_from: str | None = None
    compared_with: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def changed(self, what: str) -> list[str]:
        """The names of the changes of one kind: ``changed("file")`` → the changed files' paths."""
        return [str(c["name"]) for c in self.changes if c.get("what") == what]

    def __str__(self) -> str:
        return self.message


class StepRun(Run):
    """The run of one step of a pipeline run."""

    @property
    def reused_from(self) -> str | None:
        """The id of the step run whose outputs this step reused, or None when it ran."""
        return self._refresh().get("reusedFrom")

    def get_reuse_explanation(self) -> ReuseExplanation:
        """Say why this step was reused ("reused from <run>") or what changed since its previous run."""
        answer = self._client.get_reuse_explanation(self._run_id)
        return ReuseExplanation(
            step_run_id=self._run_id,
            reused=bool(answer.get("reused")),
            message=str(answer.get("message") or ""),
            reused_from=answer.get("reusedFrom"),
            compared_with=answer.get("comparedWith"),
            changes=list(answer.get("changes") or []),
            reasons=[str(r) for r in answer.get("reasons") or []],
        )

    @property
    def name(self) -> str | None:
        """The step's name."""
        return self._record.get("name") or self._refresh().get("name")

    def get_job_log(self) -> str:
        """Return the step's log (stdout and stderr of the script)."""
        return str(self._client.get_run_log(self._run_id, 0))

    def get_outputs(self) -> dict[str, StepRunOutput]:
        """Return the step's outputs by name."""
        outputs = self._refresh().get("outputs") or {}
        return {name: StepRunOutput(self, name, location) for name, location in sorted(outputs.items())}

    def get_output(self, name: str) -> StepRunOutput:
        """Return the output ``name``."""
        outputs = self.get_outputs()
        if name not in outputs:
            raise NotFoundError(
                f"Step run {self._run_id} has no output {name!r}; it has: {', '.join(outputs) or 'none'}."
            )
        return outputs[name]

    def get_output_data(self, name: str) -> PortDataReference:
        """Return where the output ``name`` lives on its datastore."""
        return self.get_output(name).get_port_data_reference()


class PipelineRun(Run):
    """A run of a pipeline (v1 ``PipelineRun(experiment, run_id)``, also for REST-submitted runs)."""

    def __init__(
        self, experiment: ExperimentHandle, run_id: str, _service_endpoint: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(experiment, run_id, **kwargs)

    def resume(self) -> PipelineRun:
        """Start a new run of this pipeline that reuses every step that finished in this run and runs the
        failed and canceled steps and everything downstream of them, with the same parameters.

        Steps with ``allow_reuse=False`` that finished are reused too: resuming never loses completed work.
        This run must have ended (Failed, Canceled or Finished).
        """
        record = self._client.resume_run(self._run_id)
        return PipelineRun(self._experiment, str(record["id"]), _record=record)

    def get_steps(self) -> list[StepRun]:
        """Return the step runs, latest started first."""
        records = sorted(
            self._client.list_step_runs(self._run_id),
            key=lambda r: str(r.get("startTimeUtc") or r.get("createdUtc") or ""),
            reverse=True,
        )
        return [StepRun(self._experiment, str(r["id"]), _record=r) for r in records]

    def get_children(self, reverse: bool = False, recursive: bool = False, **kwargs: Any) -> list[Run]:  # type: ignore[override]
        """Return the step runs (latest first, or first started first with ``reverse=True``)."""
        steps: list[Run] = list(self.get_steps())
        return steps[::-1] if reverse else steps

    def find_step_run(self, name: str) -> list[StepRun]:
        """Return the step runs whose step is called ``name`` (a list: names may repeat)."""
        return [step for step in self.get_steps() if step.name == name]

    def get_pipeline_output(self, pipeline_output_name: str) -> PortDataReference:
        """Return the data of the PipelineData declared with ``pipeline_output_name``."""
        outputs = self._refresh().get("pipelineOutputs") or {}
        if pipeline_output_name not in outputs:
            raise NotFoundError(
                f"Pipeline run {self._run_id} has no pipeline output {pipeline_output_name!r}; "
                f"it has: {', '.join(sorted(outputs)) or 'none'}."
            )
        return PortDataReference(self._experiment.workspace, pipeline_output_name, outputs[pipeline_output_name])

    def publish_pipeline(
        self, name: str, description: str, version: str, continue_on_step_failure: bool | None = None, **kwargs: Any
    ) -> ServiceRecord:
        """Publish the pipeline this run ran; return the PublishedPipeline."""
        spec = {
            "name": name,
            "description": description,
            "version": version,
            "continueOnStepFailure": continue_on_step_failure,
            "sourceRunId": self._run_id,
        }
        workspace = self._experiment.workspace
        return ServiceRecord.of_kind("PublishedPipeline")(workspace, workspace._client.publish_pipeline(None, spec))

    def wait_for_completion(  # type: ignore[override]  # v1 returns the status string here
        self, show_output: bool = True, timeout_seconds: int = sys.maxsize, raise_on_error: bool = True
    ) -> str:
        """Wait for the run to end, streaming step statuses and logs; return the final status.

        If the service stops answering (a restart), it says so and keeps waiting.
        """
        progress = RunProgress(self) if show_output else None
        if progress:
            progress.start()
        deadline = time.monotonic() + timeout_seconds
        delay = 0.2
        record: dict[str, Any] = dict(self._record)
        known: str | None = None  # the status seen last; None: read plainly (first, and after an outage)
        while True:
            waited = False
            try:
                if known is None:
                    record = self._refresh()
                else:  # the service answers when the run changes: no polling delay, no idle requests
                    wait = min(_PROGRESS_WAIT_S if progress else _WAIT_S, max(0.0, deadline - time.monotonic()))
                    record, waited = self._client.wait_for_run_change(self._run_id, known, wait, steps=bool(progress))
                    self._record = dict(record)
            except ServiceError:
                known = None
                if progress:
                    progress.update()  # reports the outage once
            else:
                if progress:
                    progress.update()
                if record.get("status") in RunStatus.TERMINAL:
                    break
                known = str(record.get("status"))
            if time.monotonic() >= deadline:
                break
            if not waited:  # an outage, or a service that answers long polls at once
                time.sleep(delay)
                delay = min(delay * 1.5, 2.0)
        status = str(record.get("status"))
        if progress:
            progress.finish(status)
        if raise_on_error and status == RunStatus.FAILED:
            raise ActivityFailedException(
                f"Pipeline run {self._run_id} failed: {self._failure_text(record)}",
                details={"runId": self._run_id, "error": record.get("error")},
            )
        return status

    def _failure_text(self, record: Mapping[str, Any]) -> str:
        """The run's error plus each failed step's error (its traceback tail)."""
        parts = [str(record.get("error") or "see the failed step's log")]
        try:
            for step in self.get_steps():
                if step._record.get("status") == RunStatus.FAILED and step._record.get("error"):
                    parts.append(f"step {step.name} ({step.id}):\n{step._record['error']}")
        except ServiceError:
            pass
        return "\n".join(parts)

    def __repr__(self) -> str:
        return (
            f"PipelineRun(Experiment: {self._experiment.name}, Id: "
            f"{self._run_id}, Status: {self._record.get('status', 'Unknown')})"
        )
