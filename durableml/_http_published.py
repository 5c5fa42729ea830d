"""Published pipelines, pipeline endpoints and drafts for :class:`~durableml.http_client.HttpServiceClient`.

Runs of published pipelines and endpoints are started the way REST callers start them: a v1 body
(``ExperimentName``, ``ParameterAssignments``, ``DataPathAssignments``,
``DataSetDefinitionValueAssignments``, built by :mod:`durableml._parameter_values`) posted to the
record's v1 ``endpoint`` path on the configured host, so the SDK and a webhook caller take the same path
through the service.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from durableml._http_transport import HttpTransport, Record
from durableml._parameter_values import v1_run_body
from durableml.core.authentication import AbstractAuthentication, entra_scope

__all__ = ["PublishedOperations"]


def _seg(value: str) -> str:
    return quote(str(value), safe="")


class PublishedOperations(HttpTransport):
    """The publish / endpoint / draft operations of the ServiceClient protocol over the HTTP API."""

    # ---- published pipelines
    def publish_pipeline(self, document: Mapping[str, Any] | None, spec: Mapping[str, Any]) -> Record:
        """Publish ``document``, or (document None) the pipeline of run ``spec["sourceRunId"]``."""
        body = {k: v for k, v in spec.items() if v is not None}
        if document is not None:
            body["document"] = dict(document)
        return self._record("publish_pipeline", "POST", "/api/published-pipelines", json=body)

    def get_published_pipeline(self, id: str) -> Record:
        """The published pipeline ``id``."""
        return self._record("get_published_pipeline", "GET", f"/api/published-pipelines/{_seg(id)}")

    def list_published_pipelines(self, active_only: bool) -> list[Record]:
        """Published pipelines, newest first."""
        params = {"activeOnly": "true" if active_only else "false"}
        return self._records("list_published_pipelines", "/api/published-pipelines", params=params)

    def update_published_pipeline(self, id: str, changes: Mapping[str, Any]) -> Record:
        """Change the status of a published pipeline."""
        path = f"/api/published-pipelines/{_seg(id)}"
        return self._record("update_published_pipeline", "PATCH", path, json=dict(changes), retry=True)

    def submit_published_pipeline(self, id: str, experiment: str, parameters: Mapping[str, Any]) -> Record:
        """Start a run of published pipeline ``id`` through its REST endpoint; return the run record."""
        url = str(self.get_published_pipeline(id)["endpoint"])
        return self._run_v1("submit_published_pipeline", urlsplit(url).path, experiment, parameters)

    def _run_v1(
        self,
        operation: str,
        path: str,
        experiment: str,
        parameters: Mapping[str, Any],
        query: Mapping[str, str] | None = None,
    ) -> Record:
        body = v1_run_body(experiment, parameters)
        headers = {"Idempotency-Key": str(uuid.uuid4())}  # so that retrying after a lost answer starts one run
        if entra_scope():  # an Entra deployment's run routes take tokens, not keys (durableml.service.access)
            headers.update(self._entra_login().get_authentication_header())
        answer = self._record(operation, "POST", path, json=body, params=dict(query or {}), headers=headers, retry=True)
        return self._record(operation, "GET", f"/api/runs/{_seg(str(answer['Id']))}")

    def _entra_login(self) -> AbstractAuthentication:
        login = getattr(self, "_login", None)
        if login is None:
            login = self._login = AbstractAuthentication()  # DefaultAzureCredential: CLI, managed identity, env
        return login

    # ---- pipeline endpoints
    def create_pipeline_endpoint(self, spec: Mapping[str, Any]) -> Record:
        """Create a pipeline endpoint (name, description, pipelineId of version "0")."""
        return self._record("create_pipeline_endpoint", "POST", "/api/pipeline-endpoints", json=dict(spec))

    def get_pipeline_endpoint(self, id: str | None, name: str | None) -> Record:
        """The endpoint with ``id`` (or ``name``)."""
        if id:
            return self._record("get_pipeline_endpoint", "GET", f"/api/pipeline-endpoints/{_seg(id)}")
        return self._record("get_pipeline_endpoint", "GET", "/api/pipeline-endpoints", params={"name": name or ""})

    def list_pipeline_endpoints(self, active_only: bool) -> list[Record]:
        """Endpoints that are not archived (only Active ones when ``active_only``)."""
        params = {"activeOnly": "true" if active_only else "false"}
        return self._records("list_pipeline_endpoints", "/api/pipeline-endpoints", params=params)

    def update_pipeline_endpoint(self, id: str, changes: Mapping[str, Any]) -> Record:
        """Change an endpoint (versions, default, name, description, status)."""
        path = f"/api/pipeline-endpoints/{_seg(id)}"
        return self._record("update_pipeline_endpoint", "PATCH", path, json=dict(changes), retry=False)

    def submit_pipeline_endpoint(
        self, id: str, experiment: str, version: str | None, parameters: Mapping[str, Any]
    ) -> Record:
        """Start a run of the endpoint's default version (or ``version``) through its REST endpoint."""
        path = urlsplit(str(self.get_pipeline_endpoint(id, None)["endpoint"])).path
        if version is not None:
            path += f"/{_seg(version)}"
        return self._run_v1("submit_pipeline_endpoint", path, experiment, parameters)

    # ---- drafts
    def create_draft(self, document: Mapping[str, Any], spec: Mapping[str, Any]) -> Record:
        """Save a draft of ``document`` with the settings of ``spec``."""
        body = {**{k: v for k, v in spec.items() if v is not None}, "document": dict(document)}
        return self._record("create_draft", "POST", "/api/pipeline-drafts", json=body)

    def get_draft(self, id: str) -> Record:
        """The draft ``id``."""
        return self._record("get_draft", "GET", f"/api/pipeline-drafts/{_seg(id)}")

    def list_drafts(self, tags: Mapping[str, str] | None) -> list[Record]:
        """Drafts carrying all of ``tags``."""
        params = {"tags": json.dumps(dict(tags))} if tags else {}
        return self._records("list_drafts", "/api/pipeline-drafts", params=params)

    def update_draft(self, id: str, document: Mapping[str, Any] | None, changes: Mapping[str, Any]) -> Record:
        """Change a draft's settings (and, with ``document``, its pipeline)."""
        body = dict(changes)
        if document is not None:
            body["document"] = dict(document)
        return self._record("update_draft", "PATCH", f"/api/pipeline-drafts/{_seg(id)}", json=body, retry=True)

    def delete_draft(self, id: str) -> None:
        """Delete a draft."""
        self._request("delete_draft", "DELETE", f"/api/pipeline-drafts/{_seg(id)}").close()

    def submit_draft(self, id: str) -> Record:
        """Run a draft; return the run record."""
        return self._record("submit_draft", "POST", f"/api/pipeline-drafts/{_seg(id)}/submit", retry=False)

    def publish_draft(self, id: str) -> Record:
        """Publish a draft; return the published pipeline record."""
        return self._record("publish_draft", "POST", f"/api/pipeline-drafts/{_seg(id)}/publish", retry=False)
