"""``durableml export`` / ``durableml import``: move a workspace's published pipelines, pipeline endpoints,
schedules, and the datastores and AmlCompute targets they name, from one running durableml to another over the
HTTP API (a local funchost to the deployed Function App, for example).

The export file (JSON, ``format: durableml-export``, ``version: 1``) holds:

* ``datastores``: every registered datastore but the built-in ones, as the API shows it (no secret), with
  ``secrets``: the names of the secrets its credential needs (``account_key``, ``sas_token``, ``client_secret``,
  ``user_password``), which the export cannot read and the import must be given;
* ``computes``: AmlCompute targets (their settings); other compute types (attached targets hold secrets and
  addresses of the machine they were attached on) are listed in ``skipped`` and must be attached again;
* ``published``: each published pipeline's record and frozen document, with ``snapshots`` (manifests) and
  ``files`` (base64 by sha256) for the source snapshots its steps run from;
* ``endpoints``: each pipeline endpoint with its versions (published pipeline ids) and default version;
* ``schedules``: each schedule (recurrence or data change), enabled or disabled;
* ``defaultDatastore``: the workspace's default datastore.

Import order: datastores (secrets from ``DURABLEML_IMPORT_<DATASTORE>_<SECRET>``, or asked for on a terminal; all
missing ones are named before anything is changed), computes, snapshots, published pipelines (their ids kept,
so callers of ``PipelineSubmit/<id>`` only change the host), endpoints (same name, versions in order, default
version, status), schedules (same settings; a recurrence without a start time is anchored at its original
creation, so the move fires no extra "first run"; created disabled and then enabled, so only occurrences after the
import fire). What exists already in the target (same datastore, compute, pipeline id, endpoint name, or a
schedule with the same name and target) is left as it is and reported. Secrets never enter the export file or the
output.
"""

from __future__ import annotations

import base64
import datetime as dt
import getpass
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from durableml.exceptions import ValidationError

if TYPE_CHECKING:
    from durableml.http_client import HttpServiceClient

__all__ = ["FORMAT", "ImportReport", "MissingSecrets", "export_workspace", "import_workspace", "secret_env_name"]

FORMAT, VERSION = "durableml-export", 1
BUILTIN_DATASTORES = ("workspaceblobstore", "workspacefilestore")
# the secret a datastore's credential needs, by credential type (sql kinds: by type)
_SECRET_BY_CREDENTIAL = {"AccountKey": "account_key", "Sas": "sas_token", "ServicePrincipal": "client_secret"}
_SQL_TYPES = ("AzureSqlDatabase", "AzurePostgreSql", "AzureMySql")
_NOT_SPEC = {"credentialType", "name", "secrets", "createIfNotExists", "skipValidation"}
_SCHEDULE_SETTINGS = (
    "name", "description", "experimentName", "parameterAssignments", "continueOnStepFailure", "recurrence",
    "datastore", "pathOnDatastore", "pollingInterval", "dataPathParameterName", "debounceSeconds",
    "includeSubfolders", "suffixes", "notificationUrl",
)  # fmt: skip
_ENDPOINT_FIELDS = ("id", "name", "description", "status", "defaultVersion", "versions", "notificationUrl")
_COMPUTE_SETTINGS = (
    "type", "vmSize", "vmPriority", "minNodeCount", "maxNodeCount", "idleSecondsBeforeScaledown", "description",
    "tags",
)  # fmt: skip


class MissingSecrets(ValidationError):
    """The import needs secrets it was not given (each named with the variable that gives it)."""


@dataclass
class ImportReport:
    """What an import did: ``created`` and ``existing`` items (``kind name``), ``failed`` ones with the reason."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def secret_env_name(datastore: str, secret: str) -> str:
    """The environment variable an import reads a datastore's secret from: ``DURABLEML_IMPORT_<NAME>_<SECRET>``."""
    return f"DURABLEML_IMPORT_{re.sub(r'[^A-Za-z0-9]', '_', datastore).upper()}_{secret.upper()}"


