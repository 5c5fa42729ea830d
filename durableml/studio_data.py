"""What the studio shows that no route of the HTTP API gives: pipeline runs across experiments with filters, how
each run started and how many steps it reused, the use of each compute target (nodes busy and idle, queued
steps), a run resubmitted with changed parameters, every registered version of a dataset, and the first rows of a
tabular dataset's file.

Read-only over the service's records, except :func:`resubmit`, which records a new run exactly as the SDK's
submit does (the caller starts its orchestration). Records come back in the API's shape (camelCase).
"""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Mapping, Optional

from durableml import contract
from durableml.exceptions import ValidationError
from durableml.service import computes, datastores, datasets, runs
from durableml.service import record_types as rt
from durableml.service.records import records

MAX_RUNS = 500
_ACTIVE_STEP = (contract.QUEUED, contract.RUNNING, contract.NOT_STARTED)


@dataclass(frozen=True)
class RunFilter:
    """The Runs page's filters: experiment, status, a tag (``name`` or ``name=value``), created since/until
    (ISO 8601), and how many runs at most (newest first)."""

    experiment: Optional[str] = None
    status: Optional[str] = None
    tag: Optional[str] = None
    since: Optional[str] = None
    until: Optional[str] = None
    top: int = 100

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> "RunFilter":
        top = params.get("top") or "100"
        if not top.isdigit() or not 1 <= int(top) <= MAX_RUNS:
            raise ValidationError(f"'top' must be a whole number from 1 to {MAX_RUNS}, got {top!r}")
        status = params.get("status") or None
        if status and status not in contract.STATUSES:
            raise ValidationError(f"'status' must be one of {', '.join(contract.STATUSES)}, got {status!r}")
        for name in ("since", "until"):
            value = params.get(name)
            if value:
                try:
                    datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    raise ValidationError(f"'{name}' must be an ISO 8601 time, got {value!r}") from None
        return cls(
            params.get("experiment") or None,
            status,
            params.get("tag") or None,
            params.get("since") or None,
            params.get("until") or None,
            int(top),
        )


@dataclass(frozen=True)
class Origin:
    """How a run started: ``kind`` is SDK, REST (a published pipeline or endpoint), Schedule, DataChange or
    Resume; ``text`` says it in words; ``blobs`` are the changed blobs of a data-change firing."""

    kind: str
    text: str
    pipeline_id: Optional[str] = None
    endpoint_id: Optional[str] = None
    schedule_id: Optional[str] = None
    resumed_from: Optional[str] = None
    blobs: list[str] = field(default_factory=list)


def origin(record: Mapping[str, Any]) -> Origin:
    """How the (stored) pipeline run ``record`` started, from its source and properties."""
    props = record.get("properties") or {}
    pipeline_id, endpoint_id = props.get("azureml.pipelineid"), props.get("azureml.pipelineEndpointId")
    if record.get("resumed_from"):
        return Origin("Resume", f"resumed from run {record['resumed_from']}", resumed_from=record["resumed_from"])
    if props.get("azureml.scheduleId"):
        cause = _json(props.get("durableml.trigger"))
        blobs = [str(b.get("name")) for b in cause.get("blobs") or [] if isinstance(b, dict)]
        name = props.get("azureml.scheduleName") or props["azureml.scheduleId"]
        if cause.get("kind") == "dataChange":
            where = f" in {cause['datastore']}" if cause.get("datastore") else ""
            return Origin(
                "DataChange",
                f"schedule {name}: data changed{where} ({len(blobs)} blobs)",
                pipeline_id,
                endpoint_id,
                props["azureml.scheduleId"],
                blobs=blobs,
            )
        return Origin("Schedule", f"schedule {name}", pipeline_id, endpoint_id, props["azureml.scheduleId"])
    if endpoint_id:
        version = _endpoint_version(endpoint_id, pipeline_id)
        text = f"REST endpoint {version[0]}, version {version[1]}"
        return Origin("REST", text, pipeline_id, endpoint_id)
    if pipeline_id:
        return Origin("REST", f"REST published pipeline {pipeline_id}", pipeline_id)
    source = str(record.get("run_source") or "SDK")
    return Origin(source, f"submitted from {source}")


