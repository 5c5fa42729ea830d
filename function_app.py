"""durableml's Function App: wiring only. Every function lives in a blueprint module."""

import os
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

from activities.notifications import bp as notification_activities
from activities.pipeline import bp as pipeline_activities
from orchestrators.pipeline_run import bp as pipeline_run
from orchestrators.step_run import bp as step_run
from triggers.api import bp as api
from triggers.models import bp as models
from triggers.published import bp as published
from triggers.reconcile import bp as reconcile_runs
from triggers.schedules import bp as schedules
from triggers.studio import bp as studio

# The Functions Python worker puts the app's folder on its own sys.path, not on PYTHONPATH, so the processes the
# app starts (local compute workers, step runners) would not find durableml, which lives beside this file in a
# deployment (.python_packages holds only requirements.txt). Appended: installed packages come first, as in the
# worker. tests/infra/test_artifact.py runs the deployment artifact laid out that way.
_APP_DIR = str(Path(__file__).resolve().parent)
_PATHS = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
if _APP_DIR not in _PATHS:
    os.environ["PYTHONPATH"] = os.pathsep.join([*_PATHS, _APP_DIR])

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (
    pipeline_run,
    step_run,
    pipeline_activities,
    notification_activities,
    api,
    published,
    models,
    schedules,
    reconcile_runs,
    studio,
):
    app.register_functions(blueprint)
if os.environ.get("DURABLEML_BLOB_EVENTS_QUEUE"):  # Azure (infra/): blob-created events; locally schedules poll
    from triggers.blob_events import bp as blob_events

    app.register_functions(blob_events)
