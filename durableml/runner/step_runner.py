"""The step runner: stage a step, run its script, upload what it produced, and say how it went.

A :class:`StepRunner` works in one job directory (the compute backend's)::

    <job>/snapshot/                 the step's source files; the script's working directory
    <job>/inputs/<name>             staged inputs
    <job>/outputs/<name>            output locations, uploaded to their datastore paths afterwards
    <job>/logs/70_driver_log.txt    stdout + stderr (also streamed to durableml-logs/<run>/<step run>/...)
    <job>/context.json              the run context (DURABLEML_RUN_CONTEXT)
    <job>/metrics.jsonl             metrics the script logged

:meth:`StepRunner.run` never raises for anything the step did wrong: it returns the result document
``{"job_id", "status", "exit_code", "error", "metrics", "outputs", "started", "ended", "attempt", "log"}``
with ``status`` Finished, Failed or Canceled. Writing and reporting it is the backend's job.

The driver log's last bytes go up to its blob before :meth:`StepRunner.run` returns, unless the runner
was made with ``defer_log_upload``: then the caller reports the result first and calls
:meth:`StepRunner.upload_log` afterwards. The local compute worker does so (one storage request less on
the way from a script's exit to the next step's start): its backend serves logs from the log file on
disk, which is complete before the result is written, so nobody can see the step ended and its log cut.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from durableml.jobs import NO_SNAPSHOT, JobSpec, JobState
from durableml.runner.workdir import DRIVER_LOG, in_snapshot, now_iso
from durableml.exceptions import AzureMLException
from durableml.runner import context as ctx
from durableml.runner.driver_log import AppendBlob, DriverLog
from durableml.runner.process import ScriptProcess
from durableml import sql_sources
from durableml.runner.staging import prepare_output, resolve_arguments, stage_input, stage_snapshot, stage_sql_input
from durableml.runner.storage import LOGS_CONTAINER, BlobStore, get_store
from durableml.runner.uploading import upload_artifacts, upload_outputs
from durableml.runner.warm import WarmInterpreters

__all__ = ["StepRunner", "run_step"]

_WORK_ENTRIES = ("snapshot", "inputs", "outputs", "logs", "context.json", "metrics.jsonl")


_STORAGE_UNANSWERED = frozenset({"ServiceRequestError", "ServiceResponseError"})  # azure.core: storage did not answer


class _Canceled(Exception):
    """Raised inside the runner when a cancel arrives between phases."""


class StepRunner:
    """Runs one :class:`JobSpec` in ``job_dir``; :meth:`cancel` may be called from another thread."""

    def __init__(
        self,
        spec: JobSpec,
        job_dir: Path,
        *,
        attempt: int = 1,
        cache_dir: Optional[Path] = None,
        log_interval: float = 0.5,
        on_started: Optional[Callable[[int], None]] = None,
        base_env: Optional[Mapping[str, str]] = None,
        interpreters: Optional[WarmInterpreters] = None,
        defer_log_upload: bool = False,
    ) -> None:
        self.spec = spec
        self.job_dir = job_dir
        self.attempt = attempt
        self.cache_dir = cache_dir or job_dir / "cache"
        self.log_interval = log_interval
        self.on_started = on_started
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.interpreters = interpreters
        self.secrets = [spec.connection_string, (spec.notify or {}).get("url", "")]
        self.secrets += [
            str(b["connection_string"])
            for b in [*spec.inputs.values(), *spec.outputs.values()]
            if b.get("connection_string")
        ]
        self.secrets += [
            sql_sources.password_of(str(b["connection_string"]))
            for b in spec.inputs.values()
            if b.get("sql") and b.get("connection_string")
        ]
        self.redact = ctx.make_redactor(self.secrets)
        self.log_blob = f"{spec.run_id}/{spec.job_id}/{DRIVER_LOG[-1]}"
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._process: Optional[ScriptProcess] = None
        self._store: Optional[BlobStore] = None
        self._defer_log_upload = defer_log_upload
        self._log: Optional[DriverLog] = None

    def cancel(self) -> None:
        """Stop the step: before the script starts it never starts; while it runs its group gets SIGTERM."""
        with self._lock:
            self._cancel.set()
            process = self._process
        if process is not None:
            process.terminate()

    def store(self) -> BlobStore:
        """The job's storage account (the Azure SDK is imported on first use)."""
        if self._store is None:
            self._store = get_store(self.spec.connection_string)
        return self._store

    def _store_for(self, binding: Mapping[str, Any]) -> BlobStore:
        conn = binding.get("connection_string")
        return get_store(str(conn)) if conn else self.store()

    def run(self) -> dict[str, Any]:
        """Stage, run, upload; returns the result document (see the module docstring)."""
        started = now_iso()
        self._reset()
        log = self._log = DriverLog(self.job_dir.joinpath(*DRIVER_LOG), self._log_blob, self.log_interval, self.redact)
        result: dict[str, Any] = {"status": JobState.FAILED.value, "exit_code": None, "error": None, "outputs": {}}
        try:
            if self.attempt > 1:
                log.note(
                    f"[durableml] attempt {self.attempt}: the compute worker stopped while this step ran "
                    "(steps run at least once), so it runs again from the start"
                )
            result.update(self._stage_run_upload(log))
        except _Canceled:
            result.update(status=JobState.CANCELED.value, error="canceled before the script started")
        except (AzureMLException, OSError, ValueError, KeyError) as exc:
            result["error"] = self.redact(f"the step could not run: {exc}")
            log.note(f"[durableml] {result['error']}")
        except Exception as exc:  # noqa: BLE001 - a runner bug must still end the job, with its trace in the log
            if type(exc).__module__.startswith("azure."):  # storage unreachable or refusing
                result["error"] = self.redact(f"the step could not run: storage failed: {type(exc).__name__}: {exc}")
            else:
                result["error"] = self.redact(f"internal error in the step runner: {type(exc).__name__}: {exc}")
            log.note(self.redact(traceback.format_exc()))
        finally:
            self._finish(log, result)
        return {
            "job_id": self.spec.job_id,
            **result,
            "started": started,
            "ended": now_iso(),
            "attempt": self.attempt,
            "log": {"container": LOGS_CONTAINER, "blob": self.log_blob},
        }

    def _log_blob(self) -> AppendBlob:
        return self.store().append_blob(LOGS_CONTAINER, self.log_blob)

    def _reset(self) -> None:
        for entry in _WORK_ENTRIES:
            path = self.job_dir / entry
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise _Canceled()

    def _stage_run_upload(self, log: DriverLog) -> dict[str, Any]:
        cwd = self.job_dir / "snapshot"
        if self.spec.snapshot == NO_SNAPSHOT:  # a step without source files starts in an empty folder
            cwd.mkdir(parents=True)
        else:
            needs_store = not Path(self.spec.snapshot).is_dir()
            stage_snapshot(self.spec.snapshot, cwd, self.store() if needs_store else None, self.cache_dir)
        self._check_cancel()
        inputs = {}
        for name, binding in self.spec.inputs.items():
            if binding.get("sql"):  # a SqlDataReference or SQL dataset: its query's result as a CSV file
                inputs[name], notes = stage_sql_input(name, binding, self.job_dir, cwd)
            else:
                inputs[name], notes = stage_input(name, binding, self.job_dir, cwd, self._store_for(binding))
            for note in notes:
                log.note(note)
        self._check_cancel()
        outputs = {name: prepare_output(name, b, self.job_dir) for name, b in self.spec.outputs.items()}
        code, state, error = self._run_script(log, cwd, inputs, outputs)
        uploaded: dict[str, Any] = {}
        for name in self.spec.outputs if state is JobState.FINISHED else ():
            try:
                uploaded[name] = self._upload_output(name, outputs, log)
            except Exception as exc:  # noqa: BLE001 - the step fails, saying which output and why
                reason = f"{type(exc).__name__}: {exc}"
                if type(exc).__name__ in _STORAGE_UNANSWERED:  # retried for the outage window (storage.steady_retry)
                    reason = f"storage unavailable: {reason}"
                state, error = (JobState.FAILED, self.redact(f"uploading output {name!r} failed: {reason}"))
                log.note(f"[durableml] {error}")
                break
        return {"status": state.value, "exit_code": code, "error": error, "outputs": uploaded}

    def _upload_output(self, name: str, local: Mapping[str, str], log: DriverLog) -> dict[str, Any]:
        binding = self.spec.outputs[name]
        info = upload_outputs({name: binding}, local, self._store_for(binding))[name]
        if info["kind"] == "missing":
            log.note(
                f"[durableml] output {name!r} was not written by the script (nothing at {local[name]}); "
                "steps that read it get an empty directory"
            )
        return info

    def _run_script(
        self, log: DriverLog, cwd: Path, inputs: dict[str, str], outputs: dict[str, str]
    ) -> tuple[int, JobState, Optional[str]]:
        context_file = self.job_dir / "context.json"
        document = ctx.build_context(self.spec, inputs, outputs, self.job_dir / "metrics.jsonl")
        context_file.write_text(json.dumps(document, indent=1), encoding="utf-8")
        argv = [
            sys.executable,
            script_path(self.spec.script_name, cwd),
            *resolve_arguments(self.spec.arguments, inputs, outputs),
        ]
        env = ctx.step_environment(self.spec, context_file, inputs, outputs, self.base_env, self.secrets)
        process = ScriptProcess(argv, cwd, env, log, self.interpreters)
        with self._lock:
            self._check_cancel()
            process.start(self.on_started)
            self._process = process
        code = process.wait(self.spec.timeout)
        if self._cancel.is_set() and process.terminated:
            return code, JobState.CANCELED, "canceled while the script ran"
        if process.timed_out:
            message = f"timed out after {self.spec.timeout:g} s: the script ran longer than its timeout and was stopped"
            log.note(f"[durableml] {message}")
            return code, JobState.FAILED, message
        if code == 0:
            return code, JobState.FINISHED, None
        return code, JobState.FAILED, ctx.error_summary(log.tail(), code)

    def _finish(self, log: DriverLog, result: dict[str, Any]) -> None:
        metrics, problems = ctx.parse_metrics(self.job_dir / "metrics.jsonl")
        result["metrics"] = metrics
        for problem in problems:
            log.note(f"[durableml] {problem}")
        try:
            upload_artifacts(self.spec.job_id, self.job_dir / "snapshot", self.store())
        except Exception as exc:  # noqa: BLE001 - losing ./outputs must not hide the step's own status
            log.note(self.redact(f"[durableml] could not upload ./outputs and ./logs: {type(exc).__name__}: {exc}"))
        if not self._defer_log_upload:
            warning = self.upload_log()
            if warning:
                result.setdefault("warnings", []).append(warning)

    def upload_log(self) -> Optional[str]:
        """Send the driver log's last bytes to its blob and close it; a warning if uploads failed.

        :meth:`run` calls it unless the runner was made with ``defer_log_upload``. Safe to call twice.
        """
        if self._log is None:
            return None
        self._log.close()
        if self._log.upload_errors:
            return f"{self._log.upload_errors} driver log upload(s) failed; the full log is on the compute node"
        return None


