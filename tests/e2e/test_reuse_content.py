"""Reuse of steps that read data (issue 4 items 3 and 5): v1's definition policy keys an input by where it
is (datastore + path, dataset id + version), so new data at the same path is *not* noticed; the opt-in
content policy keys it by the MD5 (else ETag) of every blob behind it, listed when the step is about to run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from durableml.core import Dataset, Experiment
from durableml.data.data_reference import DataReference
from durableml.pipeline.core import Pipeline, PipelineData

from ._helpers import ensure_compute, journal_counts, step, step_summary

EXPERIMENT = "e2e-reuse-content"


@pytest.fixture(scope="module")
def env(service: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ws = service.workspace()
    work = tmp_path_factory.mktemp("content")
    return {
        "ws": ws,
        "store": ws.get_default_datastore(),
        "compute": ensure_compute(ws),
        "service": service,
        "journal": work / "journal.txt",
        "work": work,
    }


def put(env: dict[str, Any], path: str, text: str) -> None:
    """Write ``text`` to ``path`` on the default datastore (overwriting)."""
    local = env["work"] / "upload" / Path(path).name
    local.parent.mkdir(exist_ok=True)
    local.write_text(text)
    env["store"].upload_files([str(local)], target_path=str(Path(path).parent), overwrite=True, show_progress=False)


def reader(env: dict[str, Any], name: str, folder: str, **options: Any) -> Any:
    ref = DataReference(datastore=env["store"], data_reference_name="raw", path_on_datastore=folder)
    return step(name, env["journal"], env["compute"], extra=["--in", ref], inputs=[ref], **options)


def submit(env: dict[str, Any], pipeline: Pipeline) -> Any:
    run: Any = Experiment(env["ws"], EXPERIMENT).submit(pipeline)
    status = run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    assert status == "Finished", f"{status}\n{step_summary(run)}\n{env['service'].log_tail()}"
    return run


def reused(run: Any, name: str) -> Any:
    return run.find_step_run(name)[0].get_details().get("reusedFrom")


def test_definition_policy_keys_a_data_reference_by_datastore_and_path(env: dict[str, Any]) -> None:
    put(env, "def-data/names.txt", "alpha")
    first = submit(env, Pipeline(env["ws"], [reader(env, "by-path", "def-data")]))
    put(env, "def-data/names.txt", "beta")  # new data, same path: v1 does not notice
    second = submit(env, Pipeline(env["ws"], [reader(env, "by-path", "def-data")]))
    assert reused(second, "by-path") == first.find_step_run("by-path")[0].id
    components = second.find_step_run("by-path")[0].get_details()["reuse"]["components"]
    assert components["inputs"]["raw"]["datastore"] == "workspaceblobstore"
    assert components["inputs"]["raw"]["path"] == "def-data"
    moved = submit(env, Pipeline(env["ws"], [reader(env, "by-path", "def-data/names.txt")]))
    assert reused(moved, "by-path") is None
    assert moved.find_step_run("by-path")[0].get_reuse_explanation().changed("input") == ["raw"]


def test_content_policy_reruns_on_a_changed_blob_and_reuses_an_unchanged_one(env: dict[str, Any]) -> None:
    put(env, "content-data/names.txt", "alpha")
    put(env, "content-data/more/other.txt", "x")
    put(env, "content-data-2/names.txt", "not part of content-data")

    def pipeline() -> Pipeline:
        return Pipeline(env["ws"], [reader(env, "by-content", "content-data", reuse_policy="content")])

    first = submit(env, pipeline())
    unchanged = submit(env, pipeline())
    assert reused(unchanged, "by-content") == first.find_step_run("by-content")[0].id

    put(env, "content-data/names.txt", "gamma")
    changed = submit(env, pipeline())
    assert reused(changed, "by-content") is None
    explanation = changed.find_step_run("by-content")[0].get_reuse_explanation()
    assert explanation.changed("input") == ["raw: workspaceblobstore/content-data/names.txt"], explanation.changes

    put(env, "content-data/names.txt", "gamma")  # written again, same bytes
    rewritten = submit(env, pipeline())
    assert reused(rewritten, "by-content") == changed.find_step_run("by-content")[0].id
    put(env, "content-data-2/names.txt", "a neighbour changed")  # a sibling prefix is not under the path
    neighbour = submit(env, pipeline())
    assert reused(neighbour, "by-content") == changed.find_step_run("by-content")[0].id
    assert journal_counts(env["journal"], "end")["by-content"] == 2


def test_pipeline_wide_content_policy_sees_through_a_step_that_always_runs(env: dict[str, Any]) -> None:
    """A step with allow_reuse=False runs every time; with content keys, its unchanged output still lets the
    consumer reuse (under v1's policy the consumer would run again)."""

    def pipeline() -> Pipeline:
        out = PipelineData("fresh_out", datastore=env["store"])
        step("fresh", env["journal"], env["compute"], output=out, allow_reuse=False)
        consumer = step("consumer", env["journal"], env["compute"], inputs=[out])
        return Pipeline(env["ws"], [consumer], reuse_policy="content")

    document = pipeline().to_document()
    assert {s["name"]: s.get("reusePolicy") for s in document["steps"]} == {"fresh": "content", "consumer": "content"}
    first = submit(env, pipeline())
    second = submit(env, pipeline())
    assert reused(second, "fresh") is None
    assert reused(second, "consumer") == first.find_step_run("consumer")[0].id
    assert journal_counts(env["journal"], "end")["fresh"] == 2
    assert journal_counts(env["journal"], "end")["consumer"] == 1


def test_dataset_inputs_are_keyed_by_id_and_version(env: dict[str, Any]) -> None:
    put(env, "ds-data/names.txt", "one")
    Dataset.File.from_files((env["store"], "ds-data/**")).register(env["ws"], "reuse-ds", create_new_version=True)

    def pipeline() -> Pipeline:
        dataset = Dataset.get_by_name(env["ws"], "reuse-ds")
        consumed = dataset.as_named_input("ds")
        return Pipeline(env["ws"], [step("ds-reader", env["journal"], env["compute"], inputs=[consumed])])

    first = submit(env, pipeline())
    identity = first.find_step_run("ds-reader")[0].get_details()["reuse"]["components"]["inputs"]["ds"]
    assert identity["version"] == 1 and identity["dataset"]
    assert reused(submit(env, pipeline()), "ds-reader") == first.find_step_run("ds-reader")[0].id
    Dataset.File.from_files((env["store"], "ds-data/names.txt")).register(
        env["ws"], "reuse-ds", create_new_version=True
    )
    newer = submit(env, pipeline())
    assert reused(newer, "ds-reader") is None
    change = newer.find_step_run("ds-reader")[0].get_reuse_explanation().changes
    assert [(c["what"], c["name"], c["old"]["version"], c["new"]["version"]) for c in change] == [("input", "ds", 1, 2)]
