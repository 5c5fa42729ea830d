"""Step reuse: the key that identifies a step's work, the table of reusable results, and resumed runs
(``PipelineRun.resume()``). Why a step run was (not) reused is explained by ``reuse_explain``.

**The key** (v1 semantics) is the sha256 of the step's *components* (:func:`identify`): its kind, settings
(runconfig and environment, with parameter references replaced by their values), snapshot id (every file of
``source_directory`` minus ignored ones, plus legacy ``hash_paths``), resolved arguments, the values of the
parameters it uses, its inputs' identities, its outputs' definitions, ``version`` and reuse policy. Never in
the key: the compute target's name, run ids, timestamps, the display name. Input identities:

* DataReference / DataPath (datastore or DataPath parameter): datastore + path (+ mode and path on compute);
* datasets: id + version;
* PipelineData / OutputFileDatasetConfig of an upstream step: that step's *data key* + the output name. A
  step's data key is its key when it may be reused; a step that always runs (``allow_reuse=False``) makes
  new data each time, so its data key also holds its step run id and everything downstream runs again;
  a reused step passes on the data key of the run whose outputs it reuses;
* with ``reuse_policy="content"`` (per step, or per pipeline): every input is keyed by the content of the
  blobs behind it (MD5, else ETag, of every file under the path, listed when the step is about to run),
  so new data at the same path runs the step again and identical data still reuses.

Every step run records its components (``record["reuse"]``), so ``reuse_explain.explain`` can say which
files, arguments, parameters, inputs or settings changed against the most recent earlier run of the step (same
display name, same experiment). A resumed run (:func:`resume_run`, :func:`resumed_steps`) reuses what finished
in the run it resumes and runs everything else.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Mapping, Optional

from durableml._canonical import content_hash
from durableml.exceptions import ConflictError, ValidationError
from durableml.service import state
from durableml.service.records import RUNS, blob_container, records
from durableml.service.runs import PARTITION, TERMINAL, RunStatic, create_run, get_run, step_run_id, submitted_document

REUSE = "dmlReuse"
POLICIES = ("definition", "content")
DEFAULT_POLICY = "definition"
_MAX_LISTED_FILES = 500  # content identities list files up to this many (to name them); past it, a digest

_DATA_KEYS = state.recent(
    "data keys",
    "the data key of a decided step run never changes: a consumer's key need not read its producer's record again "
    "(the activity that decided the producer usually ran here a moment ago)",
)
_REUSABLE = state.recent(
    "reusable results",
    "a reuse index entry names a finished step run whose outputs are never changed or deleted; when another run "
    "replaces the entry for its key, the one remembered here is still an earlier result with that same key, which "
    "is all reuse asks for. Only entries found or written are remembered, never their absence",
)


# ---------------------------------------------------------------------------------------------- the key
def identify(
    run: RunStatic,
    step: Mapping[str, Any],
    arguments: list[Any],
    inputs: Mapping[str, Mapping[str, Any]],
    outputs: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The reuse identity of a step whose arguments, inputs and outputs are resolved:
    ``{"key", "components", "policy", "data_key"}`` (data_key as if the step runs; see :func:`find`)."""
    policy = step.get("reusePolicy") or DEFAULT_POLICY
    params = run.parameters
    components = {
        "kind": step["kind"],
        "settings": _with_values(step.get("settings") or {}, params),
        "snapshot": (step.get("snapshot") or {}).get("id"),
        "arguments": arguments,
        "parameters": {name: params.get(name) for name in sorted(_parameters_used(step))},
        "inputs": {
            name: _input_identity(run, binding, inputs[name], policy)
            for name, binding in sorted(step["inputs"].items())
        },
        "outputs": {
            name: {
                "kind": out["kind"],
                "datastore": outputs[name]["datastore"],
                "destination": out["destination"],
                "isDirectory": out.get("isDirectory", True),
            }
            for name, out in sorted(step["outputs"].items())
        },
        "version": step.get("version"),
        "policy": policy,
    }
    key = content_hash(components)
    sid = step_run_id(run.id, step["id"])
    data_key = key if step.get("allowReuse") else content_hash({"key": key, "stepRun": sid})
    return {"key": key, "data_key": data_key, "policy": policy, "components": components}


