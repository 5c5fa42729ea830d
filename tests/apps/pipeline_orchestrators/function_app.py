"""Just the pipeline orchestrator blueprints, for replay tests (no service, no storage)."""

import sys
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from orchestrators.pipeline_run import bp as pipeline_run  # noqa: E402
from orchestrators.step_run import bp as step_run  # noqa: E402

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(pipeline_run)
app.register_functions(step_run)
