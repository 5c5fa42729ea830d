"""Issue 13: ParallelRunStep, CommandStep and DataTransferStep with reuse, cancel, logs and failure reasons like
any PythonScriptStep, written as v1 code is (``azureml.*`` through the alias).

* Reuse: the same pipeline submitted again reuses the step (``reusedFrom``, nothing runs again); a setting that
  matters (mini_batch_size, the entry script's content, the command, the source) runs it again;
  ``allow_reuse=False`` always runs.
* Cancel: a sleeping ParallelRunStep (its worker processes too) and a ``sleep 30`` CommandStep end Canceled
  within seconds, their processes gone.
* Logs: ``wait_for_completion(show_output=True)`` streams the ParallelRunStep's progress while it runs; the
  job log has it after, and the per-worker logs and the job summary are the step's files (``logs/...``).
* Failure reasons: a DataTransferStep whose source has no data fails, saying so.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from durableml.compute.local.job_files import pid_alive
from tests.polling import wait_until

from ._helpers import ensure_compute, step_summary

EXPERIMENT = "e2e-kinds-lifecycle"

ENTRY_SCRIPT = '''\
"""Scores file names; appends one line per mini-batch to --journal; sleeps --sleep s per mini-batch;
writes "<pid> <parent pid>" into a file of --pids (a folder) once per worker."""
import argparse
import os
import time

from azureml_user.parallel_run import EntryScript

args = None


def init():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("--journal")
    parser.add_argument("--sleep", type=float, default=0)
    parser.add_argument("--pids")
    args, _ = parser.parse_known_args()
    if args.pids:
        os.makedirs(args.pids, exist_ok=True)
        with open(os.path.join(args.pids, str(os.getpid())), "w") as handle:
            handle.write(f"{os.getpid()} {os.getppid()}")
    EntryScript().logger.info("worker %s ready", os.getpid())


def run(mini_batch):
    with open(args.journal, "a") as handle:
        handle.write(f"{len(mini_batch)}\\n")
    print(f"scoring {len(mini_batch)} file(s) in {os.getpid()}", flush=True)
    time.sleep(args.sleep)
    return [os.path.basename(path) for path in mini_batch]
'''


@pytest.fixture
def env(v1_ws: Any) -> dict[str, Any]:
    from azureml.core.compute import ComputeTarget, DataFactoryCompute

    compute = ensure_compute(v1_ws, max_nodes=2)
    if "adf" not in v1_ws.compute_targets:
        ComputeTarget.create(v1_ws, "adf", DataFactoryCompute.provisioning_configuration()).wait_for_completion()
    return {"ws": v1_ws, "compute": compute, "store": v1_ws.get_default_datastore()}


def _upload(env: dict[str, Any], tmp_path: Path, count: int) -> str:
    folder = f"kinds-{uuid.uuid4().hex[:8]}"
    local = tmp_path / folder
    local.mkdir()
    for i in range(count):
        (local / f"f{i:02d}.txt").write_text(f"file {i}\n")
    env["store"].upload(str(local), target_path=folder, overwrite=True)
    return folder


def _submit(env: dict[str, Any], *steps: Any, wait: bool = True) -> Any:
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline

    run = Experiment(env["ws"], EXPERIMENT).submit(Pipeline(env["ws"], list(steps)))
    if wait:
        run.wait_for_completion(show_output=False, timeout_seconds=180, raise_on_error=False)
    return run


def _reused_from(run: Any, name: str) -> Any:
    status = run.get_status()
    assert status == "Finished", f"{status}\n{step_summary(run)}"
    return run.find_step_run(name)[0].get_details().get("reusedFrom")


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


# ------------------------------------------------------------------------------------------ ParallelRunStep
def _prs(env: dict[str, Any], source: Path, dataset: Any, name: str, *arguments: Any, **config: Any) -> Any:
    from azureml.core import Environment
    from azureml.pipeline.core import PipelineData
    from azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep

    allow_reuse = config.pop("allow_reuse", True)
    settings = {"mini_batch_size": "2", "error_threshold": 0, "output_action": "append_row", "node_count": 1,
                "process_count_per_node": 2, **config}  # fmt: skip
    parallel = ParallelRunConfig(environment=Environment("prs"), entry_script="score.py", source_directory=str(source),
                                 compute_target=env["compute"], **settings)  # fmt: skip
    return ParallelRunStep(name=name, parallel_run_config=parallel, inputs=[dataset.as_named_input("data")],
                           output=PipelineData("scores", datastore=env["store"]), arguments=list(arguments),
                           allow_reuse=allow_reuse)  # fmt: skip


@pytest.fixture
def prs_source(tmp_path: Path) -> Path:
    source = tmp_path / "prs-src"
    source.mkdir()
    (source / "score.py").write_text(ENTRY_SCRIPT)
    return source


def test_parallel_run_step_reuse(env: dict[str, Any], tmp_path: Path, prs_source: Path) -> None:
    from azureml.core import Dataset

    files = Dataset.File.from_files((env["store"], f"{_upload(env, tmp_path, 4)}/*.txt"))
    journal = tmp_path / "journal.txt"

    def step(**config: Any) -> Any:
        return _prs(env, prs_source, files, "prs-reuse", "--journal", str(journal), **config)

    first = _submit(env, step())
    assert _reused_from(first, "prs-reuse") is None
    assert _lines(journal) == 2, "2 mini-batches of 2 files"
    first_id = first.find_step_run("prs-reuse")[0].id

    again = _submit(env, step())
    assert _reused_from(again, "prs-reuse") == first_id
    assert _lines(journal) == 2, "the entry script did not run again"

    bigger = _submit(env, step(mini_batch_size="4"))
    assert _reused_from(bigger, "prs-reuse") is None
    assert _lines(journal) == 3, "mini_batch_size=4: one more mini-batch of 4"
    explanation = str(bigger.find_step_run("prs-reuse")[0].get_reuse_explanation())
    assert "miniBatchSize" in explanation, explanation

    (prs_source / "score.py").write_text(ENTRY_SCRIPT + "\n# scoring v2\n")
    edited = _submit(env, step())
    assert _reused_from(edited, "prs-reuse") is None
    assert _lines(journal) == 5
    assert "score.py" in str(edited.find_step_run("prs-reuse")[0].get_reuse_explanation())

    for expected in (7, 9):  # allow_reuse=False: runs every time
        always = _submit(env, step(allow_reuse=False))
        assert _reused_from(always, "prs-reuse") is None
        assert _lines(journal) == expected


def test_parallel_run_step_cancel_stops_its_workers(env: dict[str, Any], tmp_path: Path, prs_source: Path) -> None:
    from azureml.core import Dataset

    files = Dataset.File.from_files((env["store"], f"{_upload(env, tmp_path, 4)}/*.txt"))
    pids_dir, journal = tmp_path / "pids", tmp_path / "journal.txt"
    step = _prs(env, prs_source, files, "prs-sleeps", "--journal", str(journal), "--sleep", "60", "--pids",
                str(pids_dir), allow_reuse=False, run_invocation_timeout=300)  # fmt: skip
    run = _submit(env, step, wait=False)
    wait_until(lambda: pids_dir.is_dir() and len(list(pids_dir.iterdir())) == 2, timeout=60, what="2 workers")
    wait_until(lambda: _lines(journal) == 2, timeout=30, what="both workers to be in run()")
    pids: set[int] = set()
    for found in pids_dir.iterdir():
        pids.update(int(p) for p in found.read_text().split())  # each worker and its parent, the driver
    assert len(pids) == 3 and all(pid_alive(p) for p in pids), pids

    started = time.monotonic()
    run.cancel()
    wait_until(lambda: run.get_status() == "Canceled", timeout=15, what="the run to be Canceled")
    assert time.monotonic() - started < 10
    assert run.find_step_run("prs-sleeps")[0].get_status() == "Canceled"
    wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=10, what=f"the driver and workers {pids} gone")


def test_parallel_run_step_logs_stream_and_are_captured(env: dict[str, Any], tmp_path: Path, prs_source: Path) -> None:
    from azureml.core import Dataset

    files = Dataset.File.from_files((env["store"], f"{_upload(env, tmp_path, 4)}/*.txt"))
    journal = tmp_path / "journal.txt"
    step = _prs(env, prs_source, files, "prs-logs", "--journal", str(journal), "--sleep", "1.5",
                mini_batch_size="1", process_count_per_node=1, allow_reuse=False)  # fmt: skip
    run = _submit(env, step, wait=False)

    class Timed(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[tuple[float, str]] = []
            self.lock = threading.Lock()

        def write(self, text: str) -> int:
            with self.lock:
                self.seen.append((time.monotonic(), text))
            return len(text)

        def first(self, needle: str) -> float:
            return next(when for when, text in self.seen if needle in text)

    out = Timed()
    with contextlib.redirect_stdout(out):
        status = run.wait_for_completion(show_output=True, timeout_seconds=120, raise_on_error=False)
    assert status == "Finished", step_summary(run)
    streamed = "".join(text for _when, text in out.seen)
    for index in range(4):
        assert f"[parallel_run] mini-batch {index}: done" in streamed, streamed
    # streamed while it ran: the first mini-batch showed up well before the last one (1.5 s each)
    assert out.first("mini-batch 3: done") - out.first("mini-batch 0: done") > 2, out.seen

    step_run = run.find_step_run("prs-logs")[0]
    log = step_run.get_job_log()
    assert "[parallel_run] mini-batch 3: done" in log and "scoring 1 file(s)" in log, log
    names = step_run.get_file_names()
    assert "logs/job_result.txt" in names, names
    assert any(n.startswith("logs/job_progress_overview") for n in names), names
    worker_logs = [n for n in names if n.startswith("logs/user/entry_script_log/")]
    assert len(worker_logs) == 1, names
    step_run.download_file("logs/job_result.txt", str(tmp_path / "job_result.txt"))
    result = (tmp_path / "job_result.txt").read_text()
    assert '"mini_batches": 4' in result and '"mini_batches_failed": 0' in result, result
    step_run.download_file(worker_logs[0], str(tmp_path / "worker.txt"))
    assert "worker" in (tmp_path / "worker.txt").read_text() and "ready" in (tmp_path / "worker.txt").read_text()


# ------------------------------------------------------------------------------------------------ CommandStep
def test_command_step_reuse(env: dict[str, Any], tmp_path: Path) -> None:
    from azureml.pipeline.steps import CommandStep

    journal, token = tmp_path / "journal.txt", uuid.uuid4().hex[:8]

    def step(command: str, allow_reuse: bool = True) -> Any:
        return CommandStep(command=command, name="cmd-reuse", compute_target="e2e-cpu", allow_reuse=allow_reuse)

    first = _submit(env, step(f"echo one {token} >> {journal}"))
    assert _reused_from(first, "cmd-reuse") is None and _lines(journal) == 1
    again = _submit(env, step(f"echo one {token} >> {journal}"))
    assert _reused_from(again, "cmd-reuse") == first.find_step_run("cmd-reuse")[0].id
    assert _lines(journal) == 1, "the command did not run again"
    changed = _submit(env, step(f"echo two {token} >> {journal}"))
    assert _reused_from(changed, "cmd-reuse") is None and _lines(journal) == 2
    for expected in (3, 4):
        always = _submit(env, step(f"echo one {token} >> {journal}", allow_reuse=False))
        assert _reused_from(always, "cmd-reuse") is None and _lines(journal) == expected


def test_command_step_cancel_stops_the_command(env: dict[str, Any], tmp_path: Path) -> None:
    from azureml.pipeline.steps import CommandStep

    shell_pid, sleep_pid = tmp_path / "shell.pid", tmp_path / "sleep.pid"
    command = f"echo $$ > {shell_pid}; sleep 30 & echo $! > {sleep_pid}; wait"
    run = _submit(env, CommandStep(command=command, name="cmd-sleeps", compute_target="e2e-cpu", allow_reuse=False),
                  wait=False)  # fmt: skip
    wait_until(lambda: sleep_pid.exists() and sleep_pid.read_text().strip() != "", timeout=30, what="the command")
    pids = {int(shell_pid.read_text()), int(sleep_pid.read_text())}
    assert all(pid_alive(p) for p in pids)

    started = time.monotonic()
    run.cancel()
    wait_until(lambda: run.get_status() == "Canceled", timeout=15, what="the run to be Canceled")
    assert time.monotonic() - started < 10
    assert run.wait_for_completion(show_output=False) == "Canceled"
    assert run.find_step_run("cmd-sleeps")[0].get_status() == "Canceled"
    wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=10, what=f"the command's processes {pids} gone")


# ------------------------------------------------------------------------------------------- DataTransferStep
def _transfer(env: dict[str, Any], folder: str, allow_reuse: bool = True) -> Any:
    from azureml.data.data_reference import DataReference
    from azureml.pipeline.core import PipelineData
    from azureml.pipeline.steps import DataTransferStep

    return DataTransferStep(name="copy-reuse", source_data_reference=DataReference(env["store"], "src", folder),
                            destination_data_reference=PipelineData("copied", datastore=env["store"]),
                            compute_target="adf", allow_reuse=allow_reuse)  # fmt: skip


def test_data_transfer_step_reuse(env: dict[str, Any], tmp_path: Path) -> None:
    folder, other = _upload(env, tmp_path, 2), _upload(env, tmp_path, 3)
    first = _submit(env, _transfer(env, folder))
    assert _reused_from(first, "copy-reuse") is None
    first_step = first.find_step_run("copy-reuse")[0]
    assert "copied 2 file(s)" in first_step.get_job_log()

    again = _submit(env, _transfer(env, folder))
    assert _reused_from(again, "copy-reuse") == first_step.id
    reused = again.find_step_run("copy-reuse")[0].get_output_data("copied").path_on_datastore
    assert reused == first_step.get_output_data("copied").path_on_datastore, "the copy was not made again"

    changed = _submit(env, _transfer(env, other))
    assert _reused_from(changed, "copy-reuse") is None
    assert "copied 3 file(s)" in changed.find_step_run("copy-reuse")[0].get_job_log()
    always = _submit(env, _transfer(env, folder, allow_reuse=False))
    assert _reused_from(always, "copy-reuse") is None
    assert "copied 2 file(s)" in always.find_step_run("copy-reuse")[0].get_job_log()


def test_data_transfer_step_without_source_data_fails_saying_so(env: dict[str, Any], tmp_path: Path) -> None:
    missing = f"{_upload(env, tmp_path, 1)}-missing"  # the datastore's container exists, the path has no blobs
    run = _submit(env, _transfer(env, missing, allow_reuse=False))
    assert run.get_status() == "Failed", step_summary(run)
    error = str(run.find_step_run("copy-reuse")[0].get_details().get("error"))
    assert "no data to copy" in error and missing in error, error
    assert "copy-reuse" in str(run.get_details().get("error")), run.get_details()
