"""PipelineEndpoint.publish / add / add_default / set_default with an unpublished Pipeline (issue 12, item 6).

v1's ``PipelineEndpoint.publish(workspace, name, description, pipeline)`` accepts a ``Pipeline`` and publishes
it first, named ``<endpoint name>-<%m-%d-%Y-%H-%M>-Pipeline`` and described ``Description for <that name>``
(azureml-pipeline-core, ``pipeline_endpoint.py``). durableml does the same there, and in ``add``,
``add_default`` and ``set_default`` too. The code below is v1 code: ``azureml.*`` through the alias,
``Workspace.from_config()``, against funchost + Azurite.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest


from ._helpers import ensure_compute

PUBLISHED_NAME = re.compile(r"^(?P<endpoint>.+)-\d\d-\d\d-\d{4}-\d\d-\d\d-Pipeline$")


@pytest.fixture(scope="module")
def project(v1_project: Path) -> Path:
    """The v1 project directory (config.json, the alias on) with the step's source folder ``src``."""
    (v1_project / "src").mkdir(exist_ok=True)
    script = "import argparse\np = argparse.ArgumentParser()\np.add_argument('--label')\n"
    (v1_project / "src" / "hello.py").write_text(script + "print('hello', p.parse_args().label)\n")
    return v1_project


@pytest.fixture
def ws(project: Path, v1_ws: Any) -> Any:
    return v1_ws


def _pipeline(ws: Any, label: str) -> Any:
    from azureml.pipeline.core import Pipeline
    from azureml.pipeline.steps import PythonScriptStep

    step = PythonScriptStep(
        name=f"hello-{label}",
        script_name="hello.py",
        arguments=["--label", label],
        source_directory="src",
        compute_target=ensure_compute(ws),
        allow_reuse=False,
    )
    return Pipeline(workspace=ws, steps=[step])


def _check_published_for(endpoint_name: str, published: Any) -> None:
    match = PUBLISHED_NAME.match(published.name or "")
    assert match and match["endpoint"] == endpoint_name, published.name
    assert published.description == f"Description for {published.name}"


def test_publish_an_unpublished_pipeline_then_run_it(ws: Any) -> None:
    from azureml.pipeline.core import PipelineEndpoint

    endpoint = PipelineEndpoint.publish(
        workspace=ws, name="from-a-pipeline", description="v1 publishes it for you", pipeline=_pipeline(ws, "v0")
    )
    assert [v.version for v in endpoint.list_versions()] == ["0"] and endpoint.get_default_version() == "0"
    _check_published_for("from-a-pipeline", endpoint.get_pipeline())
    run = endpoint.submit("endpoint-publish")
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert [step.name for step in run.get_steps()] == ["hello-v0"]


def test_add_add_default_and_set_default_take_a_pipeline(ws: Any) -> None:
    from azureml.pipeline.core import PipelineEndpoint

    first = _pipeline(ws, "v0").publish(name="published-first", description="published by hand")
    endpoint = PipelineEndpoint.publish(workspace=ws, name="versions-from-pipelines", description="d", pipeline=first)

    endpoint.add(_pipeline(ws, "v1"))
    assert endpoint.get_default_version() == "0"
    endpoint.add_default(_pipeline(ws, "v2"))
    assert endpoint.get_default_version() == "2"
    endpoint.set_default(_pipeline(ws, "v3"))  # a pipeline published now is in no version yet: it is added
    assert endpoint.get_default_version() == "3"

    again = PipelineEndpoint.get(workspace=ws, name="versions-from-pipelines")
    versions = {v.version: v.pipeline for v in again.list_versions()}
    assert sorted(versions) == ["0", "1", "2", "3"] and versions["0"].id == first.id
    for version in ("1", "2", "3"):
        _check_published_for("versions-from-pipelines", versions[version])
    assert len({p.id for p in versions.values()}) == 4
    endpoint.set_default(first)  # a PublishedPipeline still selects its own version
    assert endpoint.get_default_version() == "0"
    run = again.submit("endpoint-publish", pipeline_version="3")
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert [step.name for step in run.get_steps()] == ["hello-v3"]


def test_anything_else_is_refused_as_v1_does(ws: Any) -> None:
    from azureml.pipeline.core import PipelineEndpoint

    with pytest.raises(ValueError, match="pipeline should be either type Pipeline or PublishedPipeline"):
        PipelineEndpoint.publish(workspace=ws, name="refused", description="d", pipeline="not a pipeline")
    with pytest.raises(Exception, match="PipelineEndpoint name not found"):
        PipelineEndpoint.get(workspace=ws, name="refused")  # nothing was created