def run_step(spec: JobSpec, job_dir: Path, **options: Any) -> dict[str, Any]:
    """Run ``spec`` in ``job_dir`` and return its result document (see :class:`StepRunner`)."""
    return StepRunner(spec, job_dir, **options).run()


SHIPPED = "durableml:"
"""``script_name`` prefix of a script shipped with durableml (a step kind's driver), not in the snapshot."""


def script_path(script_name: str, snapshot: Path) -> str:
    """The path ``python`` runs for a job's ``script_name``: as given (relative to the ``snapshot`` folder it
    runs in), or for ``durableml:<path>`` the file of the installed durableml package.

    The service refuses script names that leave the snapshot (``durableml._names.check_relative_path``); this
    is the last line for a job spec that did not come through it: a script that resolves (``..``, an absolute
    path, a symlink) outside the snapshot is not run."""
    if not script_name.startswith(SHIPPED):
        in_snapshot(script_name, snapshot)
        return f"./{script_name}" if script_name.startswith("-") else script_name  # a file, never an option
    package = Path(__file__).resolve().parent.parent
    path = (package / script_name[len(SHIPPED) :]).resolve()
    if not path.is_relative_to(package) or not path.is_file():
        raise ValueError(f"job script {script_name!r} is not a script shipped with durableml")
    return str(path)
