"""Pipeline runs: validating a submission, recording it, and deriving the execution plan the
``pipeline_run`` orchestration consumes. Runs and step runs share one table (kind ``pipeline``/``step``).
"""

from __future__ import annotations

import base64
import json
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from durableml import contract, stepkinds
from durableml.compute import registry
from durableml._names import check_blob_name
from durableml.exceptions import (
    ComputeTargetNotFoundError,
    DatastoreNotFoundError,
    DocumentValidationError,
    Issue,
    RunNotFoundError,
    ValidationError,
)
from durableml.pipeline.dag import topological_order
from durableml.pipeline.document import check_paths, validate_document
from durableml.service import changes, outages, state
from durableml.service.parameters import bind_data_parameters
from durableml.service.records import EXPERIMENTS, blob_container, records
from durableml.service.records import RUNS as RUNS  # re-exported: the step lifecycle reads runs from here

PARTITION = "run"
TERMINAL = contract.TERMINAL
_STEP_RUN_NAMESPACE = uuid.UUID("6f1d8c1e-8a37-4c55-9f3a-6f0f4d1b2a10")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def step_run_id(run_id: str, step_id: str) -> str:
    """Deterministic, so a re-submitted activity finds the same step run (idempotency)."""
    return str(uuid.uuid5(_STEP_RUN_NAMESPACE, f"{run_id}/{step_id}"))


