"""The runs of the loopback Databricks server: each submitted task runs as a local ``spark-submit`` process.

* ``spark_python_task``: ``spark-submit --master local[*] spark_host.py python <python_file> <parameters>``;
* ``spark_jar_task``: ``spark-submit --class <main_class_name> --jars <the other jars> <first jar> <parameters>``
  with the task's ``jar`` libraries;
* ``notebook_task``: ``spark-submit spark_host.py notebook <source> <base_parameters.json>``, the source read
  from the server's workspace folder (``<notebook_path>.py``).

DBFS is a folder: a ``dbfs:/x`` path (a python file, a jar, an init script, and any parameter that is one) is the
local ``file:`` path of ``x`` in it, and so is a ``/dbfs/x`` parameter. ``spark_conf`` becomes ``--conf``;
``spark_env_vars`` the process environment (``PYSPARK_PYTHON``, which points into a Databricks image, excepted);
a new cluster's size is not simulated (``local[*]``); ``init_scripts`` on DBFS run with bash first. PyPI
libraries must be installed already (nothing is downloaded), Maven and CRAN libraries are refused. A run's
process group is killed on cancel and when ``timeout_seconds`` pass. Run ids count up from 1 per server;
each run has one task run (the next id).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from durableml.devtools import spark_host

__all__ = ["Runs", "RunRecord", "LoopbackError"]

LOG_LIMIT = 5 * 1024 * 1024


class LoopbackError(Exception):
    """A request the server refuses: ``status`` and Databricks' ``error_code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@dataclass
class RunRecord:
    """One submitted run (and its single task run, ``run_id + 1``)."""

    run_id: int
    run_name: str
    task: dict[str, Any]
    timeout: Optional[float]
    dir: Path
    life_cycle_state: str = "PENDING"
    result_state: Optional[str] = None
    state_message: str = ""
    start_time: int = field(default_factory=lambda: int(time.time() * 1000))
    end_time: int = 0
    pid: Optional[int] = None
    canceled: bool = False
    outcome: dict[str, Any] = field(default_factory=dict)

    @property
    def task_run_id(self) -> int:
        return self.run_id + 1

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"life_cycle_state": self.life_cycle_state, "state_message": self.state_message}
        if self.result_state:
            state["result_state"] = self.result_state
        return state


