"""The durableml HTTP API (function-key auth). Each function parses the request, calls durableml.service,
and maps the result or error to a response; the error mapping lives in ``_respond`` only, and so does turning
a stored record into its API shape (``record_types.to_api`` with the route's record type, camelCase).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from typing import Any, Awaitable, Callable

import azure.durable_functions as df
import azure.functions as func

from durableml import contract, json_body
from durableml._names import table_key_problem
from durableml import exceptions as errors
from durableml.service import (
    changes,
    computes,
    datasets,
    datastores,
    notifications,
    openapi,
    outages,
    reconcile,
    reuse,
    reuse_explain,
    runs,
    snapshots,
)
from durableml.service import record_types as rt
from durableml.service.records import forget_lost_container
from app_decorators import durable_client, route

bp = df.Blueprint()
log = logging.getLogger("durableml.api")
LONG_POLL_HEADER = "Durableml-Long-Poll"  # set on answers to ?wait=: the SDK knows the service waited

_STATUS: list[tuple[type[Exception], int, str | None]] = [  # most specific first; None: the error's own code
    (errors.DocumentValidationError, 400, "InvalidDocument"),
    (errors.ValidationError, 400, "ValidationError"),
    (errors.ComputeTargetNotFoundError, 404, None),
    (errors.NotFoundError, 404, None),
    (errors.ConflictError, 409, "Conflict"),
    (errors.GoneError, 410, "Gone"),
    (errors.NotSupportedError, 400, "NotSupported"),
    (errors.UserErrorException, 400, "UserError"),
    (errors.ComputeTargetException, 400, "ComputeTargetError"),
    (errors.ConfigurationError, 500, "Configuration"),
]


def json_response(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


def error_response(status: int, code: str, message: str, details: Any = None) -> func.HttpResponse:
    return json_response({"error": {"code": code, "message": message, "details": details}}, status)


async def _respond(work: Callable[[], Awaitable[Any] | Any], status: int = 200, shape: Any = Any) -> func.HttpResponse:
    """Run ``work`` (off the event loop unless it is a coroutine function) and answer with its result in the API
    shape of the record type ``shape`` (default: as it is), or with the error it raised."""
    try:
        if asyncio.iscoroutinefunction(work):
            result = await work()
        else:  # blocking storage calls: off the event loop, which serves every other function of the host
            result = await asyncio.to_thread(work)
        if isinstance(result, func.HttpResponse):
            return result
        return json_response(rt.to_api(shape, result), status)
    except Exception as exc:  # mapped to the documented status codes; unknown errors are 500
        if outages.is_transient(exc):  # storage did not answer (it went away while this request was served)
            return storage_unavailable(outages.unavailable(exc))
        lost = forget_lost_container(exc)
        if lost is not None:  # storage lost one of the service's containers: the next request creates it again
            log.warning("storage lost the container %r; it is created again on its next use", lost)
            return storage_unavailable(errors.StorageUnavailableError(f"storage lost the container {lost!r}"))
        for kind, code, name in _STATUS:
            if isinstance(exc, kind):
                issues = [i.to_dict() for i in getattr(exc, "issues", [])] or None
                return error_response(code, name or str(getattr(exc, "code", kind.__name__)), str(exc), issues)
        log.exception("unexpected error in the durableml API")
        return error_response(500, "InternalError", f"unexpected {type(exc).__name__}; see the host log")


def storage_unavailable(exc: errors.StorageUnavailableError) -> func.HttpResponse:
    """503 ``StorageUnavailable`` with a Retry-After, as funchost answers while the storage it supervises is down."""
    body = {"error": {"code": exc.code, "message": f"{exc}; retry shortly", "details": None}}
    return func.HttpResponse(
        json.dumps(body), status_code=503, mimetype="application/json", headers={"Retry-After": "2"}
    )


def _body(req: func.HttpRequest) -> dict[str, Any]:
    """The request's JSON object (400 if it is not one, or nests deeper than durableml.json_body allows)."""
    return json_body.parse_object(req.get_body())