def check_parameters(document: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Declared parameters with overrides applied; unknown names are ignored as in v1; types are checked."""
    declared: Mapping[str, Any] = document["parameters"]
    values = {name: spec["default"] for name, spec in declared.items()}
    for name, value in overrides.items():
        if name not in declared:
            continue
        expected = declared[name]["type"]
        if not _type_ok(expected, value):
            raise ValidationError(
                f"pipeline parameter '{name}' expects a value of type {expected}, got "
                f"{type(value).__name__} {value!r}; pass a {expected}"
            )
        values[name] = value
    return values


def _type_ok(expected: str, value: Any) -> bool:
    if expected == "string":
        return isinstance(value, str)
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "bool":
        return isinstance(value, bool)
    return isinstance(value, (dict, str))  # data parameters: a DataPath/dataset reference


def execution_plan(run_id: str, document: Mapping[str, Any], continue_on_step_failure: bool) -> dict[str, Any]:
    """Steps in topological order with their upstream step ids, as ``pipeline_run`` expects."""
    steps = {s["id"]: s for s in document["steps"]}
    upstream = {sid: sorted(_upstream(step)) for sid, step in steps.items()}
    successors: dict[str, list[str]] = {sid: [] for sid in steps}
    for sid, deps in upstream.items():
        for dep in deps:
            successors[dep].append(sid)
    order = topological_order(list(steps), successors)
    return {
        "run_id": run_id,
        "continue_on_step_failure": continue_on_step_failure,
        "outage_window_s": outages.window_seconds(),
        "steps": [
            {
                "id": sid,
                "name": steps[sid]["name"],
                "depends_on": upstream[sid],
                "step_run_id": step_run_id(run_id, sid),
            }
            for sid in order
        ],
    }


def _upstream(step: Mapping[str, Any]) -> set[str]:
    found = set(step.get("runAfter", []))
    for binding in step.get("inputs", {}).values():
        source = binding["source"]
        if source["kind"] == "stepOutput":
            found.add(source["step"])
    return found


def create_run(
    experiment: str,
    document: dict[str, Any],
    parameters: Mapping[str, Any],
    tags: Optional[Mapping[str, str]] = None,
    continue_on_step_failure: bool = False,
    regenerate_outputs: bool = False,
    source: str = "SDK",
    properties: Optional[Mapping[str, str]] = None,
    step_properties: Optional[Mapping[str, Mapping[str, str]]] = None,
    resumed: Optional[tuple[str, Mapping[str, Any]]] = None,
    run_id: Optional[str] = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate and record a new pipeline run; returns (run record, execution plan).

    ``resumed`` = (the run it resumes, what finished there by step id; see ``reuse.resume_run``).
    ``run_id`` (default: a new one) lets an idempotent caller create the same run again after a crash.
    """
    if not experiment or not isinstance(experiment, str):
        raise ValidationError("an experiment name is required, e.g. Experiment(ws, 'my-experiment')")
    if not experiment.isprintable() or any(c in experiment for c in "/\\#?") or len(experiment) > 255:
        raise ValidationError(
            f"experiment name {experiment!r} may not hold control characters or / \\ # ?, and "
            "has at most 255 characters; use letters, digits, '-' and '_'"
        )
    validate_document(document)
    check_references(document)
    check_snapshots(document)
    values = check_parameters(document, parameters)
    run_id = run_id or str(uuid.uuid4())
    bound = bind_data_parameters(document, values)
    check_paths(bound)  # the DataPath values submitted with the run are paths too
    _put_document(run_id, bound)
    if bound != document:  # publishing this run publishes the pipeline as submitted, its parameters unbound
        _runs_container().upload_blob(f"{run_id}/{SUBMITTED}", json.dumps(document, sort_keys=True), overwrite=True)
    from durableml.service import datastores

    created = utc_now()
    record = {
        "id": run_id,
        "kind": "pipeline",
        "experiment": experiment,
        "status": "NotStarted",
        "created": created,
        "started": None,
        "ended": None,
        "parameters": values,
        "tags": dict(tags or {}),
        "continue_on_step_failure": continue_on_step_failure,
        "regenerate_outputs": regenerate_outputs,
        "document_blob": f"{RUNS_CONTAINER}/{run_id}/pipeline.json",
        "run_source": source,
        "error": None,
        "parent_id": None,
        "properties": dict(properties or {}),
        "step_properties": {k: dict(v) for k, v in (step_properties or {}).items()},
        "default_datastore": datastores.default_name(),
    }  # what data without a datastore uses, run-long
    if resumed is not None:
        record.update(resumed_from=resumed[0], resumed_steps=dict(resumed[1]))
    records().put(RUNS, PARTITION, run_id, record)
    _note_experiment(experiment, created)
    plan = execution_plan(run_id, document, continue_on_step_failure)
    plan["record_text"] = pack_record(record)  # what service.reconcile rebuilds the record from if storage loses it
    if resumed is not None or (not regenerate_outputs and any(s.get("allowReuse") for s in document["steps"])):
        plan["reuse_ahead"] = True  # pipeline_run tries every step's reuse in one activity first (runtime.steps_reuse)
    return record, plan


def pack_record(record: Mapping[str, Any]) -> str:
    """The run's record as the plan carries it: compressed JSON in base64, one string. The orchestration parses its
    input at every wake-up; as an object the record (its steps' Git properties above all) was 60% of a 200-step
    plan's 114 KB, as a string it is one token (docs/benchmarks.md, "packed record")."""
    return base64.b64encode(zlib.compress(json.dumps(record, sort_keys=True).encode("utf-8"), 6)).decode("ascii")


def unpack_record(plan: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """The record a plan carries (``record_text``, or ``record`` as plans from before it held it), else None."""
    if isinstance(plan.get("record"), Mapping):
        return dict(plan["record"])
    text = plan.get("record_text")
    if not isinstance(text, str):
        return None
    try:
        record = json.loads(zlib.decompress(base64.b64decode(text, validate=True)).decode("utf-8"))
    except (ValueError, zlib.error):
        return None
    return record if isinstance(record, dict) else None


_KNOWN_EXPERIMENTS = state.cache(
    "experiments recorded", "an experiment record, once inserted, is never deleted; inserting it again is harmless"
)


def _note_experiment(name: str, created: str) -> None:
    """Record the experiment on its first run (its creation time is the first run's); once per process."""
    if name not in _KNOWN_EXPERIMENTS:
        records().insert(EXPERIMENTS, "experiment", name, {"name": name, "created": created})
        _KNOWN_EXPERIMENTS[name] = True


def check_snapshots(document: Mapping[str, Any]) -> None:
    """Every step with source files names its uploaded snapshot: the service runs steps only from snapshots in
    storage, never from a folder the document names (``sourceDirectory`` is the submitter's own path)."""
    missing = [s["name"] for s in document["steps"] if s.get("snapshot") and not s["snapshot"].get("id")]
    if missing:
        raise ValidationError(
            f"steps {missing} have no uploaded source snapshot (snapshot.id is null); submit with the SDK, which "
            "uploads each step's source_directory first, or upload it (POST /api/snapshots) and give its id"
        )


def check_references(document: Mapping[str, Any]) -> None:
    """Every compute target and datastore the document names must exist (400 listing each one that does not),
    and durableml must be able to run every step on its target (400 NotSupported naming each step it cannot run)."""
    from durableml.service import computes, datastores

    issues: list[Issue] = []
    wanted: list[tuple[str, Optional[str], str]] = []  # (kind, name, document path)
    if document.get("defaultDatastore"):
        wanted.append(("datastore", document["defaultDatastore"], "$.defaultDatastore"))
    for i, step in enumerate(document["steps"]):
        wanted.append(("compute", step.get("computeTarget"), f"$.steps[{i}].computeTarget"))
        for name, binding in step["inputs"].items():
            source = binding["source"]
            stores = (
                [source.get("datastore")]
                if source["kind"] in ("datastore", "sql")
                else [p.get("datastore") for p in source["dataset"]["paths"]]
                if source["kind"] == "dataset"
                else []
            )
            wanted += [("datastore", store, f"$.steps[{i}].inputs.{name}") for store in stores if store]
        wanted += [
            ("datastore", out["datastore"], f"$.steps[{i}].outputs.{name}")
            for name, out in step["outputs"].items()
            if out.get("datastore")
        ]
    missing: dict[tuple[str, Optional[str]], Optional[str]] = {}  # each name looked up once: steps share them
    targets: dict[Optional[str], Mapping[str, Any]] = {}
    for kind, name, path in wanted:
        if (kind, name) not in missing:
            try:
                found = (computes.get_compute if kind == "compute" else datastores.get_datastore)(name)
                missing[(kind, name)] = None
                if kind == "compute":
                    targets[name] = found
            except (ComputeTargetNotFoundError, DatastoreNotFoundError) as exc:
                missing[(kind, name)] = str(exc)
        if missing[(kind, name)]:
            issues.append(Issue(f"unknown_{kind}", str(missing[(kind, name)]), path))
    if issues:
        raise DocumentValidationError("The pipeline refers to resources this workspace does not have", issues)
    stepkinds.check_runnable(
        document["steps"], lambda name: (targets[name]["name"], targets[name]["type"]), registry.BACKEND_TYPES
    )


RUNS_CONTAINER = "durableml-runs"
SUBMITTED = "submitted.json"  # the document as submitted, when binding data parameters changed it


def _runs_container() -> Any:
    return blob_container(RUNS_CONTAINER)


def _put_document(run_id: str, document: Mapping[str, Any]) -> None:
    _runs_container().upload_blob(f"{run_id}/pipeline.json", json.dumps(document, sort_keys=True), overwrite=True)


@state.memoize("run documents", "a run's pipeline.json is written once, before the run starts")
def _document_text(run_id: str) -> str:
    return bytes(_runs_container().download_blob(f"{run_id}/pipeline.json").readall()).decode()


def submitted_document(run_id: str) -> dict[str, Any]:
    """The document run ``run_id`` was submitted with (data parameters still parameters, unlike run_document)."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return dict(json.loads(bytes(_runs_container().download_blob(f"{run_id}/{SUBMITTED}").readall()).decode()))
    except ResourceNotFoundError:
        return run_document(run_id)


def run_document(run_id: str) -> dict[str, Any]:
    """The pipeline document a run runs (immutable, so cached per process)."""
    return dict(json.loads(_document_text(run_id)))


@dataclass(frozen=True)
class RunStatic:
    """What never changes about a pipeline run once it is created (cached per process)."""

    id: str
    experiment: str
    parameters: dict[str, Any]
    regenerate_outputs: bool
    document: dict[str, Any]
    step_properties: dict[str, dict[str, str]]
    resumed_from: Optional[str] = None
    resumed_steps: Optional[dict[str, Any]] = None  # for a resumed run: what finished in resumed_from
    default_datastore: Optional[str] = None  # the workspace default when the run was created (None: look it up)


@state.memoize("run statics", "a run's experiment, parameters, document and options never change")
def run_static(run_id: str) -> RunStatic:
    record = get_run(run_id)
    return RunStatic(
        run_id,
        record["experiment"],
        dict(record["parameters"]),
        bool(record.get("regenerate_outputs")),
        run_document(run_id),
        dict(record.get("step_properties") or {}),
        record.get("resumed_from"),
        record.get("resumed_steps") if record.get("resumed_from") else None,
        record.get("default_datastore"),
    )


def find_run(run_id: str) -> Optional[dict[str, Any]]:
    """The run's record, or None."""
    return records().get(RUNS, PARTITION, run_id)


def get_run(run_id: str) -> dict[str, Any]:
    record = records().get(RUNS, PARTITION, run_id)
    if record is None:
        raise RunNotFoundError(f"no run with id '{run_id}'; check the id (PipelineRun.id / StepRun.id)")
    return record


def update_run(run_id: str, **fields: Any) -> dict[str, Any]:
    doc = records().update(RUNS, PARTITION, run_id, lambda doc: doc.update(fields))
    changes.changed(doc.get("parent_id") or run_id, step=bool(doc.get("parent_id")))
    return doc


def list_runs(experiment: str) -> list[dict[str, Any]]:
    found = records().query(RUNS, PARTITION, "experiment eq @e and kind eq 'pipeline'", {"e": experiment})
    return sorted(found, key=lambda r: r["created"], reverse=True)


def list_step_runs(run_id: str) -> list[dict[str, Any]]:
    get_run(run_id)  # 404 for an unknown run, not an empty list
    found = records().query(RUNS, PARTITION, "parent_id eq @p", {"p": run_id})
    return sorted(found, key=lambda r: r.get("started") or r["created"], reverse=True)


def run_log(run_id: str, offset: int = 0) -> str:
    """The driver log of a step run (or, for a pipeline run, of all its step runs) from ``offset``."""
    from durableml.service import computes

    record = get_run(run_id)
    if record["kind"] == "step":
        ran = _ran(record)
        if ran is record:
            return computes.backend(record.get("compute_target")).logs(run_id, offset)
        note = f"[durableml] step run {run_id} reused the results of step run {ran['id']}; its log follows.\n"
        return (note + computes.backend(ran.get("compute_target")).logs(str(ran["id"]), 0))[offset:]
    parts = [
        f"[{s['name']}]\n" + computes.backend(s.get("compute_target")).logs(s["id"], 0)
        for s in reversed(list_step_runs(run_id))
        if s.get("submitted")
    ]
    return "\n".join(parts)[offset:]


def workspace_record() -> dict[str, Any]:
    """The workspace this service is (names from app settings, defaults for a local install)."""
    import os

    return {
        "name": os.environ.get("DURABLEML_WORKSPACE_NAME", "durableml-local"),
        "subscription_id": os.environ.get("DURABLEML_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000"),
        "resource_group": os.environ.get("DURABLEML_RESOURCE_GROUP", "durableml"),
        "location": os.environ.get("DURABLEML_LOCATION", "local"),
    }


def list_experiments() -> list[dict[str, Any]]:
    return records().query(EXPERIMENTS, "experiment")


def get_metrics(run_id: str) -> dict[str, Any]:
    """v1's get_metrics shape: a name maps to a value, or to a list when logged more than once."""
    merged: dict[str, Any] = {}
    for metric in get_run(run_id).get("metrics") or []:
        name, value = metric.get("name"), metric.get("value")
        name = name if isinstance(name, str) else json.dumps(name)  # (a name logged before names were checked)
        if name in merged:
            previous = merged[name]
            merged[name] = (previous if isinstance(previous, list) and metric.get("kind") != "list" else [previous]) + [
                value
            ]
        else:
            merged[name] = value
    return merged


def add_metrics(run_id: str, metrics: list[dict[str, Any]]) -> dict[str, Any]:
    if not isinstance(metrics, list) or not all(
        isinstance(m, dict) and isinstance(m.get("name"), str) for m in metrics
    ):
        raise ValidationError("metrics must be a list of objects with a 'name' (a string) and a 'value'")
    update_run(run_id, metrics=[*(get_run(run_id).get("metrics") or []), *metrics])
    return get_metrics(run_id)


ARTIFACTS = "durableml-artifacts"


def _artifacts() -> Any:
    return blob_container(ARTIFACTS, create=False)  # written by the step runner; may not exist yet


def _ran(record: dict[str, Any]) -> dict[str, Any]:
    """The step run whose job produced ``record``'s results: itself, or (for a reused step) the run it reused,
    followed as long as that one was reused too."""
    for _ in range(20):  # a chain of reuses is short; this bounds a corrupted one
        source = record.get("reused_from")
        if not source:
            break
        record = get_run(str(source))
    return record


def list_run_files(run_id: str) -> list[str]:
    """Files a step captured (./outputs, ./logs), relative to the run: ``outputs/model.pkl``. A reused step run
    lists those of the run that produced its results (v1 shows a reused step's outputs and logs)."""
    ran = str(_ran(get_run(run_id))["id"])
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return sorted(b.name.removeprefix(f"{ran}/") for b in _artifacts().list_blobs(name_starts_with=f"{ran}/"))
    except ResourceNotFoundError:
        return []


def download_run_file(run_id: str, name: str) -> bytes:
    from azure.core.exceptions import ResourceNotFoundError

    check_blob_name(name, "run file name")  # a name below the run's folder: never another run's files
    ran = str(_ran(get_run(run_id))["id"])
    try:
        return bytes(_artifacts().download_blob(f"{ran}/{name}").readall())
    except ResourceNotFoundError as exc:
        raise RunNotFoundError(f"run '{run_id}' has no file '{name}'; list them with get_file_names()") from exc