def _endpoint_version(endpoint_id: str, pipeline_id: Optional[str]) -> tuple[str, str]:
    """(name, version) of the pipeline endpoint version that runs ``pipeline_id`` (ids when it is gone)."""
    from durableml.service import endpoints

    try:
        record = endpoints.get(endpoint_id)
    except Exception:  # noqa: BLE001 (a deleted or unreadable endpoint: the ids say enough)
        return endpoint_id, f"of pipeline {pipeline_id}"
    found = [v["version"] for v in record.get("versions") or [] if v.get("pipelineId") == pipeline_id]
    return str(record.get("name") or endpoint_id), found[-1] if found else f"of pipeline {pipeline_id}"


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _tag_ok(record: Mapping[str, Any], tag: str) -> bool:
    name, _, value = tag.partition("=")
    tags = record.get("tags") or {}
    return name in tags and (not value or tags[name] == value)


def _keep(record: Mapping[str, Any], flt: RunFilter) -> bool:
    created = str(record.get("created") or "")
    return not (
        (flt.experiment and record.get("experiment") != flt.experiment)
        or (flt.status and record.get("status") != flt.status)
        or (flt.tag and not _tag_ok(record, flt.tag))
        or (flt.since and created < flt.since)
        or (flt.until and created > flt.until)
    )


def _reused_count(run_id: str) -> int:
    steps = records().query(runs.RUNS, runs.PARTITION, "parent_id eq @p", {"p": run_id})
    return sum(1 for s in steps if s.get("reused_from"))


def list_runs(flt: RunFilter) -> list[dict[str, Any]]:
    """Pipeline runs of every experiment that pass ``flt``, newest first, each in the API's shape plus
    ``origin`` (:class:`Origin`) and ``reusedSteps``."""
    where, params = "kind eq 'pipeline'", {}
    if flt.experiment:
        where, params = where + " and experiment eq @e", {"e": flt.experiment}
    if flt.status:
        where, params = where + " and status eq @s", {**params, "s": flt.status}
    found = [r for r in records().query(runs.RUNS, runs.PARTITION, where, params) if _keep(r, flt)]
    found = sorted(found, key=lambda r: r["created"], reverse=True)[: flt.top]
    with ThreadPoolExecutor(max_workers=8) as pool:
        reused = list(pool.map(_reused_count, [r["id"] for r in found]))
    return [
        {**rt.to_api(rt.PipelineRun, r), "origin": asdict(origin(r)), "reusedSteps": n}
        for r, n in zip(found, reused, strict=True)
    ]


def run_origin(run_id: str) -> dict[str, Any]:
    """How run ``run_id`` started (404 for an unknown run)."""
    return asdict(origin(runs.get_run(run_id)))


