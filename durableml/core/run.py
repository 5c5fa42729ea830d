"""Run: one execution tracked by the service; ``Run.get_context()`` inside a step.

Inside a step, ``Run.get_context()`` returns the step's run, with ``input_datasets``,
``experiment.workspace`` and metrics logging: from the context file the step runner names in
``DURABLEML_RUN_CONTEXT`` (see :mod:`durableml.core.step_context`), or from a provider installed
in-process with :func:`set_context_provider` (both found through :mod:`durableml.core._context`).
Anywhere else it returns an :class:`_OfflineRun`, as in v1: metrics are kept in memory and
``input_datasets`` is empty. Online runs read their record (``id``, ``status``, ``name``,
``properties``, ``tags``, ``parentRunId``, ``error``) through the workspace's service client.
Pipeline and step runs finish as ``Finished`` (v1's pipeline status), other runs as ``Completed``.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from durableml import contract
from durableml._http_errors import v1_lookup_error
from durableml.core import _context
from durableml.core.model import Model
from durableml.exceptions import ActivityFailedException, NotSupportedError, RunNotFoundError, UserErrorException

if TYPE_CHECKING:
    from durableml._handles import ExperimentHandle

__all__ = ["Run", "RunStatus", "set_context_provider", "_OfflineRun"]

_log = logging.getLogger(__name__)


class RunStatus:
    """The statuses a run reports, as v1 spells them (the ones durableml records come from its contract;
    v1's other names are here for code that compares with them)."""

    NOT_STARTED = contract.NOT_STARTED
    QUEUED = contract.QUEUED
    PREPARING = "Preparing"
    RUNNING = contract.RUNNING
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    FINISHED = contract.FINISHED
    FAILED = contract.FAILED
    CANCELED = contract.CANCELED
    TERMINAL = frozenset({COMPLETED, *contract.TERMINAL})


def _dataset(workspace: Any, definition: Mapping[str, Any]) -> Any:
    """A Dataset object (FileDataset / TabularDataset) for a dataset definition a run record carries."""
    from durableml.core.dataset import dataset_from_record

    record = {"id": definition.get("id"), "name": definition.get("name"), "version": definition.get("version"),
              "definition": dict(definition)}  # fmt: skip
    return dataset_from_record(workspace, record)


def set_context_provider(provider: Callable[[], Run] | None) -> Callable[[], Run] | None:
    """Install what ``Run.get_context()`` returns (the step runner does this); return the old one."""
    return cast("Callable[[], Run] | None", _context.set_provider(provider))


class Run:
    """A run of an experiment (v1 ``Run(experiment, run_id)``)."""

    def __init__(self, experiment: ExperimentHandle, run_id: str, outputs: Any = None, **kwargs: Any) -> None:
        self._experiment = experiment
        self._run_id = run_id
        self._record: dict[str, Any] = dict(kwargs.get("_record") or {})
        self._input_datasets: dict[str, Any] = dict(kwargs.get("_input_datasets") or {})

    @classmethod
    def get_context(cls, allow_offline: bool = True, used_for_context_manager: bool = False, **kwargs: Any) -> Run:
        """Return the run of the current step, or an offline run outside a step."""
        step_run = _context.step_run()
        if step_run is not None:
            return cast(Run, step_run)
        if not allow_offline:
            raise UserErrorException("Run.get_context(allow_offline=False) was called outside a durableml step run.")
        return _OfflineRun()

    @property
    def id(self) -> str:
        """The run id."""
        return self._run_id

    @property
    def experiment(self) -> ExperimentHandle:
        """The experiment the run belongs to (``.workspace`` gives the workspace)."""
        return self._experiment

    @property
    def _client(self) -> Any:
        return self._experiment.workspace._client

    def _refresh(self) -> dict[str, Any]:
        try:
            self._record = dict(self._client.get_run(self._run_id))
        except RunNotFoundError as exc:  # v1 found out at Run(experiment, run_id); durableml at the first fetch
            raise v1_lookup_error(exc, f"Run {self._run_id} was not found") from exc
        return self._record

    @property
    def name(self) -> str | None:
        """The run's display name."""
        return self._record.get("name") or self._refresh().get("name")

    display_name = name

    @property
    def status(self) -> str:
        """The status at the last refresh."""
        return str(self._record.get("status") or self._refresh().get("status"))

    @property
    def properties(self) -> dict[str, Any]:
        """The run's properties."""
        return dict(self._refresh().get("properties") or {})

    @property
    def tags(self) -> dict[str, str]:
        """The run's tags."""
        return dict(self._refresh().get("tags") or {})

    @property
    def parent(self) -> Run | None:
        """The parent run (the pipeline run of a step run), or None."""
        parent_id = self._record.get("parentRunId") or self._refresh().get("parentRunId")
        return Run(self._experiment, parent_id) if parent_id else None

    @property
    def input_datasets(self) -> dict[str, Any]:
        """Named inputs: a local path for file data, a TabularDataset for tabular data."""
        return dict(self._input_datasets)

    def get_status(self) -> str:
        """Return the current status (``Running``, ``Completed``, ``Failed``...)."""
        return str(self._refresh().get("status"))

    def get_details(self) -> dict[str, Any]:
        """Return the run record with ``runId`` added (``status``, ``startTimeUtc``, ``endTimeUtc``, ``target``,
        ``properties``...); a step run's ``inputDatasets`` / ``outputDatasets`` in v1's shape, each with its
        ``dataset`` as a Dataset object."""
        details = {"runId": self._run_id, **self._refresh()}
        workspace = self._experiment.workspace
        if "inputDatasets" in details:
            details["inputDatasets"] = [
                {"dataset": _dataset(workspace, used["dataset"]),
                 "consumptionDetails": {"type": "RunInput", "inputName": used["name"], "mechanism": used["mechanism"]}}
                for used in details["inputDatasets"]
            ]  # fmt: skip
        if "outputDatasets" in details:
            details["outputDatasets"] = [
                {"identifier": {"savedId": made["dataset"].get("id")}, "outputType": "RunOutput",
                 "outputDetails": {"outputName": made["name"]}, "dataset": _dataset(workspace, made["dataset"])}
                for made in details["outputDatasets"]
            ]  # fmt: skip
        return details

    def get_metrics(
        self, name: str | None = None, recursive: bool = False, run_type: str | None = None, populate: bool = False
    ) -> dict[str, Any]:
        """Return the logged metrics (one name, or all)."""
        metrics = self._client.get_run_metrics(self._run_id)
        return {name: metrics[name]} if name is not None and name in metrics else ({} if name else dict(metrics))

    def _log(self, kind: str, name: str, value: Any, description: str = "") -> None:
        self._client.log_metrics(
            self._run_id, [{"kind": kind, "name": name, "value": value, "description": description}]
        )

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Log a scalar metric."""
        self._log("scalar", name, value, description)

    def log_list(self, name: str, value: Iterable[Any], description: str = "") -> None:
        """Log a list metric."""
        self._log("list", name, list(value), description)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Log one row of a table metric."""
        self._log("row", name, dict(kwargs), description or "")

    def log_table(self, name: str, value: Mapping[str, Any], description: str = "") -> None:
        """Log a table metric (a dict of columns)."""
        self._log("table", name, dict(value), description)

    def log_image(self, name: str, path: str | None = None, plot: Any = None, description: str = "") -> None:
        """Log an image (a file path, or a matplotlib figure saved to PNG)."""
        if plot is not None:
            path = os.path.join(os.getcwd(), "outputs", f"{name}.png")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            plot.savefig(path)
        self._log("image", name, path, description)

    def tag(self, key: str, value: str | None = None) -> None:
        """Set a tag (recorded as a metric entry of kind ``tag``)."""
        self._log("tag", key, value)

    def complete(self) -> None:
        """Steps complete when their script exits; nothing to do."""

    def fail(self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True) -> None:
        """Mark the run failed by cancelling it on the service."""
        self._client.cancel_run(self._run_id)

    def cancel(self) -> None:
        """Cancel the run."""
        self._client.cancel_run(self._run_id)

    def get_children(
        self,
        recursive: bool = False,
        tags: Any = None,
        properties: Any = None,
        type: Any = None,
        status: Any = None,
        _rehydrate_runs: bool = True,
    ) -> list[Run]:
        """Return the child runs."""
        return [
            Run(self._experiment, record["id"], _record=record) for record in self._client.list_step_runs(self._run_id)
        ]

    def get_file_names(self) -> list[str]:
        """Return the names of the run's captured files (``outputs/``, ``logs/``)."""
        return list(self._client.list_run_files(self._run_id))

    def download_file(self, name: str, output_file_path: str | None = None, _validate_checksum: bool = False) -> None:
        """Download one captured file (``outputs/model.pkl``) to ``output_file_path``."""
        target = output_file_path or os.path.basename(name)
        self._client.download_run_file(self._run_id, name.lstrip("./"), target)

    def upload_file(self, name: str, path_or_stream: Any, datastore_name: str | None = None) -> None:
        """Uploading files to a run is only available inside its step (``Run.get_context()``)."""
        raise NotSupportedError(
            "Run.upload_file outside the run's step",
            "Inside a step, Run.get_context().upload_file('outputs/...', path) adds the file to the run.",
        )

    def upload_folder(self, name: str, path: str, datastore_name: str | None = None) -> None:
        """Uploading folders to a run is only available inside its step (``Run.get_context()``)."""
        raise NotSupportedError(
            "Run.upload_folder outside the run's step",
            "Inside a step, Run.get_context().upload_folder('outputs/...', path) adds the files to the run.",
        )

    def register_model(
        self,
        model_name: str,
        model_path: str | None = None,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, Any] | None = None,
        description: str | None = None,
        datasets: Any = None,
        **kwargs: Any,
    ) -> Model:
        """Register files captured by this run (``outputs/...``) as a model."""
        spec = {
            "name": model_name,
            "runId": self._run_id,
            "runPath": model_path or "outputs",
            "tags": dict(tags or {}),
            "properties": dict(properties or {}),
            "description": description,
            "datasets": [[label, getattr(ds, "id", str(ds))] for label, ds in datasets or []],
        }
        return Model._from_record(self._experiment.workspace, self._client.register_model(spec, []))

    def wait_for_completion(
        self, show_output: bool = False, wait_post_processing: bool = False, raise_on_error: bool = True
    ) -> dict[str, Any]:
        """Wait until the run ends; return its details, raising ActivityFailedException if it failed."""
        offset = 0
        delay = 0.5
        while True:
            record = self._refresh()
            if show_output:
                text = self._client.get_run_log(self._run_id, offset)
                sys.stdout.write(text)
                offset += len(text)
            if record.get("status") in RunStatus.TERMINAL:
                break
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)
        if raise_on_error and record.get("status") == RunStatus.FAILED:
            raise ActivityFailedException(
                f"Run {self._run_id} failed: {record.get('error') or 'see its logs'}.",
                details={"runId": self._run_id, "error": record.get("error")},
            )
        return self.get_details()

    def __repr__(self) -> str:
        return (
            f"Run(Experiment: {self._experiment.name}, Id: {self._run_id}, "
            f"Status: {self._record.get('status', 'Unknown')})"
        )