def _parameters_used(step: Mapping[str, Any]) -> set[str]:
    used = {a["name"] for a in step["arguments"] if a["kind"] == "parameter"}
    used |= {b["source"]["name"] for b in step["inputs"].values() if b["source"]["kind"] == "parameter"}
    used |= set(_setting_parameters(step.get("settings") or {}))
    return used


def _setting_parameters(value: Any) -> list[str]:
    if isinstance(value, dict):
        if value.get("kind") == "parameter" and set(value) == {"kind", "name"}:
            return [value["name"]]
        return [name for item in value.values() for name in _setting_parameters(item)]
    if isinstance(value, list):
        return [name for item in value for name in _setting_parameters(item)]
    return []


def _with_values(value: Any, params: Mapping[str, Any]) -> Any:
    """Settings with each ``{"kind": "parameter", "name"}`` reference given the parameter's value."""
    if isinstance(value, dict):
        if value.get("kind") == "parameter" and set(value) == {"kind", "name"}:
            return {**value, "value": params.get(value["name"])}
        return {k: _with_values(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_values(v, params) for v in value]
    return value


def _input_identity(
    run: RunStatic, binding: Mapping[str, Any], resolved: Mapping[str, Any], policy: str
) -> dict[str, Any]:
    identity: dict[str, Any] = {"mode": binding.get("mode"), "pathOnCompute": binding.get("pathOnCompute")}
    source = binding["source"]
    kind = source["kind"]
    if resolved.get("sql"):  # a SQL source: its database and query (the rows it reads are not looked at)
        return {**identity, "datastore": resolved["datastore"], "sql": resolved["sql"]}
    if policy == "content":  # an upstream output's path holds its step run id: only its content counts
        where = (
            {"output": source["output"]}
            if kind == "stepOutput"
            else {"datastore": resolved["datastore"], "path": resolved["path_on_datastore"]}
        )
        return {**identity, **where, "content": content_of(resolved["container"], resolved["path_on_datastore"])}
    if kind == "stepOutput":
        return {**identity, "output": source["output"], "data": _data_key(step_run_id(run.id, source["step"]))}
    dataset = source.get("dataset") if kind == "dataset" else None
    if (
        kind == "parameter"
        and isinstance(run.parameters.get(source["name"]), dict)
        and run.parameters[source["name"]].get("id")
    ):
        dataset = run.parameters[source["name"]]
    if dataset is not None:
        return {**identity, "dataset": dataset.get("id"), "version": dataset.get("version")}
    return {**identity, "datastore": resolved["datastore"], "path": resolved["path_on_datastore"]}


def content_of(container: str, path: str) -> dict[str, Any]:
    """The content identity of the blobs at ``path`` (a file, a folder or a glob) in ``container``:
    ``{"files": {name: md5-or-etag}}``, or ``{"count", "digest"}`` past :data:`_MAX_LISTED_FILES` files."""
    path = path.lstrip("/")
    glob = any(c in path for c in "*?[")
    prefix = path[: min(path.index(c) for c in "*?[" if c in path)] if glob else path
    files: dict[str, str] = {}
    client = blob_container(container, create=False)
    from azure.core.exceptions import ResourceNotFoundError

    try:
        for blob in client.list_blobs(name_starts_with=prefix):
            name = str(blob.name)
            if glob and not fnmatch.fnmatchcase(name, path):
                continue
            if not glob and name != path and not name.startswith(path.rstrip("/") + "/") and path:
                continue  # "data/a" must not take in "data/ab.csv"
            md5 = blob.content_settings.content_md5 if blob.content_settings else None
            files[name[len(prefix) :] if not glob else name] = bytes(md5).hex() if md5 else f"etag:{blob.etag}"
    except ResourceNotFoundError:
        pass  # no container yet: no data, which is an identity too
    if len(files) <= _MAX_LISTED_FILES:
        return {"files": dict(sorted(files.items()))}
    return {"count": len(files), "digest": content_hash(files)}


def _data_key(sid: str) -> str:
    """The data key of the (decided) step run ``sid``: from this process's memory, else its record."""
    known = _DATA_KEYS.get(sid)
    if known is not None:
        return str(known)
    record = records().get(RUNS, PARTITION, sid) or {}
    found = (record.get("reuse") or {}).get("data_key") or content_hash({"stepRun": sid})
    _note_data_key(sid, found)
    return str(found)


def _note_data_key(sid: str, data_key: str) -> None:
    _DATA_KEYS.put(sid, data_key)


# ---------------------------------------------------------------------------------------------- lookup
def may_reuse(run: RunStatic, step: Mapping[str, Any]) -> bool:
    """Whether the step may take an earlier result at all: in a resumed run, what finished there (even with
    ``allow_reuse=False``); otherwise with ``allow_reuse`` and without ``regenerate_outputs``."""
    return run.resumed_steps is not None or (bool(step.get("allowReuse")) and not run.regenerate_outputs)


def find(run: RunStatic, step: Mapping[str, Any], identity: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """The earlier result this step reuses, or None when it must run.

    Returns ``{"id": the step run that produced the outputs, "outputs", "reuse": the identity to record}``.
    In a resumed run, what finished in the resumed run is reused (even with ``allow_reuse=False``) and
    everything else runs. Also notes the data key this step run passes downstream.
    """
    sid = step_run_id(run.id, step["id"])
    if not may_reuse(run, step):
        found = None
    elif run.resumed_steps is not None:
        found = run.resumed_steps.get(step["id"])
    else:
        found = _REUSABLE.get(identity["key"]) or records().get(REUSE, "key", identity["key"])
        if found is not None:
            _REUSABLE.put(identity["key"], found)
    data_key = (found.get("data_key") or identity["key"]) if found else identity["data_key"]
    _note_data_key(sid, data_key)
    if found is None:
        return None
    return {"id": found["id"], "outputs": found.get("outputs", {}), "reuse": {**identity, "data_key": data_key}}


def remember(step: Mapping[str, Any], record: Mapping[str, Any]) -> None:
    """Make a finished step run's results reusable by later steps with the same key."""
    identity = record.get("reuse") or {}
    if step.get("allowReuse") and identity.get("key") and record.get("status") == "Finished":
        entry = {"id": record["id"], "outputs": record.get("outputs", {}), "data_key": identity["data_key"]}
        records().put(REUSE, "key", identity["key"], entry)
        _REUSABLE.put(identity["key"], entry)


# ---------------------------------------------------------------------------------------------- resume
def resumed_steps(original_run_id: str) -> dict[str, dict[str, Any]]:
    """What a resumed run takes over from run ``original_run_id``: for each step that finished there,
    ``{"id": the run that produced its outputs, "outputs", "data_key"}``. The run must have ended."""
    original = get_run(original_run_id)
    if original["kind"] != "pipeline":
        raise ValidationError(
            f"run '{original_run_id}' is a step run; resume its pipeline run '{original.get('parent_id')}' instead"
        )
    if original["status"] not in TERMINAL:
        raise ConflictError(
            f"pipeline run '{original_run_id}' is {original['status']}; resume it once it has ended, or cancel it first"
        )
    found: dict[str, dict[str, Any]] = {}
    for record in records().query(RUNS, PARTITION, "parent_id eq @p", {"p": original_run_id}):
        if record["status"] == "Finished" and record.get("reuse"):
            found[record["step_id"]] = {
                "id": record.get("reused_from") or record["id"],
                "outputs": record.get("outputs") or {},
                "data_key": record["reuse"]["data_key"],
            }
    return found


def resume_run(run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new run of the pipeline run ``run_id`` (same document, parameters, tags and options) that reuses
    every step that finished there and runs the others; returns (run record, execution plan)."""
    finished = resumed_steps(run_id)
    original = get_run(run_id)
    return create_run(
        original["experiment"],
        submitted_document(run_id),
        original["parameters"],
        original.get("tags"),
        bool(original.get("continue_on_step_failure")),
        False,
        "Resume",
        original.get("properties"),
        original.get("step_properties"),
        resumed=(run_id, finished),
    )
