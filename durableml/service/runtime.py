"""The step lifecycle the orchestrations drive through activities: start (reuse or submit), complete,
cancel, and the pipeline run's finish (the first step's start sets the run Running).

Every function is idempotent: an activity may run twice (at-least-once), so a second ``step_start``
finds the step run already submitted, and the compute backend's submit is idempotent on the step run id.

Failures reach the step's record: whatever goes wrong while a step starts (bad settings, a missing compute
target or datastore, the backend refusing the job) ends the step Failed with the reason in its record;
what goes wrong on the compute node (staging, the script, uploading outputs) comes back in the job's
report; and when a step's orchestration itself fails, ``pipeline_run`` hands a Failed report with the
reason to ``step_complete`` (see ``orchestrators/pipeline_run.py``), which records it even for a step that
never got a record.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime
from typing import Any, Mapping, Optional, Sequence

from durableml import stepkinds
from durableml.contract import CANCELED, EVENT_STEP_DONE, FAILED, FINISHED, NOT_STARTED, QUEUED, RUNNING, TERMINAL
from durableml.exceptions import AzureMLException, NotSupportedError
from durableml.jobs import NO_SNAPSHOT, JobState, input_placeholder, output_placeholder, status_from_report
from durableml.service import changes, computes, datasets, datastores, reuse, state, timeouts
from durableml.service.records import RUNS, records, storage_connection
from durableml.service.runs import (
    PARTITION,
    RunStatic,
    get_run,
    run_static,
    step_run_id,
    update_run,
    utc_now,
    workspace_record,
)


# ---------------------------------------------------------------------------------------------- pipeline
def pipeline_finished(
    run_id: str,
    status: str,
    steps: Mapping[str, str],
    record_first: Sequence[Mapping[str, Any]] = (),
    error: Optional[str] = None,
) -> None:
    """Record the run's end: first the ended steps handed over to it (``{"step", "report"}``, see
    ``step_start``), the steps that never started, then the run itself (``error``: why the run ended other than
    through its steps, e.g. storage stayed unavailable; else its failed steps)."""
    run = run_static(run_id)
    _after_decision(run, record_first, False)
    for step in run.document["steps"]:
        if steps.get(step["id"]) == NOT_STARTED:
            _ensure_step_record(run, step, status=NOT_STARTED)
    error = "; ".join(e for e in (error, _failed_steps(run, steps)) if e) or None
    update_run(run_id, status=status, ended=utc_now(), error=error, pipeline_outputs=_pipeline_outputs(run))


def _failed_steps(run: RunStatic, steps: Mapping[str, str]) -> Optional[str]:
    """The run's error: each failed step's name with the last line of its reason (its record has it all)."""
    failed = [step for step in run.document["steps"] if steps.get(step["id"]) == FAILED]
    if not failed:
        return None
    parts = []
    for step in failed:
        record = records().get(RUNS, PARTITION, step_run_id(run.id, step["id"])) or {}
        lines = [line.strip() for line in str(record.get("error") or "").splitlines() if line.strip()]
        parts.append(f"step '{step['name']}' failed: {lines[-1] if lines else 'no reason was recorded'}")
    return "; ".join(parts)


def _pipeline_outputs(run: RunStatic) -> dict[str, Any]:
    """``{pipeline_output_name: {"datastore", "path"}}`` for the outputs of steps that produced them."""
    found: dict[str, Any] = {}
    for step in run.document["steps"]:
        for name, out in step["outputs"].items():
            if out.get("pipelineOutputName"):
                record = records().get(RUNS, PARTITION, step_run_id(run.id, step["id"]))
                where = (record or {}).get("outputs", {}).get(name)
                if where and record and record["status"] == FINISHED:
                    found[out["pipelineOutputName"]] = {"datastore": where["datastore"], "path": where["path"]}
    return found


# ---------------------------------------------------------------------------------------------- steps
_SAVED = state.cache(
    "step records saved",
    "a step run's record is written only by its own step_start / step_complete (and by pipeline_finished for "
    "steps that never started), one at a time, so these replace it whole instead of read-modify-write, and "
    "step_complete starts from the record step_start saved in this process when it is still cached",
)
_OUTPUTS = state.recent(
    "step run outputs",
    "a step run's outputs are fixed when it starts (or reuses), and only its own activities save its record: the "
    "outputs saved last in this process are the stored ones; a downstream step reads them here instead of reading "
    "the producer's record again",
)
_log = logging.getLogger(__name__)


def step_start(
    run_id: str,
    plan_step: Mapping[str, Any],
    notify_url: Optional[str] = None,
    record_first: Sequence[Mapping[str, Any]] = (),
    pipeline_running: bool = False,
) -> dict[str, Any]:
    """Reuse an earlier result or submit the step; ``{"result": ...}`` when already decided, else ``{}``.

    ``record_first``: ended upstream steps (``{"step": plan step, "report": job report}``) whose results
    this call records, right after submitting (their records are saved before this step's, so nobody
    sees this step running while an upstream one does not show its end yet). ``pipeline_running``: this
    is the run's first step, so the run is set Running too (after the submit, off the step's path).

    A repeated call (the activity ran twice) submits again, which the compute backend ignores, and
    saves the same records again: step_complete cannot have run before this activity completed.

    Anything that keeps the step from starting (its settings, inputs, compute target, the backend's
    submit) ends it Failed, with the reason in its record.

    A submitted step with a time limit (``durableml.service.timeouts``) returns ``{"timeout": {"seconds",
    "source"}}``: ``step_run`` cancels it when the limit passes (``step_timed_out``).
    """
    run = run_static(run_id)
    step = _document_step(run, plan_step["id"])
    record = _new_step_record(run, step, status=QUEUED)
    limit: Optional[timeouts.StepTimeout] = None
    try:
        resolved = _resolve(run, step, record["id"])
        reused = reuse.find(run, step, resolved["reuse"])
        if reused is None:
            limit = timeouts.step_timeout(step["kind"], _bound(step.get("settings") or {}, run.parameters))
            _submit(run, step, record["id"], resolved, notify_url, limit)
    except Exception as exc:  # noqa: BLE001 (every reason reaches the step's record)
        _after_decision(run, record_first, pipeline_running)
        return {"result": _result(_save(record, status=FAILED, ended=utc_now(), error=_reason(step, exc)))}
    _after_decision(run, record_first, pipeline_running)
    if reused is not None:
        return {"result": _reused(record, resolved, reused)}
    found = _input_datasets(resolved["inputs"])
    used = {"input_datasets": found} if found else {}  # kept off the records of steps that use none
    _save(
        record,
        status=RUNNING,
        started=utc_now(),
        submitted=True,
        reuse=resolved["reuse"],
        outputs=resolved["outputs"],
        **used,
    )
    return {"timeout": limit._asdict()} if limit else {}


def _reused(record: Mapping[str, Any], resolved: Mapping[str, Any], reused: Mapping[str, Any]) -> dict[str, Any]:
    """Record the step run Finished with the earlier result it reuses; its result."""
    found = _input_datasets(resolved["inputs"])
    used = {"input_datasets": found} if found else {}  # kept off the records of steps that use none
    done = _save(
        record,
        status=FINISHED,
        ended=utc_now(),
        outputs=reused["outputs"],
        reused_from=reused["id"],
        reuse=reused["reuse"],
        **used,
    )
    return _result(done)


def steps_reuse(run_id: str, ready: Sequence[str], depends_on: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Reuse ahead: every step that can reuse an earlier result now, in one call, instead of one ``step_run`` each.

    Tries the ``ready`` steps in order; each one reused finishes at once, so the steps downstream of it whose
    upstream steps have all been reused here are tried next, in plan order. A step that may not reuse (its
    ``allow_reuse``, ``regenerate_outputs``; in a resumed run, what finished there), finds nothing to reuse, or
    cannot be resolved is left alone: it starts as usual and its ``step_start`` decides (and records any error).
    Returns ``{"reused": {step id: result}}``; when anything was reused the run is set Running too.

    Idempotent: a repeated call (the activity ran twice) finds the same earlier results and saves the same records.
    """
    run = run_static(run_id)
    order = {sid: i for i, sid in enumerate(depends_on)}
    pending = sorted(set(ready), key=lambda sid: order.get(sid, len(order)))
    reused: dict[str, Any] = {}
    while pending:
        sid = pending.pop(0)
        result = _reuse_now(run, sid)
        if result is None:
            continue
        if not reused:
            update_run(run.id, status=RUNNING, started=utc_now())
        reused[sid] = result
        unlocked = [d for d, ups in depends_on.items() if sid in ups and all(u in reused for u in ups)]
        pending = sorted({*pending, *unlocked}, key=lambda s: order[s])
    return {"reused": reused}


