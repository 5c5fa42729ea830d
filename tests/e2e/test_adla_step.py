"""AdlaStep end to end, as v1 code writes it: an attached AdlaCompute, a U-SQL script (projects/adla) reading a
CSV DataReference, aggregating and writing a PipelineData that a PythonScriptStep reads and that is downloaded;
a step param replaces a DECLARE EXTERNAL; a script using a construct outside the subset fails with it and its line.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parent / "projects" / "adla"

SALES = """region,product,amount,day
west,apple,10,2024-01-02
east,apple,5,2024-01-03
west,pear,7.5,2024-01-04
east,fig,1,2024-01-05
test,fig,100,2024-01-06
"north, far",fig,3,2024-01-07
"""


@pytest.fixture
def ws(v1_ws: Any) -> Any:
    from azureml.core.compute import AdlaCompute, ComputeTarget

    from ._helpers import ensure_compute

    ensure_compute(v1_ws)
    if "adla" not in v1_ws.compute_targets:
        config = AdlaCompute.attach_configuration(resource_group="analytics", account_name="salesadla")
        ComputeTarget.attach(v1_ws, "adla", config).wait_for_completion()
    return v1_ws


def _sales(ws: Any, tmp_path: Path) -> Any:
    from azureml.data.data_reference import DataReference

    store = ws.get_default_datastore()
    folder = f"adla-{uuid.uuid4().hex[:8]}"
    (tmp_path / "sales.csv").write_text(SALES)
    store.upload_files([str(tmp_path / "sales.csv")], target_path=folder, overwrite=True)
    return DataReference(store, "sales", f"{folder}/sales.csv", mode="download")


def test_a_usql_script_aggregates_a_csv_into_pipeline_data(ws: Any, tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline, PipelineData
    from azureml.pipeline.steps import AdlaStep, PythonScriptStep

    sales = _sales(ws, tmp_path)
    totals = PipelineData("totals", datastore=ws.get_default_datastore())
    adla = AdlaStep(
        name="totals", script_name="totals.usql", source_directory=str(PROJECT), inputs=[sales], outputs=[totals],
        params={"minimum": 2}, degree_of_parallelism=2, priority=100, compute_target="adla", allow_reuse=False,
    )  # fmt: skip
    read = PythonScriptStep(
        script_name="read_totals.py", name="read-totals", source_directory=str(PROJECT), compute_target="e2e-cpu",
        arguments=["--totals", totals], inputs=[totals], allow_reuse=False,
    )  # fmt: skip
    run: Any = Experiment(ws, "e2e-adla-step").submit(Pipeline(ws, [adla, read]))
    status = run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    from ._helpers import step_summary

    assert status == "Finished", step_summary(run)
    log = run.find_step_run("totals")[0].get_job_log()
    assert "OUTPUT to" in log and "3 row(s)" in log, log
    read_log = run.find_step_run("read-totals")[0].get_job_log()
    # amount >= 2 (the param) and not the test region: east's 1 is left out
    for line in ("total west: 2 orders, 17.5", "total east: 1 orders, 5", "total north, far: 1 orders, 3"):
        assert line in read_log, read_log

    out = run.find_step_run("totals")[0].get_output_data("totals")
    out.download(local_path=str(tmp_path / "out"))
    text = (tmp_path / "out" / out.path_on_datastore).read_text()
    assert text.splitlines() == ['"region",orders,total', '"west",2,17.5', '"east",1,5.0', '"north, far",1,3.0'], text


def test_a_construct_outside_the_subset_fails_the_step_with_its_line(ws: Any, tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline, PipelineData
    from azureml.pipeline.steps import AdlaStep

    cleaned = PipelineData("cleaned", datastore=ws.get_default_datastore())
    step = AdlaStep(script_name="udf.usql", source_directory=str(PROJECT), inputs=[_sales(ws, tmp_path)],
                    outputs=[cleaned], compute_target="adla", allow_reuse=False)  # fmt: skip
    assert step.name == "udf.usql"
    run: Any = Experiment(ws, "e2e-adla-step").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False) == "Failed"
    error = str(run.find_step_run("udf.usql")[0].get_details().get("error"))
    assert "U-SQL line 6: REFERENCE ASSEMBLY" in error and "not supported" in error, error


def test_a_second_run_reuses_the_step_and_a_changed_param_runs_it_again(ws: Any, tmp_path: Path) -> None:
    from azureml.core import Experiment
    from azureml.pipeline.core import Pipeline, PipelineData
    from azureml.pipeline.steps import AdlaStep

    sales = _sales(ws, tmp_path)

    def pipeline(minimum: int) -> Any:
        totals = PipelineData("totals", datastore=ws.get_default_datastore())
        step = AdlaStep(script_name="totals.usql", source_directory=str(PROJECT), inputs=[sales], outputs=[totals],
                        params={"minimum": minimum}, compute_target="adla")  # fmt: skip
        return Pipeline(ws, [step])

    runs = []
    for minimum in (2, 2, 6):
        run: Any = Experiment(ws, "e2e-adla-step").submit(pipeline(minimum))
        assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
        runs.append(run.find_step_run("totals.usql")[0])
    first, second, third = (step.get_details().get("reusedFrom") for step in runs)
    assert first is None and second == runs[0].id and third is None, (first, second, third)
    out = runs[2].get_output_data("totals")
    out.download(local_path=str(tmp_path / "out"))
    text = (tmp_path / "out" / out.path_on_datastore).read_text()
    assert text.splitlines() == ['"region",orders,total', '"west",2,17.5'], text
