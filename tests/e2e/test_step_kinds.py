"""What a PythonScriptStep's kind module (durableml/stepkinds/python_script.py) puts into its job, end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from durableml.core import Experiment
from durableml.pipeline.core import Pipeline, PipelineParameter
from durableml.pipeline.steps import PythonScriptStep

from ._helpers import ensure_compute

PROJECT = Path(__file__).resolve().parent / "projects" / "kinds"


def test_python_script_step_params_reach_the_script_as_aml_parameter_variables(service: Any) -> None:
    ws = service.workspace()
    alpha = PipelineParameter("alpha", default_value=0.5)
    step = PythonScriptStep(
        "show_params.py",
        name="params",
        params={"alpha": alpha, "mode": "fast"},
        compute_target=ensure_compute(ws),
        source_directory=str(PROJECT),
        allow_reuse=False,
    )
    run: Any = Experiment(ws, "e2e-step-kinds").submit(Pipeline(ws, [step]), pipeline_parameters={"alpha": 0.75})
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
    log = run.find_step_run("params")[0].get_job_log()
    seen = json.loads(next(line for line in log.splitlines() if line.startswith("PARAMS "))[7:])
    assert seen == {"AML_PARAMETER_alpha": "0.75", "AML_PARAMETER_mode": "fast"}, log
