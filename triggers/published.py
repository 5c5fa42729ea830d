"""Published pipelines, pipeline endpoints and drafts over HTTP, including the v1-shaped REST run endpoints.

Adapters only: parse, call durableml.service, answer through ``triggers.api._respond`` (the one error
mapping). Every route needs a credential: a function key, or for the run routes of an ``entra``
deployment an Entra ID token validated by App Service (durableml.service.access; "Authentication" in
docs/design/pipeline-runtime.md). The v1 run routes answer 200 with ``Id`` like Azure ML did; a GET
on them returns the JSON Schema of the body the version accepts.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from durableml import exceptions as errors
from durableml import json_body
from durableml.service import access, drafts, endpoints, idempotency, published, runs, submissions
from durableml.service import record_types as rt
from triggers.api import _body, _respond, error_response, json_response, orchestration_exists, start_run
from app_decorators import durable_client, route

bp = df.Blueprint()
# The run routes: function keys checked by the host, or (entra mode) open at the host and checked here.
_RUN_AUTH = func.AuthLevel.ANONYMOUS if access.mode() == "entra" else None
V1 = (
    "pipelines/v1.0/subscriptions/{subscription}/resourceGroups/{group}/providers/"
    "Microsoft.MachineLearningServices/workspaces/{workspace}/PipelineRuns"
)
Target = tuple[dict[str, Any], Optional[str]]  # (published pipeline record, endpoint id)


def _base(req: func.HttpRequest) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}"


def _active_only(req: func.HttpRequest) -> bool:
    return (req.params.get("activeOnly") or "true").lower() not in ("0", "false", "no")


# ------------------------------------------------------------------------------------- published pipelines
@route(bp, "published-pipelines", ["GET", "POST"])
async def published_pipelines(req: func.HttpRequest) -> func.HttpResponse:
    base = _base(req)
    if req.method == "POST":

        def publish() -> Any:
            spec = _body(req)
            document = spec.pop("document", None)
            return published.with_links(published.publish(document, spec), base)

        return await _respond(publish, 201, rt.PublishedPipeline)
    return await _respond(
        lambda: [published.with_links(r, base) for r in published.list_published(_active_only(req))],
        shape=list[rt.PublishedPipeline],
    )


@route(bp, "published-pipelines/{id}", ["GET", "PATCH"])
async def published_pipeline(req: func.HttpRequest) -> func.HttpResponse:
    pipeline_id, base = req.route_params["id"], _base(req)
    if req.method == "PATCH":
        return await _respond(
            lambda: published.with_links(published.update(pipeline_id, _body(req)), base), shape=rt.PublishedPipeline
        )
    return await _respond(lambda: published.with_links(published.get(pipeline_id), base), shape=rt.PublishedPipeline)


@route(bp, "published-pipelines/{id}/document", ["GET"])
async def published_pipeline_document(req: func.HttpRequest) -> func.HttpResponse:
    """The frozen pipeline document (what ``POST published-pipelines`` takes back): ``durableml export``."""
    return await _respond(lambda: published.document(published.get(req.route_params["id"])["id"]))


# ------------------------------------------------------------------------------------- v1 REST run endpoints
@route(bp, V1 + "/PipelineSubmit/{id}", ["GET", "POST"], _RUN_AUTH)
@durable_client(bp)
async def pipeline_submit(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    def target() -> Target:
        _check_workspace(req)
        return published.runnable(req.route_params["id"]), None

    return await _v1(req, client, target, lambda: published.get(req.route_params["id"]))


@route(bp, V1 + "/PipelineEndpointSubmit/Id/{id}/{version?}", ["GET", "POST"], _RUN_AUTH)
@durable_client(bp)
async def endpoint_submit_by_id(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await _endpoint_v1(
        req, client, lambda: endpoints.get(req.route_params["id"]), req.route_params.get("version")
    )


@route(bp, V1 + "/PipelineEndpointSubmit/Name", ["GET", "POST"], _RUN_AUTH)
@durable_client(bp)
async def endpoint_submit_by_name(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    def find() -> dict[str, Any]:
        name = req.params.get("name")
        if not name:
            raise errors.ValidationError(
                "name the endpoint: .../PipelineEndpointSubmit/Name?name=<endpoint name>[&pipelineVersion=<version>]"
            )
        return endpoints.get(name=name)

    return await _endpoint_v1(req, client, find, req.params.get("pipelineVersion"))


def _check_workspace(req: func.HttpRequest) -> None:
    params = req.route_params
    published.check_workspace(params["subscription"], params["group"], params["workspace"])


async def _endpoint_v1(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
    find: Callable[[], dict[str, Any]],
    version: Optional[str],
) -> func.HttpResponse:
    def target() -> Target:
        _check_workspace(req)
        endpoint = find()
        return endpoints.runnable(endpoint, version), endpoint["id"]

    def schema_target() -> dict[str, Any]:
        return published.get(endpoints.pipeline_id(find(), version))

    return await _v1(req, client, target, schema_target)


async def _v1(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
    target: Callable[[], Target],
    schema_target: Callable[[], dict[str, Any]],
) -> func.HttpResponse:
    refused = _refused(req)
    if refused is not None:
        return refused
    if req.method == "GET":

        def schema() -> Any:
            _check_workspace(req)
            record = schema_target()
            title = f"run request of published pipeline {record.get('name') or record['id']}"
            return submissions.parameter_schema(record["parameters"], title)

        return await _respond(schema)
    return await _respond(functools.partial(_start_run, req, client, target))


def _refused(req: func.HttpRequest) -> Optional[func.HttpResponse]:
    """401/403 when (entra mode) App Service authenticated no caller, or one not allowed."""
    try:
        access.principal(req.headers)
    except errors.AuthenticationException as exc:
        status = int(exc.details.get("status", 401))
        return error_response(status, "Unauthorized" if status == 401 else "Forbidden", str(exc))
    return None


async def _start_run(
    req: func.HttpRequest, client: df.DurableOrchestrationClient, target: Callable[[], Target]
) -> func.HttpResponse:
    body = _body(req)
    key = req.headers.get("Idempotency-Key")
    if key is None:
        record, plan = await asyncio.to_thread(_create, body, target, None)
        await start_run(client, record, plan)
        return _run_answer(req, record, replayed=False)
    request = idempotency.fingerprint(
        urlsplit(req.url).path.lower(), req.params.get("name"), req.params.get("pipelineVersion"), body
    )
    claim = await asyncio.to_thread(idempotency.claim, key, request)
    if not claim.mine and not claim.started:
        claim = await idempotency.wait_or_take_over(claim, request)
    if claim.started:
        return _run_answer(req, await asyncio.to_thread(runs.get_run, claim.run_id), replayed=True)
    async with idempotency.holding(claim):  # a crash of this host lets a retry take the claim within seconds
        if await orchestration_exists(client, claim.run_id):  # started before a crash; finish the claim
            await asyncio.to_thread(idempotency.mark_started, claim)
            return _run_answer(req, await asyncio.to_thread(runs.get_run, claim.run_id), replayed=True)
        try:
            record, plan = await asyncio.to_thread(_create, body, target, claim.run_id)
        except Exception:
            await asyncio.to_thread(idempotency.release, claim)
            raise
        await start_run(client, record, plan)
        await asyncio.to_thread(idempotency.mark_started, claim)
    return _run_answer(req, record, replayed=False)


def _create(body: dict[str, Any], target: Callable[[], Target], run_id: Optional[str]) -> tuple[Any, Any]:
    pipeline, endpoint_id = target()
    document = published.document(pipeline["id"])
    submission = submissions.from_rest(body, document["parameters"])
    return submissions.create(
        document, submission, bool(pipeline.get("continueOnStepFailure")), pipeline["id"], endpoint_id, run_id
    )


def _run_answer(req: func.HttpRequest, record: dict[str, Any], replayed: bool) -> func.HttpResponse:
    """v1's answer (``Id``, ``Status``...) plus the run's links on this host."""
    base = f"{_base(req)}/api/runs/{record['id']}"
    properties = record.get("properties") or {}
    body: rt.V1RunAccepted = {
        "Id": record["id"],
        "RunId": record["id"],
        "Status": record["status"],
        "ExperimentName": record["experiment"],
        "RunSource": record.get("run_source"),
        "PipelineId": properties.get("azureml.pipelineid"),
        "PipelineEndpointId": properties.get("azureml.pipelineEndpointId"),
        "CreatedTime": record["created"],
        "Links": {"self": base, "steps": f"{base}/steps", "logs": f"{base}/logs", "cancel": f"{base}/cancel"},
    }
    response = json_response(body, 200)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


# ------------------------------------------------------------------------------------- pipeline endpoints
@route(bp, "pipeline-endpoints", ["GET", "POST"])
async def pipeline_endpoints(req: func.HttpRequest) -> func.HttpResponse:
    base = _base(req)
    if req.method == "POST":
        return await _respond(
            lambda: endpoints.with_links(endpoints.create(_body(req)), base), 201, rt.PipelineEndpoint
        )
    if req.params.get("name"):
        return await _respond(
            lambda: endpoints.with_links(endpoints.get(name=req.params["name"]), base), shape=rt.PipelineEndpoint
        )
    return await _respond(
        lambda: [endpoints.with_links(r, base) for r in endpoints.list_endpoints(_active_only(req))],
        shape=list[rt.PipelineEndpoint],
    )


@route(bp, "pipeline-endpoints/{id}", ["GET", "PATCH"])
async def pipeline_endpoint(req: func.HttpRequest) -> func.HttpResponse:
    endpoint_id, base = req.route_params["id"], _base(req)
    if req.method == "PATCH":
        return await _respond(
            lambda: endpoints.with_links(endpoints.update(endpoint_id, _body(req)), base), shape=rt.PipelineEndpoint
        )
    return await _respond(lambda: endpoints.with_links(endpoints.get(endpoint_id), base), shape=rt.PipelineEndpoint)


# ------------------------------------------------------------------------------------- drafts
@route(bp, "pipeline-drafts", ["GET", "POST"])
async def pipeline_drafts(req: func.HttpRequest) -> func.HttpResponse:
    if req.method == "POST":

        def create() -> Any:
            spec = _body(req)
            return drafts.create(spec.pop("document", None), spec)

        return await _respond(create, 201, rt.PipelineDraft)
    return await _respond(lambda: drafts.list_drafts(_tags(req.params.get("tags"))), shape=list[rt.PipelineDraft])


def _tags(text: Optional[str]) -> dict[str, str]:
    if not text:
        return {}
    try:
        tags = json_body.parse_object(text.encode("utf-8", "surrogatepass"))  # bounded nesting, like bodies
    except errors.ValidationError as exc:
        raise errors.ValidationError(
            f'\'tags\' must be a JSON object of strings such as {{"dev": "true"}}: {exc}'
        ) from exc
    if not all(isinstance(v, str) for v in tags.values()):
        raise errors.ValidationError(f"'tags' must be a JSON object of strings, got {text!r}")
    return tags


@route(bp, "pipeline-drafts/{id}", ["GET", "PATCH", "DELETE"])
async def pipeline_draft(req: func.HttpRequest) -> func.HttpResponse:
    draft_id = req.route_params["id"]
    if req.method == "PATCH":

        def update() -> Any:
            changes = _body(req)
            return drafts.update(draft_id, changes.pop("document", None), changes)

        return await _respond(update, shape=rt.PipelineDraft)
    if req.method == "DELETE":

        def delete() -> rt.DeletedDraft:
            drafts.delete(draft_id)
            return {"id": draft_id, "deleted": True}

        return await _respond(delete, shape=rt.DeletedDraft)
    return await _respond(lambda: drafts.get(draft_id), shape=rt.PipelineDraft)


@route(bp, "pipeline-drafts/{id}/submit", ["POST"])
@durable_client(bp)
async def pipeline_draft_submit(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    async def submit() -> Any:
        record, plan = await asyncio.to_thread(drafts.create_run, req.route_params["id"])
        return await start_run(client, record, plan)

    return await _respond(submit, 202, rt.PipelineRun)


@route(bp, "pipeline-drafts/{id}/publish", ["POST"])
async def pipeline_draft_publish(req: func.HttpRequest) -> func.HttpResponse:
    base = _base(req)
    return await _respond(
        lambda: published.with_links(drafts.publish(req.route_params["id"]), base), 201, rt.PublishedPipeline
    )