class Runs:
    """Every run of one server; thread-safe."""

    def __init__(self, root: Path, workspace: Path, base_url: str) -> None:
        self.root, self.workspace, self.base_url = root, workspace, base_url
        self.dbfs = root / "dbfs"
        self.dbfs.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._runs: dict[int, RunRecord] = {}
        self._tokens: dict[str, int] = {}
        self._next = 1
        self._load()

    def _load(self) -> None:
        """The runs of an earlier server on this folder: ended ones as they ended, the others lost (INTERNAL_ERROR);
        their idempotency tokens still name them, and run ids go on counting."""
        runs = self.root / "runs"
        for folder in sorted(runs.iterdir() if runs.is_dir() else [], key=lambda p: p.name):
            request = _read_json(folder / "request.json")
            if not folder.name.isdigit() or not request.get("tasks"):
                continue
            run_id = int(folder.name)
            record = RunRecord(run_id, str(request.get("run_name") or "Untitled"), request["tasks"][0], None, folder)
            ended = _read_json(folder / "state.json")
            record.life_cycle_state = str(ended.get("life_cycle_state") or "INTERNAL_ERROR")
            record.result_state = ended.get("result_state") or "FAILED"
            record.state_message = str(ended.get("state_message") or "the loopback server stopped while the run ran")
            record.outcome = dict(ended.get("outcome") or {"error": record.state_message})
            record.end_time = int(ended.get("end_time") or folder.stat().st_mtime * 1000)
            self._runs[run_id] = record
            if request.get("idempotency_token"):
                self._tokens[str(request["idempotency_token"])] = run_id
            self._next = max(self._next, run_id + 2)  # a server restarted on the same folder goes on counting

    # -- the API ---------------------------------------------------------------------------------
    def submit(self, body: dict[str, Any]) -> int:
        """Start the run of a runs/submit body (one task); the same ``idempotency_token`` gives the same run."""
        tasks = body.get("tasks") or []
        if len(tasks) != 1:
            raise LoopbackError(
                400, "INVALID_PARAMETER_VALUE", f"the loopback server runs one task per run, got {len(tasks)}"
            )
        task = tasks[0]
        kinds = [k for k in ("notebook_task", "spark_python_task", "spark_jar_task") if task.get(k)]
        if len(kinds) != 1:
            others = sorted(k for k in task if k.endswith("_task") and k not in kinds)
            raise LoopbackError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"the loopback server runs notebook_task, spark_python_task or spark_jar_task; got {others or 'none'}",
            )
        if not task.get("existing_cluster_id") and not task.get("new_cluster"):
            raise LoopbackError(400, "INVALID_PARAMETER_VALUE", "the task needs existing_cluster_id or new_cluster")
        timeouts = [t for t in (body.get("timeout_seconds"), task.get("timeout_seconds")) if t]
        with self._lock:
            token = body.get("idempotency_token")
            if token and token in self._tokens:
                return self._tokens[token]
            run_id, self._next = self._next, self._next + 2
            record = RunRecord(
                run_id,
                str(body.get("run_name") or "Untitled"),
                task,
                float(min(timeouts)) if timeouts else None,
                self.root / "runs" / str(run_id),
            )
            record.dir.mkdir(parents=True)
            (record.dir / "request.json").write_text(json.dumps(body, indent=1), encoding="utf-8")
            self._runs[run_id] = record
            if token:
                self._tokens[token] = run_id
        threading.Thread(target=self._execute, args=(record,), name=f"run-{run_id}", daemon=True).start()
        return run_id

    def get(self, run_id: int) -> dict[str, Any]:
        """runs/get: the run with its one task."""
        record = self._find(run_id)
        with self._lock:
            task_key = str(record.task.get("task_key") or "task")
            times = {"start_time": record.start_time, **({"end_time": record.end_time} if record.end_time else {})}
            task = {
                "run_id": record.task_run_id,
                "task_key": task_key,
                "state": record.state(),
                "run_page_url": self.page(record.task_run_id),
                **times,
                **{
                    k: v
                    for k, v in record.task.items()
                    if k.endswith("_task") or k in ("existing_cluster_id", "libraries")
                },
            }
            run = {
                "run_id": record.run_id,
                "run_name": record.run_name,
                "run_type": "SUBMIT_RUN",
                "state": record.state(),
                "run_page_url": self.page(record.run_id),
                "tasks": [task],
                **times,
            }
            if run_id == record.task_run_id:
                return {**task, "run_name": record.run_name, "run_type": "SUBMIT_RUN"}
            return run

    def output(self, run_id: int) -> dict[str, Any]:
        """runs/get-output of a task run (a run with tasks is refused, as Databricks does)."""
        record = self._find(run_id)
        if run_id == record.run_id:
            raise LoopbackError(
                400,
                "INVALID_PARAMETER_VALUE",
                "Retrieving the output of runs with multiple tasks is not supported. Please retrieve "
                "the output of each individual task run instead.",
            )
        answer: dict[str, Any] = {"metadata": self.get(run_id)}
        if "notebook_task" not in record.task:
            log = record.dir / "driver.log"
            data = log.read_bytes() if log.exists() else b""
            answer.update(
                logs=data[-LOG_LIMIT:].decode("utf-8", errors="replace"), logs_truncated=len(data) > LOG_LIMIT
            )
        outcome = record.outcome
        if "notebook_result" in outcome:
            answer["notebook_output"] = {"result": outcome["notebook_result"], "truncated": False}
        for key in ("error", "error_trace"):
            if outcome.get(key):
                answer[key] = outcome[key]
        return answer

    def cancel(self, run_id: int) -> None:
        """runs/cancel: kill the run's processes; it ends TERMINATED / CANCELED."""
        record = self._find(run_id)
        with self._lock:
            if record.life_cycle_state in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"):
                return
            record.canceled = True
            record.life_cycle_state = "TERMINATING"
            pid = record.pid
        if pid is not None:  # the answer does not wait for the processes to end
            threading.Thread(target=_kill_group, args=(pid,), name=f"cancel-{run_id}", daemon=True).start()

    def page(self, run_id: int) -> str:
        return f"{self.base_url}/#job/runs/{run_id}"

    def stop_all(self) -> None:
        """Kill every running run (the server stops)."""
        for record in list(self._runs.values()):
            if record.pid is not None and record.life_cycle_state not in ("TERMINATED", "INTERNAL_ERROR"):
                _kill_group(record.pid)

    def _find(self, run_id: int) -> RunRecord:
        record = self._runs.get(run_id) or self._runs.get(run_id - 1)
        if record is None:
            raise LoopbackError(400, "INVALID_PARAMETER_VALUE", f"Run {run_id} does not exist.")
        return record

    # -- running ---------------------------------------------------------------------------------
    def _execute(self, record: RunRecord) -> None:
        try:
            command, env = self._command(record)
            self._init_scripts(record, env)
        except (LoopbackError, OSError, ValueError) as exc:
            self._end(
                record,
                "INTERNAL_ERROR" if isinstance(exc, OSError) else "TERMINATED",
                "FAILED",
                str(exc),
                {"error": str(exc)},
            )
            return
        log = open(record.dir / "driver.log", "ab")  # noqa: SIM115 - closed when the process ends
        with self._lock:
            if record.canceled:
                log.close()
                self._end(record, "TERMINATED", "CANCELED", "Run cancelled.", {})
                return
            process = subprocess.Popen(
                command,
                cwd=record.dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            record.pid, record.life_cycle_state = process.pid, "RUNNING"
        try:
            code = process.wait(timeout=record.timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            code, timed_out = process.wait(), True
        finally:
            log.close()
        outcome = _read_json(record.dir / "outcome.json")
        if record.canceled:
            self._end(record, "TERMINATED", "CANCELED", "Run cancelled.", outcome)
        elif timed_out:
            self._end(
                record,
                "TERMINATED",
                "TIMEDOUT",
                f"Run timed out after {record.timeout:g} seconds.",
                {"error": f"Run timed out after {record.timeout:g} seconds."},
            )
        elif code == 0:
            self._end(record, "TERMINATED", "SUCCESS", "", outcome)
        else:
            if not outcome.get("error"):
                outcome = _jvm_failure(record.dir / "driver.log", code)
            self._end(record, "TERMINATED", "FAILED", "Workload failed, see run output for details", outcome)

    def _end(self, record: RunRecord, life: str, result: str, message: str, outcome: dict[str, Any]) -> None:
        with self._lock:
            record.outcome = outcome
            record.life_cycle_state, record.result_state, record.state_message = life, result, message
            record.end_time = int(time.time() * 1000)
            ended = {"life_cycle_state": life, "result_state": result, "state_message": message, "outcome": outcome,
                     "end_time": record.end_time}  # fmt: skip
            (record.dir / "state.json").write_text(json.dumps(ended), encoding="utf-8")

    def local(self, path: str) -> Path:
        """The local file of a ``dbfs:/`` path (or a ``/dbfs/`` FUSE path); refuses paths that leave DBFS."""
        rel = (
            path.removeprefix("dbfs:").removeprefix("/dbfs/").lstrip("/")
            if path.startswith(("dbfs:", "/dbfs/"))
            else None
        )
        if rel is None:
            raise LoopbackError(400, "INVALID_PARAMETER_VALUE", f"{path!r} is not a DBFS path (dbfs:/...)")
        target = (self.dbfs / rel).resolve()
        if target != self.dbfs.resolve() and self.dbfs.resolve() not in target.parents:
            raise LoopbackError(400, "INVALID_PARAMETER_VALUE", f"{path!r} leaves DBFS")
        return target

    def _param(self, value: Any) -> str:
        text = str(value)
        if text.startswith("dbfs:/") or text.startswith("/dbfs/"):
            return self.local(text).as_uri()
        return text

    def _command(self, record: RunRecord) -> tuple[list[str], dict[str, str]]:
        task = record.task
        cluster = task.get("new_cluster") or {}
        env = {
            **os.environ,
            **{k: str(v) for k, v in (cluster.get("spark_env_vars") or {}).items() if k != "PYSPARK_PYTHON"},
        }
        env.update(
            PYSPARK_PYTHON=sys.executable,
            PYSPARK_DRIVER_PYTHON=sys.executable,
            DURABLEML_DBFS_ROOT=str(self.dbfs),
            DURABLEML_DBX_OUTCOME=str(record.dir / "outcome.json"),
        )
        env.pop("DURABLEML_DATABRICKS_TOKEN", None)
        jars, py_files = self._libraries(task.get("libraries") or [])
        submit = [
            _spark_submit(),
            "--master",
            "local[*]",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.log.level=WARN",
            "--conf",
            f"spark.sql.warehouse.dir={record.dir / 'warehouse'}",
            # DBFS keeps no .crc files beside the data: neither does this one
            "--conf",
            "spark.hadoop.fs.file.impl=org.apache.hadoop.fs.RawLocalFileSystem",
        ]
        for key, value in sorted((cluster.get("spark_conf") or {}).items()):
            submit += ["--conf", f"{key}={value}"]
        if py_files:
            env["PYTHONPATH"] = os.pathsep.join([*py_files, env.get("PYTHONPATH", "")])
        host = spark_host.__file__
        if task.get("spark_python_task"):
            spec = task["spark_python_task"]
            script = self.local(str(spec["python_file"]))
            if not script.is_file():
                raise LoopbackError(
                    400, "INVALID_PARAMETER_VALUE", f"python_file {spec['python_file']} does not exist in DBFS"
                )
            params = [self._param(p) for p in spec.get("parameters") or []]
            return [*submit, *(["--jars", ",".join(jars)] if jars else []), host, "python", str(script), *params], env
        if task.get("spark_jar_task"):
            spec = task["spark_jar_task"]
            if not jars:
                raise LoopbackError(
                    400, "INVALID_PARAMETER_VALUE", "a spark_jar_task needs a jar library (libraries: [{jar: ...}])"
                )
            params = [self._param(p) for p in spec.get("parameters") or []]
            extra = ["--jars", ",".join(jars[1:])] if len(jars) > 1 else []
            return [*submit, "--class", str(spec["main_class_name"]), *extra, jars[0], *params], env
        spec = task["notebook_task"]
        source = self._notebook(str(spec["notebook_path"]))
        widgets = {str(k): self._param(v) for k, v in (spec.get("base_parameters") or {}).items()}
        params_file = record.dir / "parameters.json"
        params_file.write_text(json.dumps(widgets), encoding="utf-8")
        return [*submit, host, "notebook", str(source), str(params_file)], env

    def _notebook(self, notebook_path: str) -> Path:
        rel = notebook_path.removeprefix("/Workspace").lstrip("/")
        base = (self.workspace / rel).resolve()
        if self.workspace.resolve() not in base.parents:
            raise LoopbackError(400, "INVALID_PARAMETER_VALUE", f"notebook_path {notebook_path!r} leaves the workspace")
        for candidate in (base.with_name(base.name + ".py"), base):
            if candidate.is_file():
                return candidate
        raise LoopbackError(400, "RESOURCE_DOES_NOT_EXIST", f"Notebook not found: {notebook_path}")

    def _libraries(self, libraries: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
        jars, py_files = [], []
        for library in libraries:
            if library.get("jar"):
                jar = self.local(str(library["jar"]))
                if not jar.is_file():
                    raise LoopbackError(
                        400, "INVALID_PARAMETER_VALUE", f"library jar {library['jar']} does not exist in DBFS"
                    )
                jars.append(str(jar))
            elif library.get("egg") or library.get("whl"):
                py_files.append(str(self.local(str(library.get("egg") or library.get("whl")))))
            elif library.get("pypi"):
                package = str(library["pypi"]["package"])
                name = package.split("==")[0].split(">")[0].split("<")[0].split("[")[0].strip()
                try:
                    importlib.metadata.distribution(name)
                except importlib.metadata.PackageNotFoundError:
                    raise ValueError(
                        f"Library installation failed for library due to user error: pypi package "
                        f"{package!r} is not installed where the loopback server runs (it downloads nothing)"
                    ) from None
            else:
                kind = next(iter(library), "?")
                raise ValueError(
                    f"Library installation failed: the loopback server cannot install {kind} libraries "
                    f"offline ({library[kind]})"
                )
        return jars, py_files

    def _init_scripts(self, record: RunRecord, env: dict[str, str]) -> None:
        for script in (record.task.get("new_cluster") or {}).get("init_scripts") or []:
            where = (script.get("dbfs") or script.get("workspace") or script.get("file") or {}).get("destination")
            if not script.get("dbfs"):
                raise ValueError(f"the loopback server runs init scripts from DBFS only, got {script}")
            done = subprocess.run(
                ["bash", str(self.local(str(where)))],
                cwd=record.dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                raise ValueError(f"init script {where} failed with exit code {done.returncode}: {done.stderr[-2000:]}")


def _spark_submit() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-submit")


def _kill_group(pid: int) -> None:
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (FileNotFoundError, ValueError):
        return {}


def _jvm_failure(log: Path, code: int) -> dict[str, Any]:
    """A JAR's (or the JVM's) failure: the last exception line of its output, and the output's tail."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        lines = []
    found = [line for line in lines if line.startswith("Exception in thread")]
    found += [line for line in lines if "Exception" in line or "Error:" in line]
    error = found[0].strip() if found else f"the process exited with code {code}"
    return {"error": error, "error_trace": "\n".join(lines[-60:])}