def _secrets_needed(record: Mapping[str, Any]) -> list[str]:
    if record.get("type") in _SQL_TYPES:
        return ["client_secret"] if record.get("clientId") else ["user_password"]
    needed = _SECRET_BY_CREDENTIAL.get(str(record.get("credentialType") or ""))
    return [needed] if needed else []


# ---------------------------------------------------------------------------------------------- export
def export_workspace(client: HttpServiceClient) -> dict[str, Any]:
    """Everything :func:`import_workspace` needs from the service behind ``client`` (see the module docstring)."""
    workspace = client.get_workspace()
    own_account = str(client.get_datastore(BUILTIN_DATASTORES[0]).get("accountName") or "")
    datastores = []
    for record in client.list_datastores():
        if record["name"] in BUILTIN_DATASTORES:
            continue
        entry = {k: v for k, v in record.items() if v is not None}
        entry["secrets"] = _secrets_needed(record)
        entry["ownAccount"] = record.get("accountName") == own_account and not record.get("credentialType")
        datastores.append(entry)
    computes, skipped = [], []
    for record in client.list_compute():
        if record.get("type") == "AmlCompute":
            computes.append({"name": record["name"], **{k: record[k] for k in _COMPUTE_SETTINGS if k in record}})
        else:
            skipped.append(f"compute {record['name']} ({record.get('type')}): attach it again in the target")
    published, manifests, files = [], {}, {}
    for record in client._json("export", "GET", "/api/published-pipelines", params={"activeOnly": "false"}):
        document = client._json("export", "GET", f"/api/published-pipelines/{record['id']}/document")
        for step in document.get("steps", []):
            snapshot_id = (step.get("snapshot") or {}).get("id")
            if snapshot_id and snapshot_id not in manifests:
                manifests[snapshot_id] = client._json("export", "GET", f"/api/snapshots/manifests/{snapshot_id}")
                for sha in dict(manifests[snapshot_id].get("files") or {}).values():
                    if sha not in files:
                        with client._request("export", "GET", f"/api/snapshots/files/{sha}") as response:
                            files[sha] = base64.b64encode(response.content).decode()
        keep = ("id", "name", "description", "version", "continueOnStepFailure", "status")
        published.append({**{k: record.get(k) for k in keep}, "document": document})
    endpoints = client._json("export", "GET", "/api/pipeline-endpoints", params={"activeOnly": "false"})
    schedules = client.list_schedules({"activeOnly": "false"})
    return {
        "format": FORMAT,
        "version": VERSION,
        "source": client.endpoint,
        "exported": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "defaultDatastore": workspace.get("defaultDatastore"),
        "datastores": datastores,
        "computes": computes,
        "published": published,
        "snapshots": manifests,
        "files": files,
        "endpoints": [{k: e.get(k) for k in _ENDPOINT_FIELDS} for e in endpoints],
        "schedules": [
            {k: s.get(k) for k in (*_SCHEDULE_SETTINGS, "id", "status", "pipelineId", "pipelineEndpointId", "created")}
            for s in schedules
        ],  # fmt: skip
        "skipped": skipped,
    }


# ---------------------------------------------------------------------------------------------- import
def gather_secrets(
    exported: Mapping[str, Any],
    environ: Mapping[str, str] = os.environ,
    ask: Optional[Callable[[str], str]] = None,
) -> dict[str, dict[str, str]]:
    """The secrets each exported datastore needs: from ``environ``, else ``ask(prompt)`` (None: never ask).
    Raises :class:`MissingSecrets` naming every one still missing, before anything is imported."""
    found: dict[str, dict[str, str]] = {}
    missing = []
    for store in exported.get("datastores", []):
        for secret in store.get("secrets", []):
            variable = secret_env_name(store["name"], secret)
            value = environ.get(variable) or (ask(f"{secret} of datastore {store['name']}: ") if ask else "")
            if value:
                found.setdefault(store["name"], {})[secret] = value
            else:
                missing.append(f"{variable} (the {secret} of datastore '{store['name']}')")
    if missing:
        raise MissingSecrets(
            "the import needs these secrets, which an export never holds; set them in the environment (or run "
            "the import on a terminal to be asked):\n  " + "\n  ".join(missing)
        )
    return found


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _datastore_spec(store: Mapping[str, Any], secrets: Mapping[str, str]) -> dict[str, Any]:
    spec = {_snake(k): v for k, v in store.items() if k not in _NOT_SPEC and k != "ownAccount" and v is not None}
    if store.get("ownAccount"):  # a container of the service's own account: the target's own account now
        for key in ("account_name", "protocol", "endpoint"):
            spec.pop(key, None)
    return {"name": store["name"], **spec, **secrets}


