"""The DatabricksStep driver: one Databricks run through the official databricks-sdk, from submit to its end.

``python databricks_driver.py TASK_JSON [--input NAME PATH]... [--output NAME PATH]...``, with the workspace URL and the
personal access token in ``DURABLEML_DATABRICKS_HOST`` / ``DURABLEML_DATABRICKS_TOKEN`` (put there by the
Databricks compute backend, :mod:`durableml.compute.databricks`; the token is never printed).

The step runner has staged the inputs and prepared the outputs on local disk (their paths are the arguments).
The driver

1. uploads each input to DBFS (``dbfs:/durableml/jobs/<job>/inputs/<name>``, through the SDK's DBFS API) and,
   for ``python_script_name``, the step's source directory (``.../source``);
2. passes inputs and outputs as v1 does: to a notebook as widgets named after them (``dbutils.widgets.get
   ("input1")``), to a Python script or a JAR as parameters ``-input1 <path> -output1 <path>`` after the step's
   own; each path is a ``dbfs:/`` path (an output's path does not exist yet: the job writes it);
3. submits one task with ``jobs.submit`` (``idempotency_token`` derived from the step run id, so a retried or
   rerun submit finds the run already started), polls ``jobs.get_run`` and prints each state change;
4. at the end prints ``jobs.get_run_output``'s logs (a notebook's ``dbutils.notebook.exit`` value too); a run
   that did not succeed prints its ``error_trace`` and last the line ``Databricks run <id> ended <STATE>:
   <error>``, and exits 1 (the step's failure reason); a successful one downloads each output from DBFS into
   its local path, which the step runner uploads to the datastore;
5. on SIGTERM (the step is canceled) calls ``jobs.cancel_run``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Optional

USAGE = "usage: databricks_driver.py TASK_JSON [--input NAME PATH]... [--output NAME PATH]..."
HOST_ENV, TOKEN_ENV = "DURABLEML_DATABRICKS_HOST", "DURABLEML_DATABRICKS_TOKEN"
POLL_S = (0.5, 1.0, 2.0, 3.0)
_TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
_canceled = threading.Event()  # set by SIGTERM: the step is canceled (the runner kills us 3 s later)


class _Failed(Exception):
    pass


def _parse(args: list[str]) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    if not args:
        raise _Failed(USAGE)
    task, rest = dict(json.loads(args[0])), args[1:]
    inputs: dict[str, str] = {}
    outputs: dict[str, str] = {}
    while rest:
        flag = rest.pop(0)
        if flag in ("--input", "--output") and len(rest) >= 2:
            (inputs if flag == "--input" else outputs)[rest[0]] = rest[1]
            rest = rest[2:]
        else:
            raise _Failed(USAGE)
    return task, inputs, outputs


def idempotency_token(job_id: str) -> str:
    """The runs/submit ``idempotency_token`` of a step run: the same on every attempt (64 hex digits)."""
    return hashlib.sha256(f"durableml step run {job_id}".encode()).hexdigest()


def dbfs_base(job_id: str) -> str:
    """Where a step run's data and source go on DBFS."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", job_id)
    return f"dbfs:/durableml/jobs/{safe}"


def _client() -> Any:
    from databricks.sdk import WorkspaceClient

    host, token = os.environ.get(HOST_ENV, ""), os.environ.get(TOKEN_ENV, "")
    if not host or not token:
        raise _Failed(f"the job has no Databricks workspace URL or access token ({HOST_ENV}, {TOKEN_ENV})")
    return WorkspaceClient(host=host, token=token, auth_type="pat")


def _upload(w: Any, local: Path, remote: str) -> int:
    """Upload a file or a folder's files; returns how many files went up."""
    if local.is_file():
        with open(local, "rb") as handle:
            w.dbfs.upload(remote, handle, overwrite=True)
        return 1
    w.dbfs.mkdirs(remote)
    count = 0
    for path in sorted(local.rglob("*")):
        rel = path.relative_to(local).as_posix()
        if path.is_dir():
            w.dbfs.mkdirs(f"{remote}/{rel}")
        elif path.is_file():
            with open(path, "rb") as handle:
                w.dbfs.upload(f"{remote}/{rel}", handle, overwrite=True)
            count += 1
    return count


def _download(w: Any, remote: str, local: Path) -> int:
    """Download a DBFS file or folder to ``local``; 0 when nothing is there."""
    from databricks.sdk.errors import NotFound

    try:
        status = w.dbfs.get_status(remote)
    except NotFound:
        return 0
    if not status.is_dir:
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(w.dbfs.download(remote).read())
        return 1
    local.mkdir(parents=True, exist_ok=True)
    root = remote.removeprefix("dbfs:").rstrip("/")
    count = 0
    for info in w.dbfs.list(remote, recursive=True):
        rel = str(info.path).removeprefix("dbfs:").removeprefix(root).lstrip("/")
        if info.is_dir or not rel or ".." in Path(rel).parts:
            continue
        target = local / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(w.dbfs.download(f"dbfs:{root}/{rel}").read())
        count += 1
    return count


