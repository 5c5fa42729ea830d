"""AmlCompute steps on a real two-node Ray cluster (issue 14), chosen by configuration only.

* The seed pipeline (examples/compare_models/pipeline.py, unchanged) runs on a service whose app settings say
  ``DURABLEML_AMLCOMPUTE_BACKEND=ray`` + ``DURABLEML_RAY_ADDRESS``, and on one without them (the local
  backend); each step's outputs are byte-identical, and every step of the Ray run was a Ray job (its submission
  id is the step run id) while none of the local run's was.
* A Ray cluster attached with ``RayCompute.attach_configuration(address, auth_header=...)`` (a durableml
  extension) is an AmlCompute target: its auth header is sealed (in no record, no log) and a 50-way fan-out plus
  a join runs on it.
"""

from __future__ import annotations

import filecmp
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durableml.core import Experiment
from durableml.core.compute import AmlCompute, ComputeTarget, RayCompute
from durableml.pipeline.core import Pipeline, PipelineData, PipelineRun
from durableml.pipeline.steps import PythonScriptStep
from tests.e2e.conftest import Service, running_service
from tests.polling import wait_until
from tests.ray_cluster import RayCluster

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compare_models"
EXPERIMENT = "Compare_Models_Exp"
OUTPUTS = {"train.py": "output_data1", "extract.py": "output_data2", "compare.py": "out_data3"}
SECRET = "Bearer ray-secret-6f1d9c2ab7"
FAN_OUT = 50


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """durableml as deployed by default: AmlCompute steps are local processes."""
    with running_service(None, tmp_path_factory.mktemp("local-e2e")) as svc:
        yield svc