def import_workspace(
    client: HttpServiceClient, exported: Mapping[str, Any], secrets: Mapping[str, Mapping[str, str]]
) -> ImportReport:
    """Create what ``exported`` holds in the service behind ``client`` (see the module docstring)."""
    if exported.get("format") != FORMAT or exported.get("version") != VERSION:
        raise ValidationError(f"not a {FORMAT} file of version {VERSION} (format {exported.get('format')!r})")
    report = ImportReport(notes=list(exported.get("skipped") or []))

    def attempt(what: str, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return work(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 (reported per item; the import goes on with the others)
            report.failed.append(f"{what}: {type(exc).__name__}: {exc}")
            return None

    existing_stores = {d["name"] for d in client.list_datastores()}
    for store in exported.get("datastores", []):
        what = f"datastore {store['name']}"
        if store["name"] in existing_stores:
            report.existing.append(what)
            continue
        spec = _datastore_spec(store, secrets.get(store["name"], {}))
        if attempt(what, client.register_datastore, spec, False) is not None:
            report.created.append(what)
    default = exported.get("defaultDatastore")
    if default and default not in BUILTIN_DATASTORES:
        attempt(f"default datastore {default}", client.set_default_datastore, default)

    existing_computes = {c["name"] for c in client.list_compute()}
    for compute in exported.get("computes", []):
        what = f"compute {compute['name']}"
        if compute["name"] in existing_computes:
            report.existing.append(what)
        else:
            spec = {k: v for k, v in compute.items() if k != "name"}
            if attempt(what, client.create_compute, compute["name"], spec) is not None:
                report.created.append(what)

    _import_snapshots(client, exported, report, attempt)

    existing_pipelines = {
        p["id"] for p in client._json("import", "GET", "/api/published-pipelines", params={"activeOnly": "false"})
    }
    for pipeline in exported.get("published", []):
        what = f"published pipeline {pipeline.get('name')} ({pipeline['id']})"
        if pipeline["id"] in existing_pipelines:
            report.existing.append(what)
            continue
        body = {k: pipeline[k] for k in ("id", "name", "description", "version", "continueOnStepFailure")
                if pipeline.get(k) is not None}  # fmt: skip
        body["document"] = pipeline["document"]
        if attempt(what, client._json, "import", "POST", "/api/published-pipelines", json=body) is None:
            continue
        report.created.append(what)
        if pipeline.get("status") and pipeline["status"] != "Active":
            path = f"/api/published-pipelines/{pipeline['id']}"
            attempt(what, client._json, "import", "PATCH", path, json={"status": pipeline["status"]})

    endpoint_ids = _import_endpoints(client, exported, report, attempt)
    _import_schedules(client, exported, report, attempt, endpoint_ids)
    return report


def _import_snapshots(
    client: HttpServiceClient, exported: Mapping[str, Any], report: ImportReport, attempt: Callable[..., Any]
) -> None:
    files: Mapping[str, str] = exported.get("files") or {}
    if files:
        missing = client._json("import", "POST", "/api/snapshots/missing", json={"hashes": sorted(files)})["missing"]
        for sha in missing:
            data = base64.b64decode(files[sha])
            if hashlib.sha256(data).hexdigest() != sha:
                raise ValidationError(f"the export file's snapshot file {sha} does not hash to its name")
            response = attempt(f"snapshot file {sha}", client._request, "import", "PUT", f"/api/snapshots/files/{sha}",
                               data=data)  # fmt: skip
            if response is not None:
                response.close()
    for snapshot_id, manifest in (exported.get("snapshots") or {}).items():
        created = attempt(f"snapshot {snapshot_id}", client._json, "import", "POST", "/api/snapshots", json=manifest)
        if created is not None and created.get("id") != snapshot_id:
            report.failed.append(f"snapshot {snapshot_id}: the target recorded it as {created.get('id')}")


def _import_endpoints(
    client: HttpServiceClient, exported: Mapping[str, Any], report: ImportReport, attempt: Callable[..., Any]
) -> dict[str, str]:
    """Create the endpoints; returns exported endpoint id -> the target's id (by name for existing ones)."""
    ids: dict[str, str] = {}
    existing = {e["name"]: e["id"] for e in client._json("import", "GET", "/api/pipeline-endpoints",
                                                          params={"activeOnly": "false"})}  # fmt: skip
    for endpoint in exported.get("endpoints", []):
        what = f"pipeline endpoint {endpoint['name']}"
        if endpoint["name"] in existing:
            ids[endpoint["id"]] = existing[endpoint["name"]]
            report.existing.append(what)
            continue
        versions = sorted(endpoint["versions"], key=lambda v: int(v["version"]))
        spec = {"name": endpoint["name"], "pipelineId": versions[0]["pipelineId"]}
        spec.update({k: endpoint[k] for k in ("description", "notificationUrl") if endpoint.get(k)})
        created = attempt(what, client._json, "import", "POST", "/api/pipeline-endpoints", json=spec)
        if created is None:
            continue
        path = f"/api/pipeline-endpoints/{created['id']}"
        for version in versions[1:]:
            attempt(what, client._json, "import", "PATCH", path, json={"addPipelineId": version["pipelineId"]})
        changes: dict[str, Any] = {"defaultVersion": endpoint["defaultVersion"]}
        if endpoint.get("status") and endpoint["status"] != "Active":
            changes["status"] = endpoint["status"]
        attempt(what, client._json, "import", "PATCH", path, json=changes)
        ids[endpoint["id"]] = created["id"]
        report.created.append(what)
    return ids


def _import_schedules(
    client: HttpServiceClient,
    exported: Mapping[str, Any],
    report: ImportReport,
    attempt: Callable[..., Any],
    endpoint_ids: Mapping[str, str],
) -> None:
    existing = {(s["name"], s.get("pipelineId"), s.get("pipelineEndpointId"))
                for s in client.list_schedules({"activeOnly": "false"})}  # fmt: skip
    for schedule in exported.get("schedules", []):
        what = f"schedule {schedule['name']}"
        spec = {k: schedule[k] for k in _SCHEDULE_SETTINGS if schedule.get(k) is not None}
        if schedule.get("pipelineEndpointId"):
            target = endpoint_ids.get(schedule["pipelineEndpointId"])
            if target is None:
                report.failed.append(f"{what}: its pipeline endpoint {schedule['pipelineEndpointId']} was not moved")
                continue
            spec["pipelineEndpointId"] = target
        else:
            spec["pipelineId"] = schedule.get("pipelineId")
        if (schedule["name"], spec.get("pipelineId"), spec.get("pipelineEndpointId")) in existing:
            report.existing.append(what)
            continue
        recurrence = dict(spec.get("recurrence") or {})
        if recurrence and not recurrence.get("startTime") and schedule.get("created"):
            recurrence["startTime"] = _wall_clock(str(schedule["created"]), recurrence.get("timeZone"))
            spec["recurrence"] = recurrence
        created = attempt(what, client.create_schedule, {**spec, "status": "Disabled"})
        if created is None:
            continue
        if schedule.get("status") == "Active":
            attempt(what, client.update_schedule, created["id"], {"status": "Active"})
        report.created.append(what)


def _wall_clock(created: str, zone: Optional[str]) -> str:
    """The schedule's creation time as a v1 start time: wall-clock in its time zone (UTC without one)."""
    moment = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    if zone:
        from durableml.recurrence import time_zone

        moment = moment.astimezone(time_zone(zone))
    return moment.replace(tzinfo=None, microsecond=0).isoformat()


def terminal_prompt() -> Optional[Callable[[str], str]]:
    """``getpass.getpass`` when standard input is a terminal (the import asks), else None."""
    return getpass.getpass if sys.stdin is not None and sys.stdin.isatty() else None


def read_export(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read the export file {path}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ValidationError(f"{path} is not a {FORMAT} file")
    return loaded