def _stage(w: Any, task: dict[str, Any], base: str, inputs: dict[str, str], outputs: dict[str, str]) -> dict[str, str]:
    """Upload the inputs (and the source directory); returns name -> the DBFS path the job gets."""
    paths: dict[str, str] = {}
    for name, local in inputs.items():
        path = Path(local)
        remote = f"{base}/inputs/{name}"
        if path.is_file():
            remote = f"{remote}/{path.name}"
        count = _upload(w, path, remote) if path.exists() else 0
        print(f"[durableml] input {name!r}: {count} file(s) uploaded to {remote}", flush=True)
        paths[name] = remote
    if outputs:
        w.dbfs.mkdirs(f"{base}/outputs")
    for name in outputs:
        paths[name] = f"{base}/outputs/{name}"
    if task["target"]["kind"] == "python_script_name":
        count = _upload(w, Path.cwd(), f"{base}/source")
        print(f"[durableml] source directory: {count} file(s) uploaded to {base}/source", flush=True)
    return paths


def _check_cluster(w: Any, task: dict[str, Any]) -> None:
    cluster = task.get("cluster") or {}
    cluster_id = cluster.get("existingClusterId")
    if not cluster_id or cluster.get("permitClusterRestart") is not False:
        return
    state = w.clusters.get(cluster_id).state
    if state is not None and state.value != "RUNNING":
        raise _Failed(
            f"cluster {cluster_id} is {state.value} and permit_cluster_restart is False: start the cluster, "
            "or allow durableml to start it (permit_cluster_restart=True)"
        )


def _run(w: Any, task: dict[str, Any], inputs: dict[str, str], outputs: dict[str, str]) -> int:
    from durableml.runner.databricks_task import submit_arguments

    job_id = os.environ.get("AZUREML_RUN_ID", "")
    base = dbfs_base(job_id)
    _check_cluster(w, task)
    paths = _stage(w, task, base, inputs, outputs)
    arguments = submit_arguments(task, base, {n: paths[n] for n in inputs}, {n: paths[n] for n in outputs})
    waiter = w.jobs.submit(idempotency_token=idempotency_token(job_id), **arguments)
    run_id = int(waiter.response.run_id)
    run = w.jobs.get_run(run_id)
    print(f"[durableml] Databricks run {run_id}: {run.run_page_url or ''}", flush=True)
    run = _wait(w, run_id)
    return _finish(w, run, base, outputs)


def _wait(w: Any, run_id: int) -> Any:
    seen, polls, cancel_sent = "", 0, False
    while True:
        if _canceled.is_set() and not cancel_sent:
            print(f"[durableml] canceling Databricks run {run_id}", flush=True)
            w.jobs.cancel_run(run_id)
            cancel_sent = True
        run = w.jobs.get_run(run_id)
        state = run.state.life_cycle_state.value if run.state and run.state.life_cycle_state else "PENDING"
        if state != seen:
            print(f"[durableml] Databricks run {run_id}: {state}", flush=True)
            seen = state
        if state in _TERMINAL:
            return run
        _canceled.wait(0.2 if cancel_sent else POLL_S[min(polls, len(POLL_S) - 1)])
        polls += 1


def _finish(w: Any, run: Any, base: str, outputs: dict[str, str]) -> int:
    task_run = (run.tasks or [run])[0]
    output = w.jobs.get_run_output(task_run.run_id)
    if output.logs:
        print(output.logs, end="" if output.logs.endswith("\n") else "\n", flush=True)
    if output.notebook_output and output.notebook_output.result is not None:
        print(f"[durableml] notebook result: {output.notebook_output.result}", flush=True)
    result = run.state.result_state.value if run.state and run.state.result_state else run.state.life_cycle_state.value
    if result != "SUCCESS":
        if output.error_trace:
            print(output.error_trace.rstrip(), file=sys.stderr)
        reason = output.error or (run.state.state_message if run.state else "") or "no error was reported"
        print(f"Databricks run {run.run_id} ended {result}: {reason}", file=sys.stderr, flush=True)
        return 1
    for name, local in outputs.items():
        count = _download(w, f"{base}/outputs/{name}", Path(local))
        print(f"[durableml] output {name!r}: {count} file(s) downloaded from {base}/outputs/{name}", flush=True)
    return 0


def _on_sigterm(signum: int, frame: Any) -> None:
    _canceled.set()


def main(argv: Optional[list[str]] = None) -> int:
    """Run the step's Databricks task; 0 when it succeeded."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        task, inputs, outputs = _parse(list(sys.argv[1:] if argv is None else argv))
        return _run(_client(), task, inputs, outputs)
    except _Failed as exc:
        print(f"DatabricksStep failed: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
