"""DataTransferStep + DatabricksStep + PythonScriptStep offline, on a loopback Databricks workspace, in one command.

    python examples/databricks/run.py [--keep-running]

Starts the loopback Databricks workspace (``python -m durableml.devtools.databricks_jobs``: the Jobs API and DBFS
on 127.0.0.1, each task run by a local Spark) with a fresh access token and the notebooks of
``project/notebooks``, then durableml with ``DURABLEML_DATABRICKS_URL`` naming that workspace, and runs
``project/pipeline.py``: v1 code, run with the ``azureml`` alias, that copies the day's sales from the landing folder
into PipelineData with a DataTransferStep (on a DataFactoryCompute), attaches the workspace as a
DatabricksCompute (``attach_configuration(resource_group, workspace_name, access_token)``), runs a notebook that
reads its input and parameter as widgets, a Spark script that totals the sales into PipelineData, and a
PythonScriptStep that writes the report downloaded to ``results/``. Needs Java 17 and pyspark (scripts/setup.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from durableml.launcher import LauncherError, LocalDurableml  # noqa: E402

STATE = REPO / ".funchost" / "databricks"


def workspace_token() -> str:
    """The loopback workspace's personal access token: made on the first run, kept (0600) for the next ones, as the
    compute target attached on the first run keeps it."""
    path = STATE / "workspace" / "token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(f"dapi{secrets.token_hex(16)}")
    return path.read_text().strip()


def start_workspace(token: str) -> tuple[subprocess.Popen[bytes], str]:
    """The loopback workspace (its own process), and its URL once it listens."""
    root = STATE / "workspace"
    root.mkdir(parents=True, exist_ok=True)
    log = root / "server.log"
    command = [sys.executable, "-m", "durableml.devtools.databricks_jobs", "--root", str(root),
               "--workspace", str(HERE / "project" / "notebooks")]  # fmt: skip
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env={**os.environ, "DURABLEML_DATABRICKS_TOKEN": token}, stdout=output,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        first = log.read_text().partition("\n")
        if first[1]:
            return process, str(json.loads(first[0])["url"])
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"the loopback Databricks workspace did not start; see {log}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-running", action="store_true", help="leave durableml and the workspace running")
    args = parser.parse_args()
    token = workspace_token()
    workspace, url = start_workspace(token)
    print(f"loopback Databricks workspace at {url} (notebooks: project/notebooks)", flush=True)
    service = LocalDurableml(STATE / "durableml", env={"DURABLEML_DATABRICKS_URL": url})
    try:
        service.check()
        print(f"starting durableml (funchost + Azurite); log: {service.log_path}", flush=True)
        service.start()
    except LauncherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        workspace.terminate()
        return 1
    print(f"durableml is ready at {service.base_url}\n", flush=True)
    try:
        service.note_config(service.write_config(HERE / "project"))
        shutil.rmtree(HERE / "results", ignore_errors=True)  # this run's report only
        env = {**os.environ, "DATABRICKS_ACCESS_TOKEN": token}
        command = [sys.executable, "-m", "durableml.compat", "pipeline.py"]
        return subprocess.run(command, cwd=HERE / "project", env=env).returncode
    finally:
        if args.keep_running:
            print(f"\ndurableml keeps running at {service.base_url}, the workspace at {url} (pid {workspace.pid})")
        else:
            service.stop()
            workspace.terminate()
            workspace.wait(timeout=30)


if __name__ == "__main__":
    raise SystemExit(main())
