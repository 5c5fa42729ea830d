"""A step's output read by the next step as a TabularDataset, the v1 ways: ``PipelineData.as_dataset()
.parse_delimited_files()`` and ``OutputFileDatasetConfig.read_delimited_files()``, both through
``Run.get_context().input_datasets[name].to_pandas_dataframe()``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._helpers import ensure_compute, step_summary

PROJECT = Path(__file__).resolve().parent / "projects" / "output_tables"


def test_outputs_read_as_tables_downstream(v1_ws: Any) -> None:
    from azureml.core import Experiment
    from azureml.data import OutputFileDatasetConfig
    from azureml.pipeline.core import Pipeline, PipelineData
    from azureml.pipeline.steps import PythonScriptStep

    compute = ensure_compute(v1_ws)
    prepared = PipelineData("prepared", datastore=v1_ws.get_default_datastore())
    exported = OutputFileDatasetConfig(name="exported")
    write_a = PythonScriptStep("write_table.py", name="write-a", arguments=[prepared], outputs=[prepared],
                               compute_target=compute, source_directory=str(PROJECT), allow_reuse=False)  # fmt: skip
    write_b = PythonScriptStep("write_table.py", name="write-b", arguments=[exported], compute_target=compute,
                               source_directory=str(PROJECT), allow_reuse=False)  # fmt: skip
    read = PythonScriptStep(
        "read_table.py", name="read", compute_target=compute, source_directory=str(PROJECT), allow_reuse=False,
        inputs=[prepared.as_dataset().parse_delimited_files().as_named_input("from_pipeline_data"),
                exported.read_delimited_files().as_input("from_output_config")],
    )  # fmt: skip
    run: Any = Experiment(v1_ws, "e2e-output-tables").submit(Pipeline(v1_ws, [read]))
    status = run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    assert status == "Finished", step_summary(run)
    log = run.find_step_run("read")[0].get_job_log()
    for name in ("from_output_config", "from_pipeline_data"):
        assert f"TABLE {name} rows=3 sum=60 columns=['id', 'value']" in log, log
    assert write_a.name == "write-a" and write_b.name == "write-b"
