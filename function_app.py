"""durableml's Function App: wiring only. Every function lives in a blueprint module."""

import azure.durable_functions as df
import azure.functions as func

from activities.notifications import bp as notification_activities
from activities.pipeline import bp as pipeline_activities
from orchestrators.pipeline_run import bp as pipeline_run
from orchestrators.step_run import bp as step_run
from triggers.api import bp as api
from triggers.models import bp as models
from triggers.published import bp as published
from triggers.schedules import bp as schedules

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
):
    app.register_functions(blueprint)