def _reuse_now(run: RunStatic, sid: str) -> Optional[dict[str, Any]]:
    """The step's result when it reuses an earlier one (recorded), else None (nothing written)."""
    step = _document_step(run, sid)
    if not reuse.may_reuse(run, step):
        return None
    record = _new_step_record(run, step, status=QUEUED)
    try:
        resolved = _resolve(run, step, record["id"])
    except AzureMLException:  # its step_start meets the same error and records it
        return None
    found = reuse.find(run, step, resolved["reuse"])
    return None if found is None else _reused(record, resolved, found)


def _input_datasets(inputs: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """v1's ``inputDatasets`` of a step run: each input consumed as a dataset, with the dataset's definition
    (an unregistered one is saved, so that it has an id usable later: ``Dataset.get_by_id``, v1 REST)."""
    used = []
    for name, given in inputs.items():
        described = given.get("dataset")
        if not described:
            continue
        definition = dict(described) if isinstance(described, Mapping) else _folder_dataset(
            str(described), given["datastore"], given["path_on_datastore"]
        )  # fmt: skip
        definition["id"] = datasets.save(definition)
        used.append({"name": name, "mechanism": str(given.get("mode") or "mount").capitalize(), "dataset": definition})
    return used


def _folder_dataset(dataset_type: str, datastore: str, path: str) -> dict[str, Any]:
    """The definition of a dataset over every file under ``path`` (a step output read or written as one)."""
    where = {"datastore": datastore, "path": path.rstrip("/") + "/**"}
    return {"datasetType": dataset_type, "paths": [where], "format": {}, "transforms": []}


def _reason(step: Mapping[str, Any], exc: BaseException) -> str:
    """What a step's record says when ``exc`` stopped it: the error's type and message (the traceback of an
    unexpected one goes to the host's log too)."""
    if not isinstance(exc, AzureMLException):
        _log.error("step %r: unexpected error", step.get("name"), exc_info=exc)
    return f"{type(exc).__name__}: {exc}"


def _submit(
    run: RunStatic,
    step: Mapping[str, Any],
    sid: str,
    resolved: Mapping[str, Any],
    notify_url: Optional[str],
    limit: Optional[timeouts.StepTimeout] = None,
) -> None:
    """Build the step's job with its kind's ``to_job`` and submit it to its compute target's backend."""
    kind = stepkinds.get(step["kind"])
    if kind.to_job is None:  # refused at submit; a run created by an older version may still name one
        raise NotSupportedError(f"running {kind.v1_class} steps", kind.later)
    backend = computes.backend(step.get("computeTarget"))
    basis = _job_basis(run, step, sid, resolved, notify_url)
    if limit is not None:
        basis = dataclasses.replace(basis, timeout=limit.seconds)
    backend.submit(kind.to_job(basis))


def _after_decision(run: RunStatic, record_first: Sequence[Mapping[str, Any]], pipeline_running: bool) -> None:
    for ended in record_first:
        step_complete(run.id, ended["step"], ended.get("report"))
    if pipeline_running:
        update_run(run.id, status=RUNNING, started=utc_now())


def step_complete(
    run_id: str, plan_step: Mapping[str, Any], report: Optional[Mapping[str, Any]] = None
) -> Optional[dict[str, Any]]:
    """The step's result once its job is terminal (recorded once), else None (keep waiting); see :func:`step_poll`."""
    answer = step_poll(run_id, plan_step, report)
    return None if "pending" in answer else answer


def step_poll(run_id: str, plan_step: Mapping[str, Any], report: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """The step's result once its job is terminal (recorded once), else ``{"pending": the job's state}`` (keep
    waiting: ``step_run`` polls a job still Queued less often than a Running one).

    ``report``: the job's terminal report from the ``step_done`` event (``job_report``); when complete
    it is recorded as it is, otherwise the compute backend is polled. ``pipeline_run`` also hands over a
    Failed report for a step whose orchestration failed, which may have no record yet: it gets one.
    A deliberate error from the backend (the target is gone, the job is unknown) ends the step Failed.
    """
    run, step, sid, record = _step_record(run_id, plan_step)
    if record["status"] in TERMINAL:
        _SAVED.pop(sid, None)
        return _result(record)
    if report and report.get("complete") and report.get("status") in TERMINAL:
        status = status_from_report(sid, report)
    else:
        try:
            status = computes.backend(step.get("computeTarget")).poll(record["id"])
        except AzureMLException as exc:
            _SAVED.pop(sid, None)
            return _result(_save(record, status=FAILED, ended=utc_now(), error=_reason(step, exc)))
    if not status.is_terminal:
        return {"pending": status.state.value}
    outcome = status.state.value if status.state in (JobState.FINISHED, JobState.FAILED) else CANCELED
    made = _output_datasets(step, record) if outcome == FINISHED else []
    done = _save(record, status=outcome, ended=utc_now(), error=status.error, metrics=status.metrics or [],
                 **({"output_datasets": made} if made else {}))  # fmt: skip
    _SAVED.pop(sid, None)
    if outcome == FINISHED:
        reuse.remember(step, done)
    return _result(done)


def _output_datasets(step: Mapping[str, Any], record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """v1's ``outputDatasets`` of a finished step: each OutputFileDatasetConfig output as a dataset over what the
    step wrote, registered as a new version when ``register_on_complete`` asked for it, else saved."""
    made = []
    for name, out in step["outputs"].items():
        where = record.get("outputs", {}).get(name)
        if out.get("kind") != "output_file_dataset" or not where:
            continue
        spec = out.get("registerAs") or {}
        definition = _folder_dataset(str(spec.get("datasetType") or "file"), where["datastore"], where["path"])
        definition.update(format=spec.get("format") or {}, transforms=spec.get("transforms") or [])
        if spec.get("name"):
            registered = datasets.register(definition, spec["name"], spec.get("description"), spec.get("tags"), True)
            definition = dict(registered["definition"])
        else:
            definition["id"] = datasets.save(definition)
        made.append({"name": name, "mechanism": "Upload", "dataset": definition})
    return made


def step_timed_out(run_id: str, plan_step: Mapping[str, Any], limit: Mapping[str, Any]) -> dict[str, Any]:
    """The step outlived its time limit (``{"seconds", "source"}``, see ``step_start``): cancel its job as a cancel
    does (its processes stopped) and record it Failed, "timed out after N s". A job that ended meanwhile is
    recorded as it ended instead (it beat the limit). Idempotent: a second call finds the record ended."""
    run, step, sid, record = _step_record(run_id, plan_step)
    if record["status"] in TERMINAL:
        _SAVED.pop(sid, None)
        return _result(record)
    try:
        backend = computes.backend(step.get("computeTarget"))
        if backend.poll(sid).is_terminal:
            ended = step_complete(run_id, plan_step)
            if ended is not None:
                return ended
        backend.cancel(sid)
        error = timeouts.timed_out_message(limit)
    except Exception as exc:  # noqa: BLE001 (the target or job is gone, the backend fails: the step still ends)
        error = f"{timeouts.timed_out_message(limit)}; canceling its job failed: {_reason(step, exc)}"
    _SAVED.pop(sid, None)
    return _result(_save(record, status=FAILED, ended=utc_now(), error=error))


def steps_cancel(run_id: str, step_ids: list[str]) -> None:
    """Cancel the jobs of these steps (``pipeline_run`` records them when their step_run ends)."""
    run = run_static(run_id)
    for sid in step_ids:
        step = _document_step(run, sid)
        computes.backend(step.get("computeTarget")).cancel(step_run_id(run_id, sid))


# ---------------------------------------------------------------------------------------------- helpers
def _step_record(run_id: str, plan_step: Mapping[str, Any]) -> tuple[RunStatic, dict[str, Any], str, dict[str, Any]]:
    """(run, the step's document, its step run id, its record: the one saved in this process, the stored one, or
    a new Queued one) for the activities that end a step."""
    run = run_static(run_id)
    step = _document_step(run, plan_step["id"])
    sid = step_run_id(run_id, step["id"])
    record = _SAVED.get(sid) or records().get(RUNS, PARTITION, sid) or _new_step_record(run, step, QUEUED)
    return run, step, sid, record


def _document_step(run: RunStatic, step_id: str) -> dict[str, Any]:
    return next(s for s in run.document["steps"] if s["id"] == step_id)


def _ensure_step_record(run: RunStatic, step: Mapping[str, Any], status: str) -> dict[str, Any]:
    """The step run's record, created (one insert) on first use."""
    record = _new_step_record(run, step, status)
    if records().insert(RUNS, PARTITION, record["id"], record):
        changes.changed(run.id, step=True)
        return record
    return get_run(record["id"])


def _new_step_record(run: RunStatic, step: Mapping[str, Any], status: str) -> dict[str, Any]:
    sid = step_run_id(run.id, step["id"])
    return {
        "id": sid,
        "kind": "step",
        "parent_id": run.id,
        "experiment": run.experiment,
        "name": step["name"],
        "step_id": step["id"],
        "status": status,
        "created": utc_now(),
        "started": None,
        "ended": None,
        "outputs": {},
        "metrics": [],
        "error": None,
        "reused_from": None,
        "compute_target": step.get("computeTarget") or computes.LOCAL,
        "properties": dict(run.step_properties.get(step["id"], {})),
    }


def _save(record: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    new = {**record, **fields}
    _OUTPUTS.put(str(new["id"]), new.get("outputs") or {})
    records().put(RUNS, PARTITION, str(record["id"]), new)
    changes.changed(new.get("parent_id"), step=True)
    if new["status"] not in TERMINAL:
        _SAVED[str(new["id"])] = new
    elif record.get("status") not in TERMINAL:
        log_step_end(new)
    return new


STEP_END_EVENT = "durableml.step_end"
_ERROR_SUMMARY = 500  # characters of a failed step's error in its log line


def log_step_end(record: Mapping[str, Any]) -> str:
    """Log one line for a step run that just ended: ``durableml.step_end {json}`` (run id, step name, status,
    duration in seconds, compute target, its error's summary line): the line the docs' KQL query parses.

    Only what the step's record shows anyone who may read the run: its error is the record's (the runner
    redacts secrets from it before it is recorded): a traceback's last line, else its first line. Returns the line.
    """
    lines = [line for line in str(record.get("error") or "").strip().splitlines() if line.strip()]
    # a traceback's summary is its last line (the exception); any other error's its first
    error = lines[-1:] if lines and lines[0].startswith("Traceback") else lines[:1]
    event = {
        "run_id": record.get("parent_id"),
        "step_run_id": record.get("id"),
        "step_name": record.get("name"),
        "status": record.get("status"),
        "duration_s": _duration(record.get("started") or record.get("created"), record.get("ended")),
        "compute_target": record.get("compute_target"),
        "reused": bool(record.get("reused_from")),
        "error": error[0][:_ERROR_SUMMARY] if error else None,
    }
    line = f"{STEP_END_EVENT} {json.dumps(event, sort_keys=True)}"
    (_log.warning if event["status"] == FAILED else _log.info)(line)
    return line


def _duration(started: Any, ended: Any) -> Optional[float]:
    try:
        begin = datetime.fromisoformat(str(started).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(ended).replace("Z", "+00:00"))
    except ValueError:
        return None
    return round((end - begin).total_seconds(), 3)


def _result(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "status": record["status"],
        "step_run_id": record["id"],
        "error": record.get("error"),
        "reused_from": record.get("reused_from"),
    }


def _resolve(run: RunStatic, step: Mapping[str, Any], sid: str) -> dict[str, Any]:
    """Arguments, inputs and outputs of a step with parameters, datastores and upstream outputs bound."""
    params = run.parameters
    arguments = [_argument(a, params) for a in step["arguments"]]
    inputs = {name: _input(run, b, params) for name, b in step["inputs"].items()}
    every_output = stepkinds.get(step["kind"]).outputs_of(step)
    outputs = {name: _output(o, sid, name, run) for name, o in every_output.items()}
    return {
        "arguments": arguments,
        "inputs": inputs,
        "outputs": outputs,
        "reuse": reuse.identify(run, step, arguments, inputs, outputs),
    }


def _argument(binding: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
    kind = binding["kind"]
    if kind == "literal":
        return str(binding["value"])
    if kind == "parameter":
        return str(params[binding["name"]])
    return input_placeholder(binding["name"]) if kind == "input" else output_placeholder(binding["name"])


def _input(run: RunStatic, binding: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    source = binding["source"]
    kind = source["kind"]
    if kind == "stepOutput":
        producer_id = step_run_id(run.id, source["step"])
        outputs = _OUTPUTS.get(producer_id)  # set when it started (or reused)
        if outputs is None:
            outputs = (_SAVED.get(producer_id) or get_run(producer_id))["outputs"]
        where = outputs[source["output"]]
        datastore, path = where["datastore"], where["path"]
    elif kind == "datastore":
        datastore, path = source["datastore"], source["path"]
    elif kind == "parameter":
        value = params[source["name"]]
        datastore, path = value.get("datastore"), value.get("path", "")
    elif kind == "sql" or (kind == "dataset" and (source.get("dataset") or {}).get("sql")):
        return _sql_input(run, binding, source)
    elif kind == "dataset":  # several paths: the runner stages them into one directory, fetching URLs itself
        paths = source["dataset"]["paths"]
        stores = {_datastore(run, p.get("datastore"))["name"] for p in paths if not p.get("url")}
        if len(stores) > 1:
            where = [p.get("url") or f"{p.get('datastore') or 'default'}:{p.get('path', '')}" for p in paths]
            raise NotSupportedError(
                "a step input whose dataset spans several datastores",
                f"Its paths are {where}; upload the files to one datastore "
                "(Datastore.upload_files) and build the dataset from there.",
            )
        datastore = stores.pop() if stores else None  # URLs only: the binding names the default datastore
        path = paths[0].get("path", "") if len(paths) == 1 and not paths[0].get("url") else ""
    else:
        raise AzureMLException(f"input source kind '{kind}' is not supported by local compute yet")
    record = _datastore(run, datastore)
    described = source.get("dataset") if kind == "dataset" else binding.get("datasetType")
    return {
        "container": record["container_name"],
        "datastore": record["name"],
        "path_on_datastore": path,
        "mode": binding["mode"] if binding["mode"] in ("mount", "download") else "download",
        "path_on_compute": binding.get("pathOnCompute"),
        "dataset": described,
    }


def _sql_input(run: RunStatic, binding: Mapping[str, Any], source: Mapping[str, Any]) -> dict[str, Any]:
    """A SqlDataReference or SQL dataset input: the runner runs its query into ``<input name>.csv`` (the job's
    binding gets the database's connection text, with its password, from ``datastores.add_connections``)."""
    dataset = source.get("dataset") if source["kind"] == "dataset" else None
    sql = dict(dataset["sql"]) if dataset else {k: source.get(k) for k in ("query", "table", "storedProcedure",
                                                                             "storedProcedureParams")}  # fmt: skip
    store = str(sql.get("datastore") or source.get("datastore") or "")
    record = datastores.get_datastore(store)
    datastores.sql_connection(record["name"])  # a SQL datastore? (fails the step with a clear message otherwise)
    return {
        "container": _datastore(run, None)["container_name"],  # unused: the data comes from the database
        "datastore": record["name"],
        "path_on_datastore": "",
        "mode": "download",
        "path_on_compute": binding.get("pathOnCompute"),
        "dataset": dataset,
        "sql": {k: v for k, v in sql.items() if k != "datastore" and v is not None},
    }


def _datastore(run: RunStatic, name: Optional[str]) -> dict[str, Any]:
    """A datastore record; no name means the workspace default as it was when the run was created."""
    return datastores.get_datastore(name or run.default_datastore)


def _output(binding: Mapping[str, Any], sid: str, name: str, run: RunStatic) -> dict[str, Any]:
    record = _datastore(run, binding.get("datastore"))
    path = binding["destination"].replace("{run-id}", sid).replace("{output-name}", name)
    if binding["kind"] == "pipeline_data":
        path = f"azureml/{sid}/{name}"
    return {
        "container": record["container_name"],
        "datastore": record["name"],
        "path": path,
        "is_directory": binding.get("isDirectory", True),
    }


def _job_workspace() -> dict[str, str]:
    ws = workspace_record()
    return {
        "subscription_id": ws["subscription_id"],
        "resource_group": ws["resource_group"],
        "workspace_name": ws["name"],
    }


def _job_basis(
    run: RunStatic, step: Mapping[str, Any], sid: str, resolved: Mapping[str, Any], notify_url: Optional[str]
) -> stepkinds.JobBasis:
    """What every kind's job starts from: the step's bound arguments, inputs and outputs, and its settings."""
    snapshot = step.get("snapshot") or {}
    notify = None
    if notify_url:
        notify = {"url": notify_url.replace("{eventName}", EVENT_STEP_DONE), "event": EVENT_STEP_DONE}
    basis = stepkinds.JobBasis(
        job_id=sid,
        run_id=run.id,
        step_name=step["name"],
        snapshot=snapshot.get("id") or NO_SNAPSHOT,  # never sourceDirectory: a path on the submitter's machine
        connection_string=storage_connection(),
        arguments=list(resolved["arguments"]),
        inputs={
            n: {
                "container": i["container"],
                "datastore": i["datastore"],
                "path_on_datastore": i["path_on_datastore"],
                "mode": i["mode"],
                "path_on_compute": i["path_on_compute"],
                "dataset": i["dataset"],
                **({"sql": i["sql"]} if i.get("sql") else {}),
            }
            for n, i in resolved["inputs"].items()
        },
        outputs={
            n: {"container": o["container"], "path_on_datastore": o["path"], "is_directory": o["is_directory"]}
            for n, o in resolved["outputs"].items()
        },
        settings=_bound(step.get("settings") or {}, run.parameters),
        bindings={name: dict(binding) for name, binding in step["inputs"].items()},
        notify=notify,
        experiment_name=run.experiment,
        parent_run_id=run.id,
        workspace=_job_workspace(),
    )
    datastores.add_connections(basis.inputs, basis.outputs, resolved)  # datastores on other accounts (secrets)
    return basis


def _bound(value: Any, params: Mapping[str, Any]) -> Any:
    """Settings with every literal or parameter binding replaced by its value."""
    if isinstance(value, dict):
        if value.get("kind") == "parameter" and set(value) == {"kind", "name"}:
            return params.get(value["name"])
        if value.get("kind") == "literal" and set(value) == {"kind", "value"}:
            return value["value"]
        return {k: _bound(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_bound(v, params) for v in value]
    return value