def resubmit(run_id: str, parameters: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Record a new run of run ``run_id``'s pipeline (same document, experiment, tags and options) with its
    parameters changed by ``parameters`` (validated against the pipeline's declared types); returns (run
    record, execution plan) for the caller to start."""
    if not isinstance(parameters, dict):
        raise ValidationError("'parameters' must be an object of parameter names and values")
    original = runs.get_run(run_id)
    return runs.create_run(
        original["experiment"],
        runs.submitted_document(run_id),
        {**(original.get("parameters") or {}), **parameters},
        original.get("tags"),
        bool(original.get("continue_on_step_failure")),
        False,
        "Studio",
        {**(original.get("properties") or {}), "durableml.resubmittedFrom": run_id},
        original.get("step_properties"),
    )


def compute_usage() -> list[dict[str, Any]]:
    """Every compute target (API shape) with ``nodes`` (its max node count), ``busy`` (steps running on it),
    ``idle`` and ``queued`` (steps waiting for a node), from the step run records."""
    active = records().query(
        runs.RUNS, runs.PARTITION, "kind eq 'step' and ( status eq 'Running' or status eq 'Queued' )"
    )
    usage = []
    for target in computes.list_computes():
        mine = [s for s in active if (s.get("compute_target") or computes.LOCAL) == target["name"]]
        busy = sum(1 for s in mine if s["status"] == contract.RUNNING)
        queued = [s["id"] for s in mine if s["status"] == contract.QUEUED]
        nodes = int(target.get("max_nodes") or 1)
        usage.append(
            {
                **rt.to_api(rt.Compute, target),
                "nodes": nodes,
                "busy": busy,
                "idle": max(0, nodes - busy),
                "queued": len(queued),
                "queuedSteps": queued,
            }
        )
    return usage


def dataset_versions(name: str) -> list[dict[str, Any]]:
    """Every registered version of dataset ``name`` (API shape), newest first; 404 for an unknown name (the API
    lists latest versions only)."""
    found = records().query(datasets.TABLE, name)
    if not found:
        datasets.get(name)  # raises DatasetNotFoundError with the API's message
    ordered = sorted(found, key=lambda r: int(r["version"]), reverse=True)
    return [rt.to_api(rt.Dataset, r) for r in ordered]


def dataset_preview(name: str, version: Optional[str], rows: int = 20) -> dict[str, Any]:
    """The first ``rows`` rows of a tabular dataset's first delimited file (header + rows), or, for a file
    dataset, its first files; ``kind`` says which."""
    record = datasets.get(name, version, None)
    definition = record["definition"]
    files = datasets.files(definition)
    if definition.get("datasetType") != "tabular":
        return {"kind": "file", "files": [f"{f['datastore']}/{f['path']}" for f in files[:rows]]}
    if not files:
        return {"kind": "tabular", "columns": [], "rows": []}
    first = files[0]
    data = datastores.download(first["datastore"], first["path"])[: 256 * 1024].decode("utf-8", "replace")
    reader = csv.reader(io.StringIO(data))
    table = [row for _, row in zip(range(rows + 1), reader, strict=False)]
    return {
        "kind": "tabular",
        "file": f"{first['datastore']}/{first['path']}",
        "columns": table[0] if table else [],
        "rows": table[1:],
    }


def _source_text(source: Mapping[str, Any]) -> str:
    kind = source.get("kind")
    if kind == "stepOutput":
        return f"output {source.get('output')} of step {source.get('step')}"
    if kind == "datastore":
        return f"{source.get('datastore')}/{source.get('path')}"
    if kind == "dataset":
        dataset = source.get("dataset") or {}
        return f"dataset {dataset.get('name') or dataset.get('id') or '(unregistered)'}"
    if kind == "parameter":
        return f"data parameter {source.get('name')}"
    return f"SQL {source.get('datastore')}"


def _data_node(source: Mapping[str, Any]) -> Optional[tuple[str, str]]:
    """(node id, label) of an input that comes from data rather than a step; None for a step's output."""
    if source.get("kind") == "stepOutput":
        return None
    text = _source_text(source)
    return "data:" + text, text


def run_graph(run_id: str) -> dict[str, Any]:
    """The step graph of pipeline run ``run_id`` from its document: ``nodes`` (steps, and the data they read
    that no step writes), ``edges`` labelled with the data that flows (the PipelineData or dataset name), and
    the declared ``parameters`` (type, default)."""
    document = runs.run_document(run_id)
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    data_nodes: dict[str, str] = {}
    for step in document["steps"]:
        inputs = {}
        for name, binding in (step.get("inputs") or {}).items():
            source = binding.get("source") or {}
            inputs[name] = {"source": _source_text(source), "mode": binding.get("mode")}
            data = _data_node(source)
            if data is not None:
                data_nodes.setdefault(*data)
                edges.append({"from": data[0], "to": step["id"], "label": name, "kind": "data"})
        outputs = {
            name: {"datastore": out.get("datastore"), "destination": out.get("destination"), "mode": out.get("mode")}
            for name, out in (step.get("outputs") or {}).items()
        }
        nodes.append(
            {
                "id": step["id"],
                "name": step["name"],
                "kind": step["kind"],
                "type": "step",
                "computeTarget": step.get("computeTarget"),
                "allowReuse": step.get("allowReuse"),
                "arguments": step.get("arguments") or [],
                "inputs": inputs,
                "outputs": outputs,
                "snapshot": (step.get("snapshot") or {}).get("id"),
            }
        )
    for edge in document.get("edges") or []:
        label = edge.get("output") if edge.get("kind") == "data" else "run after"
        edges.append({"from": edge["from"], "to": edge["to"], "label": label, "kind": edge.get("kind")})
    nodes += [{"id": key, "name": text, "type": "data"} for key, text in data_nodes.items()]
    return {"nodes": nodes, "edges": edges, "parameters": document.get("parameters") or {}}


def published_schema(pipeline_id: str) -> dict[str, Any]:
    """The JSON Schema of the REST body that runs published pipeline ``pipeline_id`` (as a GET on its REST URL
    answers)."""
    from durableml.service import published, submissions

    record = published.get(pipeline_id)
    title = f"run request of published pipeline {record.get('name') or record['id']}"
    return submissions.parameter_schema(record["parameters"], title)
