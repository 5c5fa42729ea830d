"""Offline validation of infra/ (issue 15): no Azure deployment can be made from here, so everything that can be
checked without one is. Every .bicep parses with pycep-parser; checkov finds no failed check, and each inline
skip (``// checkov:skip=CKV_...:reason``) has a reason and silences a check that really fails; every app setting
the deployed code reads is set by the Bicep or listed below with why not; the identities hold the roles the code
needs and no more; no output or setting carries a secret; every resource name keeps Azure's rules for any
environment name azd accepts.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra import _bicep as bicep

ROOT = bicep.ROOT
CHECKOV = Path(sys.prefix) / "checkov" / "bin" / "checkov"  # scripts/setup.sh installs it there

# Settings the deployed code reads that the Bicep deliberately does not set, and why.
NOT_APP_SETTINGS = {
    # set by the platform on every Function App
    "WEBSITE_HOSTNAME": "set by Azure Functions to the app's host name",
    "PYTHONPATH": "set by the Functions Python worker (user packages, worker folder); function_app.py appends the "
    "app's folder to it for the processes the app starts",
    # set by durableml itself for a step's process (runner/context.py, runner/parallel_run.py), never by Azure
    "DURABLEML_RUN_CONTEXT": "the step's context file, set by the step runner for the user's script",
    "DURABLEML_ENDPOINT": "the service URL, set by the step runner for the user's script (and by SDK users)",
    "DURABLEML_KEY": "the per-step key, set by the step runner for the user's script (and by SDK users)",
    "DURABLEML_STEP_ENDPOINT": "the service URL the step runner passes on; set per job, not an app setting",
    "DURABLEML_STEP_KEY": "the per-step key the step runner passes on; set per job, not an app setting",
    "DURABLEML_AZUREML_ALIAS": "turns on the azureml import alias inside steps; set by the step runner",
    "DURABLEML_PARALLEL_OUTPUT": "ParallelRunStep's output folder, set by its driver for its workers",
    "AZUREML_RUN_ID": "v1's run id inside a step, set by the Databricks driver for the user's code",
    "AZUREML_MODEL_DIR": "v1's model folder inside a deployed model's process, set where the model runs",
    "DURABLEML_RAY_SPEC_URL": "a step's spec URL, set per job execution (Ray job or Container Apps execution)",
    "DURABLEML_RAY_ATTEMPT": "a step's attempt number, set per job execution",
    "DURABLEML_RAY_NODE_DIR": "the runner's work folder; the step-runner image sets it (Dockerfile ENV)",
    "DURABLEML_SPEC_BLOB": "a step's spec blob name, set per Container Apps job execution by the backend",
    "DURABLEML_STEP_RUN_ID": "a step's run id, set per Container Apps job execution by the backend",
    "DURABLEML_DATABRICKS_HOST": "the Databricks workspace, set per run for the Databricks driver",
    "DURABLEML_DATABRICKS_TOKEN": "a Databricks token, set per run for the driver from the sealed secret",
    # read on the SDK user's machine, not in the Function App
    "DURABLEML_AUTH_SCOPE": "the Entra ID scope the SDK asks tokens for, set where the SDK runs",
    # optional features whose default is right for this deployment; a user who wants them sets them
    "DURABLEML_RAY_ADDRESS": "only with DURABLEML_AMLCOMPUTE_BACKEND=ray; the user's Ray cluster",
    "DURABLEML_RAY_AUTH_HEADER": "a secret for the user's Ray cluster: a Key Vault reference the user adds",
    "DURABLEML_RAY_OPTIONS": "optional Ray options",
    "DURABLEML_ARM_ENDPOINT": "optional: Azure Resource Manager's endpoint (a sovereign cloud's); default public Azure",
    "DURABLEML_DATABRICKS_URL": "optional default Databricks workspace; targets name their own",
    "DURABLEML_WARM_INTERPRETERS": "optional tuning of warm step interpreters; the default suits the plan",
    "DURABLEML_STEP_TIMEOUT_SECONDS": "optional workspace default step timeout; unset means no limit, as in v1",
    "DURABLEML_STORAGE_OUTAGE_WINDOW_SECONDS": "optional; unset means 600 s (docs/design/faults.md)",
    "DURABLEML_STORAGE": "an alternative name for the service's storage connection; AzureWebJobsStorage__* is used",
    # tests and local development tools only
    "DURABLEML_SCHEDULE_CLOCK": "a fake clock file for tests",
    "DURABLEML_DBX_OUTCOME": "the local Databricks stand-in (durableml/devtools), not used in Azure",
    "DURABLEML_DBFS_ROOT": "the local Databricks stand-in's DBFS folder, not used in Azure",
}

# Env reads whose name is a variable, with the settings each can read.
DYNAMIC_READS = {
    "durableml/data/url_fetch.py": ("DURABLEML_URL_TIMEOUT", "DURABLEML_URL_MAX_BYTES"),
    "durableml/workspace_move.py": ("DURABLEML_IMPORT_<DATASTORE>_<SECRET>",),
}
OPTIONAL_DYNAMIC = {
    "DURABLEML_URL_TIMEOUT": "URL datasets' download timeout; the default suits the plan",
    "DURABLEML_URL_MAX_BYTES": "URL datasets' size cap; the default suits the plan",
    "DURABLEML_IMPORT_<DATASTORE>_<SECRET>": "read by `durableml import` on the user's machine (a datastore's "
    "secret for the import), never by the Function App",
}

# Settings whose name says "connection string"/"key" but whose value holds no secret, and why.
NOT_SECRETS = {
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "ingestion endpoint and instrumentation key, which is an id, not a "
    "credential: local auth is off, telemetry needs the identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING)",
    "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": "endpoint, Authentication=ManagedIdentity and the identity's client id",
    "DURABLEML_KEY_VAULT_URI": "the vault's URI; secrets stay in the vault",
    "AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName": "the NAME of the setting "
    "with the scheduler's connection (DURABLE_TASK_SCHEDULER_CONNECTION_STRING), not a connection",
}

ROLE_NAMES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
    "b9a307c4-5aa3-4b52-ba60-2b17c136cd7b": "Container Apps Jobs Operator",
    "0ad04412-c4d5-4796-b79c-f76d14c8d402": "Durable Task Data Contributor",
    "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a": "Storage Queue Data Message Sender",
}

# What the app's identity (the one in AzureWebJobsStorage__clientId and AZURE_CLIENT_ID) must hold, on what.
APP_IDENTITY_ROLES = {
    ("Microsoft.Storage/storageAccounts", "Storage Blob Data Owner"),
    ("Microsoft.Storage/storageAccounts", "Storage Queue Data Contributor"),
    ("Microsoft.Storage/storageAccounts", "Storage Table Data Contributor"),
    ("Microsoft.Insights/components", "Monitoring Metrics Publisher"),
    ("Microsoft.KeyVault/vaults", "Key Vault Secrets Officer"),
    ("Microsoft.App/jobs", "Container Apps Jobs Operator"),
    ("Microsoft.DurableTask/schedulers", "Durable Task Data Contributor"),
}
APP_IDENTITY = "identity.outputs.principalId"
# What the step-runner job's identity holds: user code in a step runs with it, so nothing beyond the step's needs.
STEP_IDENTITY_ROLES = {
    ("Microsoft.ContainerRegistry/registries", "AcrPull"),
    ("Microsoft.Storage/storageAccounts", "Storage Blob Data Contributor"),
}
STEP_IDENTITY = "stepIdentity.outputs.principalId"

# Azure's naming rules (length, characters) for each name main.bicep builds.
LOWER_HYPHEN = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
NAME_RULES: dict[str, tuple[int, int, str]] = {
    "resourceGroup": (1, 90, r"[-\w.()]*[-\w()]"),
    "identity": (3, 128, r"[A-Za-z0-9][-\w]*"),
    "stepIdentity": (3, 128, r"[A-Za-z0-9][-\w]*"),
    "storage": (3, 24, r"[a-z0-9]+"),
    "logAnalytics": (4, 63, r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]"),
    "appInsights": (1, 255, r"[^%&\\?/]+"),
    "plan": (1, 60, r"[A-Za-z0-9][A-Za-z0-9-]*"),
    "functionApp": (2, 60, r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"),
    "keyVault": (3, 24, r"[A-Za-z](?:[A-Za-z0-9]|-(?!-))*[A-Za-z0-9]"),
    "registry": (5, 50, r"[A-Za-z0-9]+"),
    "containerEnv": (2, 60, r"[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]"),
    "stepJob": (2, 32, r"[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]"),
    "scheduler": (3, 64, r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]"),
    "taskHub": (3, 45, r"[A-Za-z][A-Za-z0-9]*"),  # also a valid Azure Storage task hub name
    "systemTopic": (3, 128, r"[A-Za-z0-9-]+"),
    "blobEventsSubscription": (3, 64, r"[A-Za-z0-9-]+"),
    "deploymentContainer": (3, 63, r"[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]"),
    "blobEventsQueue": (3, 63, r"[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]"),
}
ENVIRONMENT_NAMES = ["a", "dev", "my-env-01", "UPPER-Case-9", "x" * 64, "-".join(["durableml"] * 6)[:64], "9-" * 32]
LOCATIONS = ["eastus", "swedencentral", "australiaeast"]


def test_the_checkov_pin_is_the_same_in_pyproject_and_requirements_infra() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    lines = (ROOT / "requirements-infra.txt").read_text().splitlines()
    assert [x for x in lines if x.strip() and not x.startswith("#")] == extras["infra"]
    pycep = next(x for x in extras["dev"] if x.startswith("pycep-parser=="))
    requires = subprocess.run(
        [str(CHECKOV.parent / "python"), "-m", "pip", "show", "checkov", "pycep-parser"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert f"Version: {pycep.split('==')[1]}" in requires, "checkov's venv has another pycep-parser than dev's"


@pytest.mark.parametrize("path", bicep.bicep_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_bicep_file_parses(path: Path) -> None:
    parsed = bicep.parse(path)
    assert parsed.get("resources") or parsed.get("modules"), f"{path} declares nothing"


# ------------------------------------------------------------------ checkov


def _checkov(directory: Path, *extra: str) -> subprocess.Popen[str]:
    assert CHECKOV.is_file(), f"checkov is not installed at {CHECKOV}: run scripts/setup.sh"
    command = [str(CHECKOV), "-d", str(directory), "--framework", "bicep", "dockerfile", *extra]
    command += ["--skip-download", "-o", "json"]  # (--quiet would leave the passed and skipped checks out)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _results(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=600)
    assert process.returncode in (0, 1), f"checkov exited {process.returncode}:\n{err[-3000:]}"
    reports = json.loads(out)
    reports = reports if isinstance(reports, list) else [reports]
    merged: dict[str, Any] = {"failed": [], "skipped": [], "passed": 0, "parsing_errors": 0, "types": set()}
    for report in reports:
        merged["failed"] += report["results"].get("failed_checks", [])
        merged["skipped"] += report["results"].get("skipped_checks", [])
        merged["passed"] += report["summary"]["passed"]
        merged["parsing_errors"] += report["summary"]["parsing_errors"]
        merged["types"].add(report["check_type"])
    merged["errors"] = [line for line in err.splitlines() if "Failed to run check" in line]
    return merged


@pytest.fixture(scope="module")
def checkov_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """checkov on infra/ + the Dockerfile as they are, and on a copy with every skip comment removed (both at
    once: each run takes some 20 s)."""
    work = tmp_path_factory.mktemp("checkov")
    shutil.copytree(ROOT / "infra", work / "as-is" / "infra")
    shutil.copy2(ROOT / "Dockerfile", work / "as-is" / "Dockerfile")
    stripped = work / "no-skips"
    shutil.copytree(work / "as-is", stripped)
    for path in stripped.rglob("*"):
        if path.is_file() and path.suffix in (".bicep", "") and path.name != "postdeploy.sh":
            kept = [line for line in path.read_text().splitlines(keepends=True) if "checkov:skip=" not in line]
            path.write_text("".join(kept))
    runs = [_checkov(work / "as-is"), _checkov(stripped)]
    try:
        return _results(runs[0]), _results(runs[1])
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
            run.communicate()


def test_checkov_reports_no_failed_checks(checkov_runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    result, _ = checkov_runs
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}" for c in result["failed"]]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert result["parsing_errors"] == 0
    assert not result["errors"], "checkov could not run some checks:\n" + "\n".join(result["errors"])
    assert result["passed"] >= 20, result  # it did look at the resources
    assert result["types"] == {"bicep", "dockerfile"}, result["types"]


def test_every_checkov_skip_has_a_reason_and_silences_a_real_failure(
    checkov_runs: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    result, without_skips = checkov_runs
    assert result["skipped"], "no skips were found: the skip comments are not read"
    for skip in result["skipped"]:
        reason = skip.get("check_result", {}).get("suppress_comment", "")
        assert len(reason) >= 30 and reason != "No comment provided", f"{skip['check_id']} skipped without a reason"
    really_failing = {(c["check_id"], c["resource"]) for c in without_skips["failed"]}
    needless = sorted({(c["check_id"], c["resource"]) for c in result["skipped"]} - really_failing)
    assert not needless, f"these skips silence checks that pass anyway; remove them: {needless}"


# ------------------------------------------------------------------ app settings


def test_every_setting_the_code_reads_is_set_by_the_bicep_or_listed_with_a_reason() -> None:
    reads, dynamic = bicep.settings_read_by_code()
    unlisted = sorted({line.rsplit(":", 1)[0] for line in dynamic} - set(DYNAMIC_READS))
    assert not unlisted, f"environment reads whose name is not a constant; list what they read: {dynamic}"
    wanted = set(reads) | {name for names in DYNAMIC_READS.values() for name in names}
    assert {"DURABLEML_AUTH", "DURABLEML_STATE_DIR", "AzureWebJobsStorage"} <= wanted, "the code scan found too little"
    settings = set(bicep.app_settings()) | set(bicep.job_environment())  # the node runs in the job's container
    missing = []
    for name in sorted(wanted):
        if name in settings or name in NOT_APP_SETTINGS or name in OPTIONAL_DYNAMIC:
            continue
        if name == "AzureWebJobsStorage":  # an identity-based connection: the host reads <name>__*
            continue
        missing.append(f"{name} (read in {', '.join(reads.get(name, ['a dynamic read']))})")
    assert not missing, "settings the code reads that the Bicep does not set:\n" + "\n".join(missing)


def test_storage_connection_is_identity_based_as_the_functions_host_expects() -> None:
    settings = bicep.app_settings()
    assert "AzureWebJobsStorage" not in settings  # no connection string at all
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    for service in ("blob", "queue", "table"):
        assert settings[f"AzureWebJobsStorage__{service}ServiceUri"] == f"{service}Endpoint"
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"  # DefaultAzureCredential picks the same identity
    assert bicep.job_environment()["AZURE_CLIENT_ID"] == "identityClientId"
    job = {k: bicep.text(v) for k, v in bicep.body(bicep.main()["modules"]["stepJob"])["params"].items()}
    assert job["identityClientId"] == "stepIdentity.outputs.clientId"  # the job runs as the step identity
    assert job["operatorPrincipalId"] == "identity.outputs.principalId"  # the app starts it
    passed = {k: bicep.text(v) for k, v in bicep.body(bicep.main()["modules"]["functionApp"])["params"].items()}
    assert passed["identityClientId"] == "identity.outputs.clientId"
    assert passed["blobEndpoint"] == "storage.outputs.blobEndpoint"
    storage = bicep.body(bicep.module("storage")["resources"]["storage"])["properties"]
    assert storage["allowSharedKeyAccess"] is False and storage["allowBlobPublicAccess"] is False
    assert storage["minimumTlsVersion"] == "TLS1_2"


def test_the_flex_consumption_app_and_its_durable_backend_switch() -> None:
    parsed = bicep.module("functionapp")
    plan = bicep.body(parsed["resources"]["plan"])
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"} and plan["properties"]["reserved"] is True
    config = bicep.body(parsed["resources"]["app"])["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert bicep.text(config["scaleAndConcurrency"]["instanceMemoryMB"]) == "instanceMemoryMB"
    main_params = bicep.main()["parameters"]
    assert main_params["alwaysReadyInstances"]["default"] == 0
    assert main_params["durableBackend"]["default"] == "azureStorage"
    # host.json stays on Azure Storage; the scheduler backend is app settings overriding it
    host = json.loads((ROOT / "host.json").read_text())
    assert "storageProvider" not in host["extensions"]["durableTask"]
    settings = bicep.app_settings()
    prefix = "AzureFunctionsJobHost__extensions__durableTask__"
    assert settings[prefix + "storageProvider__type"] == "azureManaged"
    assert settings[prefix + "storageProvider__connectionStringName"] == "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
    assert settings[prefix + "hubName"] == "taskHubName"
    scheduler_settings = bicep._setting_lists("schedulerSettings", parsed["variables"])
    assert {s["name"] for s in scheduler_settings} == {
        "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
        prefix + "storageProvider__type",
        prefix + "storageProvider__connectionStringName",
        prefix + "hubName",
    }
    assert "useScheduler ? schedulerSettings : []" in bicep.text(
        bicep.body(parsed["resources"]["app"])["properties"]["siteConfig"]["appSettings"]
    )


# ------------------------------------------------------------------ roles


def test_the_app_identity_holds_the_roles_the_code_needs_and_no_broader_ones() -> None:
    assignments = bicep.role_assignments()
    unknown = [a for a in assignments if a["role"] not in ROLE_NAMES]
    assert not unknown, f"role assignments of roles this test does not know (Owner? Contributor?): {unknown}"
    app = {(a["scope"], ROLE_NAMES[a["role"]]) for a in assignments if a["principal"] == APP_IDENTITY}
    assert app == APP_IDENTITY_ROLES, f"missing: {APP_IDENTITY_ROLES - app}; not needed: {app - APP_IDENTITY_ROLES}"
    assert all(a["principalType"] == "ServicePrincipal" for a in assignments if a["principal"] == APP_IDENTITY)
    step = {(a["scope"], ROLE_NAMES[a["role"]]) for a in assignments if a["principal"] == STEP_IDENTITY}
    assert step == STEP_IDENTITY_ROLES, (
        f"missing: {STEP_IDENTITY_ROLES - step}; not needed: {step - STEP_IDENTITY_ROLES}"
    )
    topic = [(a["scope"], ROLE_NAMES[a["role"]]) for a in assignments if a["principal"] == "topic.identity.principalId"]
    assert topic == [("Microsoft.Storage/storageAccounts", "Storage Queue Data Message Sender")]
    others = {a["principal"] for a in assignments} - {
        APP_IDENTITY,
        STEP_IDENTITY,
        "topic.identity.principalId",
        "principalId",
    }
    assert not others, others
    user = [ROLE_NAMES[a["role"]] for a in assignments if a["principal"] == "principalId"]
    assert user == ["Key Vault Secrets Officer"]


def test_each_role_is_explained_in_the_deploy_docs() -> None:
    docs = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for role in set(ROLE_NAMES.values()):
        assert role in docs, f"docs/deploy.md does not say why {role} is assigned"


# ------------------------------------------------------------------ secrets


def test_no_output_or_setting_holds_a_secret() -> None:
    for path in bicep.bicep_files():
        parsed = bicep.parse(path)
        calls = bicep.function_names(parsed)
        assert not {c for c in calls if c.startswith("list")}, f"{path.name} calls {calls}: keys would be read"
        assert not re.search(r"\blist\w*\(", path.read_text()), f"{path.name} reads keys"
        for name, output in (parsed.get("outputs") or {}).items():
            rendered = bicep.text(output["value"])
            assert not re.search(r"(?i)secret|password|accountkey|sharedaccess|sig=", name + rendered), (path, name)
            if path.name == "main.bicep":
                assert not re.search(r"(?i)key|secret|password|token|connection", name.replace("KEY_VAULT", "")), name
        for name, parameter in (parsed.get("parameters") or {}).items():
            assert not any(d.get("type") == "secure" for d in parameter["decorators"]), f"{path.name}: {name}"
    for name, value in bicep.app_settings().items():
        assert not re.search(r"(?i)accountkey|sharedaccesskey|sharedaccesssignature|sig=|password", value), name
        if re.search(r"(?i)key|secret|password|token|connection_?string", name):
            assert name in NOT_SECRETS, f"app setting {name} looks like a secret; use a Key Vault reference"
    for name, value in bicep.job_environment().items():
        assert not re.search(r"(?i)key|secret|password|token", name + value), name


# ------------------------------------------------------------------ names


@pytest.mark.parametrize("environment_name", ENVIRONMENT_NAMES)
def test_resource_names_respect_azure_rules_for_any_environment_name(environment_name: str) -> None:
    assert re.fullmatch(r"[A-Za-z0-9-]{1,64}", environment_name)  # what azd accepts (and the param's maxLength)
    parameters = bicep.main()["parameters"]["environmentName"]["decorators"]
    assert {"type": "max_length", "argument": 64} in parameters
    for location in LOCATIONS:
        names = bicep.resource_names(environment_name, location)
        assert set(names) == set(NAME_RULES), f"names without a rule in this test: {set(names) ^ set(NAME_RULES)}"
        for key, name in names.items():
            low, high, pattern = NAME_RULES[key]
            assert low <= len(name) <= high, f"{key} {name!r}: {len(name)} characters, Azure allows {low}-{high}"
            assert re.fullmatch(pattern, name), f"{key} {name!r} breaks Azure's character rule {pattern}"


def test_names_differ_between_environments_and_regions() -> None:
    a, b, c = (bicep.resource_names(*args) for args in [("dev", "eastus"), ("prod", "eastus"), ("dev", "westus3")])
    for key in ("storage", "keyVault", "registry", "functionApp"):  # globally unique names
        assert len({a[key], b[key], c[key]}) == 3, key


# ------------------------------------------------------------------ the other parts


def test_blob_created_events_reach_the_queue_the_app_is_told_about() -> None:
    parsed = bicep.module("eventgrid")
    topic = bicep.body(parsed["resources"]["topic"])
    assert topic["properties"]["topicType"] == "Microsoft.Storage.StorageAccounts"
    assert bicep.text(topic["properties"]["source"]) == "storage.id" and topic["identity"]["type"] == "SystemAssigned"
    subscription = bicep.body(parsed["resources"]["blobCreated"])["properties"]
    assert subscription["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    delivery = subscription["deliveryWithResourceIdentity"]
    assert delivery["identity"]["type"] == "SystemAssigned"
    assert delivery["destination"]["endpointType"] == "StorageQueue"
    assert bicep.text(delivery["destination"]["properties"]["queueName"]) == "queueName"
    events = bicep.body(bicep.main()["modules"]["events"])["params"]
    app = bicep.body(bicep.main()["modules"]["functionApp"])["params"]
    assert bicep.text(events["queueName"]) == bicep.text(app["blobEventsQueue"]) == "names.blobEventsQueue"
    assert bicep.app_settings()["DURABLEML_BLOB_EVENTS_QUEUE"] == "blobEventsQueue"
    storage = bicep.module("storage")
    assert bicep.text(bicep.body(storage["resources"]["eventsQueue"])["name"]) == "blobEventsQueue"


def test_key_vault_registry_monitoring_and_the_step_job_are_locked_down() -> None:
    vault = bicep.body(bicep.module("keyvault")["resources"]["vault"])["properties"]
    assert vault["enableRbacAuthorization"] is True and vault["enableSoftDelete"] is True
    assert "accessPolicies" not in vault
    registry = bicep.body(bicep.module("registry")["resources"]["registry"])["properties"]
    assert registry["adminUserEnabled"] is False and registry["anonymousPullEnabled"] is False
    monitoring = bicep.module("monitoring")["resources"]
    assert bicep.body(monitoring["appInsights"])["properties"]["DisableLocalAuth"] is True
    assert bicep.body(monitoring["logAnalytics"])["properties"]["features"]["disableLocalAuth"] is True
    job = bicep.body(bicep.module("containerjobs")["resources"]["job"])
    assert job["properties"]["configuration"]["triggerType"] == "Manual"
    (registry_login,) = job["properties"]["configuration"]["registries"]
    assert bicep.text(registry_login["identity"]) == "identityId" and "passwordSecretRef" not in registry_login
    assert job["identity"]["type"] == "UserAssigned"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile and 'durableml.compute.node"]' in dockerfile
    assert "USER runner" in dockerfile


def test_outputs_name_the_endpoint_and_the_studio() -> None:
    outputs = bicep.main()["outputs"]
    assert bicep.text(outputs["DURABLEML_ENDPOINT"]["value"]) == "functionApp.outputs.endpoint"
    assert "functionApp.outputs.id" in bicep.text(outputs["DURABLEML_STUDIO_URL"]["value"])
    app_outputs = bicep.module("functionapp")["outputs"]
    assert bicep.text(app_outputs["endpoint"]["value"]) == "https://${app.properties.defaultHostName}"
    parameters = json.loads((ROOT / "infra" / "main.parameters.json").read_text())["parameters"]
    declared = bicep.main()["parameters"]
    assert set(parameters) <= set(declared), set(parameters) - set(declared)
    for name, parameter in declared.items():  # safe defaults: only the environment's name and place are required
        assert parameter["default"] is not None or name in ("environmentName", "location"), name
