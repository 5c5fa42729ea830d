"""Issue 13: a SIGKILL of funchost while a ParallelRunStep, a CommandStep or an AdlaStep runs, then a restart on
the same state: the run still ends Finished with exactly one result of the step.

The step's job runs on the local compute worker, which outlives the host (it is detached; see
durableml/compute/local/worker.py), so the job is not started a second time: the entry script's mini-batches,
the command and the U-SQL script each ran once (their journals say so), the step's output holds each row once,
and the restarted host picks the job's report up (or the report that reached no host is delivered again).
Written as v1 code is (``azureml.*`` through the alias).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from durableml.compute.local.job_files import pid_alive
from tests.polling import wait_until

from ._helpers import ensure_compute, finishes_after_a_host_crash

EXPERIMENT = "e2e-kinds-crash"

ENTRY_SCRIPT = '''\
"""One journal line per mini-batch (its files); sleeps --sleep s in each."""
import argparse
import os
import time

args = None


def init():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("--journal")
    parser.add_argument("--sleep", type=float, default=0)
    args, _ = parser.parse_known_args()


def run(mini_batch):
    names = [os.path.basename(path) for path in mini_batch]
    with open(args.journal, "a") as handle:
        handle.write(" ".join(names) + "\\n")
    time.sleep(args.sleep)
    return [f"scored {name}" for name in names]
'''


@pytest.fixture
def ws(v1_ws: Any) -> Any:
    from azureml.core.compute import AdlaCompute, ComputeTarget

    ensure_compute(v1_ws, max_nodes=2)
    if "adla" not in v1_ws.compute_targets:
        config = AdlaCompute.attach_configuration(resource_group="analytics", account_name="salesadla")
        ComputeTarget.attach(v1_ws, "adla", config).wait_for_completion()
    return v1_ws


def _download_output(run: Any, step_name: str, output: str, into: Path) -> Path:
    data = run.find_step_run(step_name)[0].get_output_data(output)
    data.download(local_path=str(into))
    return into / str(data.path_on_datastore)


def test_parallel_run_step_survives_a_host_crash_with_each_mini_batch_run_once(
    service: Any, ws: Any, tmp_path: Path
) -> None:
    from azureml.core import Dataset, Environment, Experiment
    from azureml.pipeline.core import Pipeline, PipelineData
    from azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep

    store = ws.get_default_datastore()
    folder = tmp_path / f"crash-prs-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    names = [f"f{i:02d}.txt" for i in range(8)]
    for name in names:
        (folder / name).write_text(name)
    store.upload(str(folder), target_path=folder.name, overwrite=True)
    source = tmp_path / "src"
    source.mkdir()
    (source / "score.py").write_text(ENTRY_SCRIPT)
    journal = tmp_path / "journal.txt"

    config = ParallelRunConfig(
        environment=Environment("prs"), entry_script="score.py", source_directory=str(source), mini_batch_size="1",
        error_threshold=0, output_action="append_row", node_count=1, process_count_per_node=2,
        compute_target="e2e-cpu",
    )  # fmt: skip
    step = ParallelRunStep(
        name="prs-crash", parallel_run_config=config, allow_reuse=False,
        inputs=[Dataset.File.from_files((store, f"{folder.name}/*.txt")).as_named_input("files")],
        output=PipelineData("scores", datastore=store), arguments=["--journal", str(journal), "--sleep", "0.7"],
    )  # fmt: skip
    run: Any = Experiment(ws, EXPERIMENT).submit(Pipeline(ws, [step]))

    def two_done() -> bool:
        return journal.exists() and len(journal.read_text().splitlines()) >= 2

    finishes_after_a_host_crash(service, run, two_done, "two mini-batches to start")

    batches = journal.read_text().splitlines()
    assert sorted(batches) == names, f"each mini-batch ran exactly once: {batches}"
    scores = _download_output(run, "prs-crash", "scores", tmp_path / "out")
    result = scores / "parallel_run_step.txt" if scores.is_dir() else scores
    lines = result.read_text().splitlines()
    assert sorted(lines) == [f"scored {name}" for name in names], lines


def test_command_step_survives_a_host_crash_and_runs_once(service: Any, ws: Any, tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import CommandStep

    journal = tmp_path / "journal.txt"
    command = f"echo start >> {journal}; sleep 3; echo end >> {journal}"
    step = CommandStep(command=command, name="cmd-crash", compute_target="e2e-cpu", allow_reuse=False)
    run: Any = Experiment(ws, EXPERIMENT).submit(Pipeline(ws, [step]))

    finishes_after_a_host_crash(
        service, run, lambda: journal.exists() and "start" in journal.read_text(), "the command to start"
    )

    assert journal.read_text().splitlines() == ["start", "end"], "the command ran exactly once"
    step_run = run.find_step_run("cmd-crash")[0]
    assert step_run.get_status() == "Finished"
    assert step_run.get_details().get("reusedFrom") is None


USQL = """\
// a self-join of @@numbers@@ that keeps the step busy for a few seconds
@numbers =
    EXTRACT n long
    FROM "@@numbers@@"
    USING Extractors.Csv(skipFirstNRows: 1);