def _string_map(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise errors.ValidationError(f'{what} must be an object of string values, e.g. {{"team": "ml"}}')
    return dict(value)


def _step_properties(value: Any) -> dict[str, dict[str, str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.ValidationError("stepProperties must be an object: step name -> object of string values")
    return {k: _string_map(v, f"stepProperties[{k!r}]") for k, v in value.items()}


def _flag(req: func.HttpRequest, name: str) -> bool:
    return (req.params.get(name) or "").lower() in ("1", "true", "yes")


# ---------------------------------------------------------------------------------------------- runs
@route(bp, "experiments/{experiment}/runs", ["GET", "POST"])
@durable_client(bp)
async def experiment_runs(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    experiment = req.route_params["experiment"]
    if req.method == "GET":
        return await _respond(lambda: runs.list_runs(experiment), shape=list[rt.PipelineRun])
    return await _respond(functools.partial(_submit, req, client, experiment), 202, rt.PipelineRun)


async def _submit(req: func.HttpRequest, client: df.DurableOrchestrationClient, experiment: str) -> Any:
    body = _body(req)
    document: Any = body.get("document")  # validated by create_run
    parameters, source = body.get("parameters"), body.get("runSource")
    if parameters is not None and not isinstance(parameters, dict):
        raise errors.ValidationError("parameters must be an object: pipeline parameter name -> value")
    if source is not None and not isinstance(source, str):
        raise errors.ValidationError(f"runSource must be a string, got {type(source).__name__}")
    record, plan = await asyncio.to_thread(
        runs.create_run,
        experiment,
        document,
        parameters or {},
        _string_map(body.get("tags"), "tags"),
        bool(body.get("continueOnStepFailure")),
        bool(body.get("regenerateOutputs")),
        source or "SDK",
        _string_map(body.get("properties"), "properties"),
        _step_properties(body.get("stepProperties")),
    )
    return await start_run(client, record, plan)


async def orchestration_exists(client: df.DurableOrchestrationClient, run_id: str) -> bool:
    """Whether the run's ``pipeline_run`` orchestration was started (idempotent starts check this first)."""
    if table_key_problem(run_id):  # no run has such an id (and '?' or '/' would change the Durable API's URL)
        return False
    status = await client.get_status(run_id)
    return status is not None and status.runtime_status is not None


async def orchestration_of(client: df.DurableOrchestrationClient, run_id: str) -> reconcile.Orchestration:
    """What the Durable backend says about the run's ``pipeline_run`` instance (status None: there is none)."""
    if table_key_problem(run_id):  # e.g. '?x' asked the Durable API for its list of instances (a 500)
        return reconcile.Orchestration(None)
    status = await client.get_status(run_id, show_input=True)
    if status is None or status.runtime_status is None:
        return reconcile.Orchestration(None)
    return reconcile.Orchestration(status.runtime_status.value, status.output, status.input_)


async def reconciled_run(client: df.DurableOrchestrationClient, run_id: str) -> dict[str, Any]:
    """The run's record, first repaired from its orchestration when it is missing or unfinished
    (``durableml.service.reconcile``); raises RunNotFoundError when there is neither."""
    record = await asyncio.to_thread(runs.find_run, run_id)
    if record is not None and (record["status"] in runs.TERMINAL or record.get("kind") != "pipeline"):
        return record
    orchestration = await orchestration_of(client, run_id)
    repaired = await asyncio.to_thread(reconcile.repair, run_id, orchestration, record)
    if repaired is None:
        return await asyncio.to_thread(runs.get_run, run_id)  # raises RunNotFoundError with its message
    return repaired


async def start_run(
    client: df.DurableOrchestrationClient, record: dict[str, Any], plan: dict[str, Any]
) -> dict[str, Any]:
    """Start the ``pipeline_run`` orchestration of a recorded run (every way of starting a run ends here); returns
    the run's (stored) record."""
    if await asyncio.to_thread(notifications.target, record):
        plan = {**plan, "notify": True}  # its schedule or endpoint names a URL for the run-finished notice
    try:
        await client.start_new(contract.ORCHESTRATOR_PIPELINE_RUN, record["id"], plan)
    except Exception as exc:  # nothing half-created: the run is recorded as failed to start
        await asyncio.to_thread(runs.update_run, record["id"], status="Failed", error=f"could not start the run: {exc}")
        raise
    return record


@route(bp, "runs/{run_id}/resume", ["POST"])
@durable_client(bp)
async def run_resume(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    async def resume() -> Any:
        await reconciled_run(client, req.route_params["run_id"])  # a run stuck unfinished can be resumed once ended
        record, plan = await asyncio.to_thread(reuse.resume_run, req.route_params["run_id"])
        return await start_run(client, record, plan)

    return await _respond(resume, 202, rt.PipelineRun)


@route(bp, "runs/{run_id}/reuse", ["GET"])
async def run_reuse(req: func.HttpRequest) -> func.HttpResponse:
    return await _respond(lambda: reuse_explain.explain(req.route_params["run_id"]), shape=rt.ReuseExplanation)


@route(bp, "workspace", ["GET"])
async def workspace(req: func.HttpRequest) -> func.HttpResponse:
    return await _respond(
        lambda: {**runs.workspace_record(), "default_datastore": datastores.default_name()}, shape=rt.Workspace
    )


@route(bp, "experiments", ["GET"])
async def experiments(req: func.HttpRequest) -> func.HttpResponse:
    return await _respond(runs.list_experiments, shape=list[rt.Experiment])


@route(bp, "runs/{run_id}/metrics", ["GET", "POST"])
async def run_metrics(req: func.HttpRequest) -> func.HttpResponse:
    run_id = req.route_params["run_id"]
    if req.method == "POST":
        return await _respond(lambda: runs.add_metrics(run_id, _body(req).get("metrics") or []))
    return await _respond(lambda: runs.get_metrics(run_id))


@route(bp, "runs/{run_id}/files/{*name}", ["GET"])
async def run_files(req: func.HttpRequest) -> func.HttpResponse:
    run_id, name = req.route_params["run_id"], req.route_params.get("name") or ""
    if not name:
        return await _respond(lambda: runs.list_run_files(run_id))
    return await _respond(
        lambda: func.HttpResponse(runs.download_run_file(run_id, name), mimetype="application/octet-stream")
    )


@route(bp, "runs/{run_id}", ["GET"])
@durable_client(bp)
async def run_get(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``?wait=S&status=X[&steps=true]``: long poll, answered as soon as the run is not X or its record (or,
    with ``steps``, a record of one of its steps) is written. An unfinished or missing record is first reconciled
    with the run's orchestration."""
    run_id = req.route_params["run_id"]
    if req.params.get("wait") is None:
        return await _respond(functools.partial(reconciled_run, client, run_id), shape=rt.Run)

    async def when_changed() -> func.HttpResponse:
        wait = _seconds(req.params["wait"], "wait", changes.MAX_WAIT_S)
        await reconciled_run(client, run_id)
        record = await changes.read_when_changed(
            run_id,
            functools.partial(runs.get_run, run_id),
            req.params.get("status"),
            wait,
            runs.TERMINAL,
            _flag(req, "steps"),
        )
        return func.HttpResponse(
            json.dumps(rt.to_api(rt.Run, record)), mimetype="application/json", headers={LONG_POLL_HEADER: "1"}
        )

    return await _respond(when_changed)


def _seconds(raw: str, name: str, most: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= most:  # also NaN
        raise errors.ValidationError(f"'{name}' must be a number of seconds from 0 to {most:g}, got {raw!r}")
    return value


@route(bp, "runs/{run_id}/steps", ["GET"])
async def run_steps(req: func.HttpRequest) -> func.HttpResponse:
    return await _respond(lambda: runs.list_step_runs(req.route_params["run_id"]), shape=list[rt.StepRun])


@route(bp, "runs/{run_id}/cancel", ["POST"])
@durable_client(bp)
async def run_cancel(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    async def cancel() -> Any:
        run_id = req.route_params["run_id"]
        record = await asyncio.to_thread(runs.find_run, run_id)
        if record is None or record["status"] in runs.TERMINAL or record.get("kind") != "pipeline":
            return await reconciled_run(client, run_id)
        orchestration = await orchestration_of(client, run_id)
        if orchestration.status is None:  # gone: nothing can receive the event; cancel its steps' jobs directly
            return await asyncio.to_thread(reconcile.cancel_orphan, run_id)
        record = await asyncio.to_thread(reconcile.repair, run_id, orchestration, record) or record
        if record["status"] not in runs.TERMINAL:
            await client.raise_event(run_id, contract.EVENT_CANCEL, None)
        return record

    return await _respond(cancel, 202, rt.Run)


@route(bp, "runs/{run_id}/logs", ["GET"])
async def run_logs(req: func.HttpRequest) -> func.HttpResponse:
    def logs() -> func.HttpResponse:
        offset = req.params.get("offset") or "0"
        if not offset.isdigit():
            raise errors.ValidationError(f"'offset' must be a character count (0 or more), got {offset!r}")
        text = runs.run_log(req.route_params["run_id"], int(offset))
        return func.HttpResponse(text, mimetype="text/plain", charset="utf-8")

    return await _respond(logs)


# ---------------------------------------------------------------------------------------------- data
@route(bp, "datastores/{name?}", ["GET", "PUT", "DELETE"])
async def datastore(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name")
    if req.method == "DELETE":
        return await _respond(lambda: datastores.unregister_datastore(name or ""))
    if req.method == "PUT":
        return await _respond(
            lambda: datastores.register_datastore(
                {**rt.from_api(rt.DatastoreSpec, _body(req)), "name": name}, _flag(req, "overwrite")
            ),
            shape=rt.Datastore,
        )
    if name:
        return await _respond(lambda: datastores.get_datastore(name), shape=rt.Datastore)
    return await _respond(datastores.list_datastores, shape=list[rt.Datastore])


@route(bp, "datastores/{name}/files/{*path}", ["GET", "PUT"])
async def datastore_files(req: func.HttpRequest) -> func.HttpResponse:
    name, path = req.route_params["name"], req.route_params.get("path") or ""
    if req.method == "PUT":
        return await _respond(
            lambda: datastores.upload(name, path, req.get_body(), _flag(req, "overwrite")), 201, rt.DatastoreUpload
        )
    if not path or path.endswith("/") or "prefix" in req.params:
        prefix = req.params.get("prefix", path)
        return await _respond(lambda: list(datastores.list_files(name, prefix)))
    return await _respond(
        lambda: func.HttpResponse(datastores.download(name, path), mimetype="application/octet-stream")
    )


@route(bp, "datastores/{name}/default", ["POST"])
async def datastore_default(req: func.HttpRequest) -> func.HttpResponse:
    def make_default() -> dict[str, Any]:
        datastores.set_default_datastore(req.route_params["name"])
        return datastores.get_datastore(req.route_params["name"])

    return await _respond(make_default, shape=rt.Datastore)


@route(bp, "datasets/{name?}", ["GET", "POST"])
async def dataset(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name")
    if req.method == "POST":

        def register() -> Any:
            body = _body(req)
            return datasets.register(
                body.get("definition") or {},
                body.get("name") or "",
                body.get("description"),
                body.get("tags"),
                bool(body.get("createNewVersion")),
            )

        return await _respond(register, 201, rt.Dataset)
    if name or req.params.get("id"):
        return await _respond(
            lambda: datasets.get(name, req.params.get("version"), req.params.get("id")), shape=rt.Dataset
        )
    return await _respond(datasets.list_latest, shape=list[rt.Dataset])


@route(bp, "dataset-files", ["POST"])
async def dataset_files(req: func.HttpRequest) -> func.HttpResponse:
    return await _respond(lambda: datasets.files(_body(req).get("definition") or {}), shape=list[rt.DatasetFile])


@route(bp, "computes/{name?}", ["GET", "PUT", "DELETE"])
async def compute(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name")
    if req.method == "PUT":
        return await _respond(
            lambda: computes.create_compute(name or "", rt.from_api(rt.ComputeSpec, _body(req))), 201, rt.Compute
        )
    if req.method == "DELETE":
        return await _respond(lambda: computes.delete_compute(name or ""))
    if name:
        return await _respond(lambda: computes.get_compute(name), shape=rt.Compute)
    return await _respond(computes.list_computes, shape=list[rt.Compute])


@route(bp, "snapshots/missing", ["POST"])
async def snapshot_missing(req: func.HttpRequest) -> func.HttpResponse:
    def answer() -> dict[str, Any]:
        body = _body(req)
        if "files" in body:  # a whole manifest: answered without listing when the snapshot exists
            return snapshots.check(body.get("files") or {}, body.get("hashed") or None)
        return {"missing": snapshots.missing(body.get("hashes") or [])}

    return await _respond(answer, shape=rt.SnapshotCheck | rt.SnapshotMissing)


@route(bp, "snapshots/files/{sha}", ["GET", "PUT"])
async def snapshot_file(req: func.HttpRequest) -> func.HttpResponse:
    sha = req.route_params["sha"]
    if req.method == "GET":  # the export of published pipelines (durableml export) copies their snapshots
        return await _respond(lambda: func.HttpResponse(snapshots.get_file(sha), mimetype="application/octet-stream"))
    return await _respond(lambda: snapshots.put_file(sha, req.get_body()), 201, rt.StoredFile)


@route(bp, "snapshots/manifests/{id}", ["GET"])
async def snapshot_manifest(req: func.HttpRequest) -> func.HttpResponse:
    return await _respond(lambda: snapshots.manifest(req.route_params["id"]))


@route(bp, "snapshots", ["POST"])
async def snapshot_create(req: func.HttpRequest) -> func.HttpResponse:
    def create() -> dict[str, str]:
        body = _body(req)
        return {"id": snapshots.create(body.get("files") or {}, body.get("hashed") or None)}

    return await _respond(create, 201, rt.SnapshotCreated)


@route(bp, "openapi.json", ["GET"])
async def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    return await _respond(openapi.document)
