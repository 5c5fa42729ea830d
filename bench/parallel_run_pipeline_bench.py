"""ParallelRunStep end to end: a 10,000-file FileDataset through funchost + Azurite (issue 13's measurement).

    .venv/bin/python bench/parallel_run_pipeline_bench.py [--files 10000] [--mini-batch-size 10] [--nodes 2]
        [--processes-per-node 2] [--repeat 3]

Starts a private Azurite and a real funchost on the repository's app (bench/pipeline_bench.py's ``Service``),
uploads ``--files`` small files to the default datastore's container (Azure SDK, 16 at a time), and runs, as
v1 code does, a pipeline of one ``ParallelRunStep`` over ``Dataset.File.from_files((store, "prs-bench/**"))``
mounted as its input, a trivial entry script (``run`` returns the files' names), ``node_count`` x
``process_count_per_node`` workers, ``mini_batch_size`` files per mini-batch, ``append_row`` output, on an
AmlCompute target (local backend).

Reported per run (``allow_reuse=False``, so each run stages and runs again):

* total: ``Experiment.submit`` to ``wait_for_completion`` returning Finished;
* step: the step run's start to end (staging the 10,000 blobs, the driver, uploading the output);
* driver: the ParallelRunStep driver's own time (its summary line's ``seconds``);
* staging: ``durableml.runner.staging.stage_input`` of the same input, timed in this process against the same
  Azurite (what the step does before the driver starts), and for comparison the same files listed and
  downloaded through the Azure SDK (``BlobStore.list_etags`` + ``download_files``: staging before bulk GETs);
* outside the driver: step - driver (staging the input, starting the driver, uploading its output);
* per mini-batch: driver / mini-batches;
* peak RSS (``VmHWM`` sampled every 50 ms from /proc) of funchost, the local-compute worker, the ParallelRunStep
  driver and its largest worker process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from pipeline_bench import Service  # noqa: E402

ENTRY = """
import os


def init():
    pass


def run(mini_batch):
    return [os.path.basename(path) for path in mini_batch]