@pairs =
    SELECT COUNT(*) AS pairs
    FROM @numbers AS a CROSS JOIN @numbers AS b
    WHERE a.n + b.n > 10;

OUTPUT @pairs
TO "@@pairs@@"
USING Outputters.Csv(outputHeader: true);
"""


def _numbers(ws: Any, tmp_path: Path, count: int) -> Any:
    from azureml.data.data_reference import DataReference

    folder = f"adla-crash-{uuid.uuid4().hex[:8]}"
    (tmp_path / "numbers.csv").write_text("n\n" + "".join(f"{i}\n" for i in range(count)))
    ws.get_default_datastore().upload_files([str(tmp_path / "numbers.csv")], target_path=folder, overwrite=True)
    return DataReference(ws.get_default_datastore(), "numbers", f"{folder}/numbers.csv", mode="download")


def _step_processes(step_run_id: str) -> set[int]:
    """The pids of processes working in the step's snapshot folder (the job's script: a U-SQL driver here; a warm
    interpreter runs it, so its command line does not name it, but its working directory is the job's)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if step_run_id in cwd and cwd.endswith("snapshot"):
            found.add(int(entry.name))
    return found


def _running_step_processes(run: Any, name: str) -> set[int]:
    steps = run.find_step_run(name)
    return _step_processes(steps[0].id) if steps else set()


def _adla_step(ws: Any, tmp_path: Path, count: int, name: str) -> tuple[Any, Any]:
    from azureml.pipeline.core import PipelineData
    from azureml.pipeline.steps import AdlaStep

    source = tmp_path / "usql"
    source.mkdir(exist_ok=True)
    (source / "pairs.usql").write_text(USQL)
    pairs = PipelineData("pairs", datastore=ws.get_default_datastore())
    step = AdlaStep(name=name, script_name="pairs.usql", source_directory=str(source), inputs=[_numbers(ws, tmp_path,
                    count)], outputs=[pairs], compute_target="adla", allow_reuse=False)  # fmt: skip
    return step, pairs


def test_adla_step_survives_a_host_crash_with_one_output(service: Any, ws: Any, tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline

    count = 40_000
    step, _pairs = _adla_step(ws, tmp_path, count, "adla-crash")
    run: Any = Experiment(ws, EXPERIMENT).submit(Pipeline(ws, [step]))

    finishes_after_a_host_crash(
        service, run, lambda: _running_step_processes(run, "adla-crash"), "the U-SQL driver to run"
    )

    step_run = run.find_step_run("adla-crash")[0]
    log = step_run.get_job_log()
    assert log.count("OUTPUT to") == 1, f"the script ran once:\n{log}"
    text = _download_output(run, "adla-crash", "pairs", tmp_path / "out").read_text()
    expected = count * count - 66  # the pairs with a + b <= 10: 1 + 2 + ... + 11
    assert text.splitlines() == ["pairs", str(expected)], text


def test_adla_step_cancel_stops_the_script(service: Any, ws: Any, tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline

    step, _pairs = _adla_step(ws, tmp_path, 400_000, "adla-cancel")  # 1.6e11 pairs: minutes, if it were left
    run: Any = Experiment(ws, EXPERIMENT).submit(Pipeline(ws, [step]))
    drivers = wait_until(lambda: _running_step_processes(run, "adla-cancel"), timeout=60, what="the U-SQL driver")

    run.cancel()
    wait_until(lambda: run.get_status() == "Canceled", timeout=15, what="the run to be Canceled")
    assert run.find_step_run("adla-cancel")[0].get_status() == "Canceled"
    wait_until(lambda: not any(pid_alive(p) for p in drivers), timeout=10, what=f"the U-SQL driver {drivers} gone")