class _OfflineRun(Run):
    """The run outside any step: metrics stay in memory (and go to the ``logging`` module)."""

    def __init__(self) -> None:
        self._run_id = f"OfflineRun_{uuid.uuid4()}"
        self._record = {"status": RunStatus.RUNNING}
        self._input_datasets = {}
        self._metrics: dict[str, Any] = {}

    @property
    def experiment(self) -> ExperimentHandle:
        """Offline runs have no experiment; raise a clear error."""
        raise UserErrorException(
            "This code is not running inside a durableml step, so Run.get_context() has no experiment "
            "or workspace. Use Workspace.from_config() outside steps."
        )

    @property
    def _client(self) -> Any:
        raise UserErrorException(
            f"Run {self._run_id} is an offline run (this code is not running inside a durableml step), so it "
            "has no service record, files or children. Submit the script as a pipeline step to track it."
        )

    def _refresh(self) -> dict[str, Any]:
        return self._record

    def get_metrics(
        self, name: str | None = None, recursive: bool = False, run_type: str | None = None, populate: bool = False
    ) -> dict[str, Any]:
        """Return the metrics logged so far in this process."""
        return {name: self._metrics[name]} if name in self._metrics else ({} if name else dict(self._metrics))

    def _log(self, kind: str, name: str, value: Any, description: str = "") -> None:
        _log.info("offline run: %s metric %s = %r", kind, name, value)
        if kind in ("scalar", "tag"):
            previous = self._metrics.get(name)
            self._metrics[name] = (
                value if previous is None else [*(previous if isinstance(previous, list) else [previous]), value]
            )
        elif kind == "row":
            self._metrics.setdefault(name, []).append(value)
        else:
            self._metrics[name] = value

    def complete(self) -> None:
        """Mark the offline run completed."""
        self._record["status"] = RunStatus.COMPLETED

    def fail(self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True) -> None:
        """Mark the offline run failed."""
        self._record["status"] = RunStatus.FAILED

    def cancel(self) -> None:
        """Mark the offline run canceled."""
        self._record["status"] = RunStatus.CANCELED

    def get_children(self, *args: Any, **kwargs: Any) -> list[Run]:
        """Offline runs have no children."""
        return []

    def wait_for_completion(
        self, show_output: bool = False, wait_post_processing: bool = False, raise_on_error: bool = True
    ) -> dict[str, Any]:
        """Return at once."""
        return self.get_details()

    def __repr__(self) -> str:
        return f"_OfflineRun(Id: {self._run_id})"