@pytest.fixture(scope="module")
def ray_service(ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """durableml whose deployment backs every AmlCompute target by the Ray cluster (app settings only)."""
    settings = {"DURABLEML_AMLCOMPUTE_BACKEND": "ray", "DURABLEML_RAY_ADDRESS": ray_cluster.address}
    with running_service(None, tmp_path_factory.mktemp("ray-e2e"), env=settings) as svc:
        yield svc


def run_example(service: Service, folder: Path) -> str:
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("config.json", "results", "__pycache__"))
    service.write_config(folder)
    done = subprocess.run([sys.executable, "pipeline.py"], cwd=folder, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"pipeline.py failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    found = re.search(r"Run (\S+) finished with status (\w+)\.", done.stdout)
    assert found and found.group(2) == "Finished", done.stdout
    return found.group(1)


def step_outputs(service: Service, run_id: str, into: Path) -> dict[str, Path]:
    """Each step's output downloaded under ``into/<script>``; returns script -> folder of the output's files."""
    run = PipelineRun(service.workspace().experiments[EXPERIMENT], run_id)
    folders = {}
    for script, output in OUTPUTS.items():
        step = run.find_step_run(script)[0]
        data = step.get_output_data(output)
        assert data.download(local_path=str(into / script)) >= 1
        folders[script] = into / script / data.path_on_datastore
    return folders


def ray_submissions(cluster: RayCluster, ids: list[str]) -> dict[str, str]:
    """Step run id -> the Ray job's status, for the ids the cluster ran as jobs."""
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(cluster.address)
    jobs = {job.submission_id: str(job.status.value) for job in client.list_jobs()}
    return {i: jobs[i] for i in ids if i in jobs}


def same_tree(left: Path, right: Path) -> bool:
    names = sorted(p.relative_to(left).as_posix() for p in left.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(right).as_posix() for p in right.rglob("*") if p.is_file())
    match, mismatch, errors = filecmp.cmpfiles(left, right, names, shallow=False)
    return not mismatch and not errors and len(match) == len(names)


def test_the_seed_pipeline_runs_on_ray_by_configuration_with_the_local_outputs(
    ray_service: Service, service: Service, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    on_ray = run_example(ray_service, tmp_path / "ray" / "compare_models")
    on_local = run_example(service, tmp_path / "local" / "compare_models")
    ray_steps = [s.id for s in PipelineRun(ray_service.workspace().experiments[EXPERIMENT], on_ray).get_steps()]
    local_steps = [s.id for s in PipelineRun(service.workspace().experiments[EXPERIMENT], on_local).get_steps()]
    wait_until(lambda: ray_submissions(ray_cluster, ray_steps) == {sid: "SUCCEEDED" for sid in ray_steps}, what="jobs")
    assert ray_submissions(ray_cluster, local_steps) == {}
    ray_out = step_outputs(ray_service, on_ray, tmp_path / "ray-out")
    local_out = step_outputs(service, on_local, tmp_path / "local-out")
    for script in OUTPUTS:
        assert same_tree(ray_out[script], local_out[script]), f"{script}'s output differs between Ray and local"
    reports = [next((tmp_path / side / "compare_models" / "results").rglob("report.json")) for side in ("ray", "local")]
    assert reports[0].read_bytes() == reports[1].read_bytes()
    train = PipelineRun(ray_service.workspace().experiments[EXPERIMENT], on_ray).find_step_run("train.py")[0]
    assert "trained on" in train.get_job_log(), "the driver log of a Ray step reaches the run's logs"


@pytest.fixture(scope="module")
def attached(service: Service, ray_cluster: RayCluster) -> Any:
    ws = service.workspace()
    config = RayCompute.attach_configuration(ray_cluster.address, auth_header=SECRET, max_nodes=4)
    assert SECRET not in repr(config)
    target = ComputeTarget.attach(ws, "ray-attached", config)
    return ws, target


def test_an_attached_ray_cluster_is_an_amlcompute_target_with_its_auth_header_sealed(
    attached: Any, service: Service
) -> None:
    ws, target = attached
    assert type(target) is AmlCompute and type(ComputeTarget(ws, "ray-attached")) is AmlCompute
    for record in (
        target.serialize(),
        ComputeTarget(ws, "ray-attached").serialize(),
        service.api("GET", "/api/computes/ray-attached").text,
    ):
        assert SECRET not in str(record) and "ray-secret" not in str(record)


def test_a_50_way_fan_out_and_a_join_run_on_the_attached_cluster(
    attached: Any, service: Service, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    ws, target = attached
    source = tmp_path / "fan"
    source.mkdir()
    (source / "part.py").write_text(
        "import os, sys\nindex, out = sys.argv[1], sys.argv[2]\nos.makedirs(out, exist_ok=True)\n"
        "open(os.path.join(out, 'part.txt'), 'w').write(str(int(index) ** 2))\n",
        encoding="utf-8",
    )
    (source / "join.py").write_text(
        "import os, sys\ntotal = sum(int(open(os.path.join(p, 'part.txt')).read()) for p in sys.argv[1:])\n"
        "print('total', total)\n",
        encoding="utf-8",
    )
    parts = [PipelineData(f"part{i}", datastore=ws.get_default_datastore()) for i in range(FAN_OUT)]
    steps: list[Any] = [
        PythonScriptStep(
            script_name="part.py",
            name=f"part{i}",
            arguments=[str(i), parts[i]],
            outputs=[parts[i]],
            compute_target=target,
            source_directory=str(source),
            allow_reuse=False,
        )
        for i in range(FAN_OUT)
    ]
    steps.append(
        PythonScriptStep(
            script_name="join.py",
            name="join",
            arguments=parts,
            inputs=parts,
            compute_target=target,
            source_directory=str(source),
            allow_reuse=False,
        )
    )
    run: Any = Experiment(ws, "ray-fan-out").submit(Pipeline(ws, steps))
    run.wait_for_completion(show_output=False, timeout_seconds=300, raise_on_error=False)
    assert run.get_status() == "Finished", [
        (s.name, s.get_status(), s.get_details().get("error")) for s in run.get_steps()
    ]
    join = run.find_step_run("join")[0]
    assert f"total {sum(i * i for i in range(FAN_OUT))}" in join.get_job_log()
    ids = [s.id for s in run.get_steps()]
    # the join's entrypoint may still be exiting: the step ended when its result was written, the Ray job just after
    wait_until(lambda: ray_submissions(ray_cluster, ids) == {sid: "SUCCEEDED" for sid in ids}, timeout=30, what="jobs")
    assert SECRET not in service.log_tail(100000)