"""


def _proc(pid: int, field: str) -> str:
    try:
        if field == "cmdline":
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


class Sampler(threading.Thread):
    """Peak RSS (KiB, VmHWM) by role: funchost, compute worker, PRS driver, PRS workers (max of one process)."""

    def __init__(self, host_pid: int) -> None:
        super().__init__(daemon=True)
        self.host_pid = host_pid
        self.peaks: dict[str, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
            workers = {}
            for pid in pids:
                cmdline = _proc(pid, "cmdline")
                if "multiprocessing.spawn" in cmdline and "spawn_main" in cmdline:
                    workers[pid] = int(_proc(pid, "PPid") or 0)
            roles = {self.host_pid: "funchost"}
            for pid in pids:
                if "durableml.compute.local.worker" in _proc(pid, "cmdline"):
                    roles[pid] = "compute worker"
            for pid, parent in workers.items():
                roles[pid] = "PRS worker (largest)"
                if parent and parent not in roles:
                    roles[parent] = "PRS driver"
            for pid, role in roles.items():
                peak = int((_proc(pid, "VmHWM") or "0 kB").split()[0])
                self.peaks[role] = max(self.peaks.get(role, 0), peak)


def upload(connection_string: str, container: str, folder: Path) -> None:
    """Put every file of ``folder`` under ``prs-bench/`` (16 at a time, with the Azure SDK: the data owner's upload,
    not what is measured)."""
    from concurrent.futures import ThreadPoolExecutor

    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(connection_string).get_container_client(container)
    if not client.exists():
        client.create_container()

    def one(path: Path) -> None:
        client.upload_blob(f"prs-bench/{path.name}", path.read_bytes(), overwrite=True)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, sorted(folder.iterdir())))


def _seconds(details: dict[str, Any], key: str) -> float:
    return datetime.fromisoformat(str(details[key]).replace("Z", "+00:00")).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--mini-batch-size", type=int, default=10)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--processes-per-node", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from durableml import compat

    compat.enable()
    from azureml.core import Dataset, Environment, Experiment, Workspace
    from azureml.core.compute import AmlCompute, ComputeTarget
    from azureml.pipeline.core import Pipeline, PipelineData
    from azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep

    from durableml.runner.staging import stage_input
    from durableml.runner.storage import get_store

    work = Path(tempfile.mkdtemp(prefix="prs-bench-"))
    service = Service(work)
    try:
        service.start()
        ws = Workspace.from_config(path=str(service.write_config()))
        config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=0, max_nodes=2)
        ComputeTarget.create(ws, "prs-bench", config).wait_for_completion(show_output=False)
        store = ws.get_default_datastore()
        data, project = work / "data", work / "project"
        data.mkdir()
        project.mkdir()
        for i in range(args.files):
            (data / f"f{i:06d}.txt").write_text(str(i))
        (project / "entry.py").write_text(ENTRY)
        started = time.perf_counter()
        upload(service.azurite.connection_string, store.container_name, data)
        print(f"uploaded {args.files} files in {time.perf_counter() - started:.1f} s", flush=True)
        dataset = Dataset.File.from_files((store, "prs-bench/**"))
        assert service.launched is not None and service.launched.host is not None
        sampler = Sampler(service.launched.host.pid)
        sampler.start()
        batches = -(-args.files // args.mini_batch_size)
        rows = []
        for attempt in range(args.repeat):
            parallel = ParallelRunConfig(
                environment=Environment("prs"), entry_script="entry.py", source_directory=str(project),
                mini_batch_size=args.mini_batch_size, node_count=args.nodes,
                process_count_per_node=args.processes_per_node, error_threshold=0, output_action="append_row",
                compute_target="prs-bench",
            )  # fmt: skip
            step = ParallelRunStep(
                name="score", parallel_run_config=parallel, inputs=[dataset.as_named_input("data")],
                output=PipelineData("scores", datastore=store), allow_reuse=False,
            )  # fmt: skip
            t0 = time.perf_counter()
            run: Any = Experiment(ws, "prs-bench").submit(Pipeline(ws, [step]))
            status = run.wait_for_completion(show_output=False, timeout_seconds=1800, raise_on_error=False)
            total = time.perf_counter() - t0
            step_run = run.find_step_run("score")[0]
            log = step_run.get_job_log()
            if status != "Finished":
                print(log[-3000:])
                return 1
            details = step_run.get_details()
            step_s = _seconds(details, "endTimeUtc") - _seconds(details, "startTimeUtc")
            summary = next(json.loads(line.split("] ", 1)[1]) for line in log.splitlines()
                           if line.startswith("[parallel_run] {"))  # fmt: skip
            if summary["items"] != args.files:
                print(log[-3000:])
                return 1
            rows.append((total, step_s, float(summary["seconds"])))
            print(f"run {attempt + 1}: total {total:.2f} s, step {step_s:.2f} s, driver {summary['seconds']:.2f} s",
                  flush=True)  # fmt: skip
        sampler.stop.set()
        sampler.join()

        staged = []
        binding = {"container": store.container_name, "path_on_datastore": "prs-bench/**", "mode": "mount",
                   "datastore": store.name, "dataset": None}  # fmt: skip
        for attempt in range(args.repeat):
            target = work / f"staging{attempt}"
            target.mkdir()
            t0 = time.perf_counter()
            where, _ = stage_input("data", binding, target, target, get_store(service.azurite.connection_string))
            staged.append(time.perf_counter() - t0)
            count = sum(len(files) for _, _, files in os.walk(where))
            assert count == args.files, count
            shutil.rmtree(target)
        print(f"staging alone: {', '.join(f'{s:.2f}' for s in staged)} s", flush=True)
        sdk = []
        for attempt in range(args.repeat):  # what staging did before: the SDK's full listing and downloads
            target = work / f"sdk{attempt}"
            t0 = time.perf_counter()
            sdk_store = get_store(service.azurite.connection_string)
            listed = sdk_store.list_etags(store.container_name, "prs-bench/")
            sdk_store.download_files(store.container_name, [(n, target / n) for n in listed], listed)
            sdk.append(time.perf_counter() - t0)
            shutil.rmtree(target)
        print(f"staging with the SDK's listing and downloads (before): {', '.join(f'{s:.2f}' for s in sdk)} s",
              flush=True)  # fmt: skip

        total, step_s, driver = (statistics.median(r[i] for r in rows) for i in range(3))
        staging = statistics.median(staged)
        peaks = ", ".join(f"{role} {kib / 1024:.0f} MiB" for role, kib in sorted(sampler.peaks.items()))
        print(
            f"files {args.files}, mini-batches {batches}, workers {args.nodes * args.processes_per_node}, medians of "
            f"{args.repeat}: total {total:.2f} s, step {step_s:.2f} s, staging {staging:.2f} s, driver {driver:.2f} s; "
            f"outside the driver (staging, starting, uploading) {step_s - driver:.2f} s; per mini-batch "
            f"{driver / batches * 1000:.2f} ms (driver); peak RSS: {peaks}; load average {os.getloadavg()[0]:.2f}"
        )
    finally:
        service.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
