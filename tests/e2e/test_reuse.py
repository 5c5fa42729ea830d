"""Step reuse end to end (issue 4): what the key holds and what it does not, and the explanation of each
decision. The journal counts how often each script really ran; every test builds its pipeline afresh, as a
rerun notebook (or a CI job) would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import requests

from durableml.core import Experiment
from durableml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from durableml.pipeline.steps import PythonScriptStep
from durableml.source_snapshot import file_sha256

from ._helpers import STEPS_DIR, ensure_compute, journal_counts, step, step_summary

EXPERIMENT = "e2e-reuse"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env(service: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ws = service.workspace()
    return {
        "ws": ws,
        "compute": ensure_compute(ws),
        "service": service,
        "journal": tmp_path_factory.mktemp("reuse") / "journal.txt",
        "runs": {},
    }


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A private copy of the step project with ignore files: ``.amlignore`` wins over ``.gitignore``."""
    target = tmp_path / "src"
    shutil.copytree(STEPS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / ".gitignore").write_text("notes.txt\n")
    (target / ".amlignore").write_text("scratch/\n*.log\nsecret.cfg\n")
    (target / "notes.txt").write_text("notes v1")
    (target / "run.log").write_text("log v1")
    (target / "secret.cfg").write_text("threshold=1")
    return target


def build(env: dict[str, Any], allow_reuse_a: bool = True) -> Pipeline:
    """A -> B over PipelineData."""
    store = env["ws"].get_default_datastore()
    a_out = PipelineData("a_out", datastore=store)
    step("A", env["journal"], env["compute"], output=a_out, allow_reuse=allow_reuse_a)
    b = step("B", env["journal"], env["compute"], inputs=[a_out])
    return Pipeline(workspace=env["ws"], steps=[b])


def submit(env: dict[str, Any], pipeline: Pipeline, experiment: str = EXPERIMENT, **options: Any) -> Any:
    run: Any = Experiment(env["ws"], experiment).submit(pipeline, **options)
    status = run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    assert status == "Finished", f"{status}\n{step_summary(run)}\n{env['service'].log_tail()}"
    return run


def reused_from(run: Any) -> dict[str, Any]:
    return {s.name: s.get_details().get("reusedFrom") for s in run.get_steps()}


def step_ids(run: Any) -> dict[str, str]:
    return {s.name: s.id for s in run.get_steps()}


def one_step(env: dict[str, Any], name: str, source: Path, **options: Any) -> Pipeline:
    """A single step ``name`` running step.py from ``source``."""
    return Pipeline(env["ws"], [step(name, env["journal"], env["compute"], source=source, **options)])


# ---------------------------------------------------------------------------------------------- the rules
def test_first_run_runs_every_step(env: dict[str, Any]) -> None:
    run = submit(env, build(env))
    env["runs"]["first"] = run
    assert reused_from(run) == {"A": None, "B": None}
    assert journal_counts(env["journal"], "end") == {"A": 1, "B": 1}


def test_unchanged_resubmission_reuses_every_step(env: dict[str, Any]) -> None:
    first = env["runs"]["first"]
    run = submit(env, build(env))
    assert run.id != first.id
    assert reused_from(run) == step_ids(first)
    assert {s.name: s.get_status() for s in run.get_steps()} == {"A": "Finished", "B": "Finished"}
    assert journal_counts(env["journal"], "end") == {"A": 1, "B": 1}, "no script ran again"
    reused_a = run.find_step_run("A")[0].get_output_data("a_out").path_on_datastore
    assert reused_a == first.find_step_run("A")[0].get_output_data("a_out").path_on_datastore
    explanation = run.find_step_run("B")[0].get_reuse_explanation()
    assert explanation.reused and explanation.reused_from == first.find_step_run("B")[0].id
    assert str(explanation).startswith(f"reused from {explanation.reused_from}")
    # a reused step run shows the log and the files of the run that produced its results
    reused, original = run.find_step_run("B")[0], first.find_step_run("B")[0]
    log = reused.get_job_log()
    assert f"reused the results of step run {original.id}" in log and original.get_job_log() in log
    assert reused.get_file_names() == original.get_file_names()


def _instances(env: dict[str, Any], run: Any) -> list[str]:
    """The Durable instances of a run: its pipeline_run and the step_run of each step that started."""
    service = env["service"]
    answer = requests.get(
        f"{service.base_url}/runtime/webhooks/durabletask/instances",
        params={"instanceIdPrefix": run.id},
        headers={"x-functions-key": service.launched.master_key},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return sorted(i["instanceId"] for i in answer.json())


def test_a_fully_reused_pipeline_is_decided_in_one_activity_without_a_step_orchestration(env: dict[str, Any]) -> None:
    first = env["runs"]["first"]
    run = submit(env, build(env))
    assert reused_from(run) == step_ids(first)
    assert _instances(env, run) == [run.id]  # steps_reuse recorded both steps: no step_run was started
    assert run.get_details()["status"] == "Finished" and run.get_details().get("startTimeUtc")
    assert {s.name: s.get_status() for s in run.get_steps()} == {"A": "Finished", "B": "Finished"}
    assert journal_counts(env["journal"], "end") == {"A": 1, "B": 1}


def test_allow_reuse_false_runs_again_and_so_does_its_consumer(env: dict[str, Any]) -> None:
    run = submit(env, build(env, allow_reuse_a=False))
    # A always runs and makes new data, so B (whose key holds A's data key) runs again too.
    assert reused_from(run) == {"A": None, "B": None}
    assert len(_instances(env, run)) == 3  # the pipeline_run and a step_run each
    assert journal_counts(env["journal"], "end") == {"A": 2, "B": 2}
    a = run.find_step_run("A")[0].get_reuse_explanation()
    assert "allow_reuse=False" in " ".join(a.reasons)
    b = run.find_step_run("B")[0].get_reuse_explanation()
    assert b.changed("input") == ["a_out"], b.changes
    assert "the step that produces it changed" in str(b)


def test_regenerate_outputs_runs_again(env: dict[str, Any]) -> None:
    run = submit(env, build(env), regenerate_outputs=True)
    assert reused_from(run) == {"A": None, "B": None}
    assert journal_counts(env["journal"], "end") == {"A": 3, "B": 3}
    assert "regenerate_outputs=True" in str(run.find_step_run("A")[0].get_reuse_explanation())


def test_ignored_and_not_ignored_files(env: dict[str, Any], source: Path) -> None:
    first = submit(env, one_step(env, "files", source))
    assert journal_counts(env["journal"], "end")["files"] == 1

    # Ignored by .amlignore: same snapshot, reused.
    (source / "run.log").write_text("log v2")
    (source / "scratch").mkdir()
    (source / "scratch" / "tmp.txt").write_text("anything")
    again = submit(env, one_step(env, "files", source))
    assert reused_from(again) == {"files": first.find_step_run("files")[0].id}

    # notes.txt is only in .gitignore, and .amlignore wins: it is part of the snapshot, so the step runs.
    old = file_sha256(source / "notes.txt")
    (source / "notes.txt").write_text("notes v2")
    changed = submit(env, one_step(env, "files", source))
    assert reused_from(changed) == {"files": None}
    assert journal_counts(env["journal"], "end")["files"] == 2
    explanation = changed.find_step_run("files")[0].get_reuse_explanation()
    assert explanation.compared_with == again.find_step_run("files")[0].id
    assert explanation.changes == [
        {"what": "file", "name": "notes.txt", "old": old, "new": file_sha256(source / "notes.txt")}
    ]
    assert "file notes.txt changed" in str(explanation)

    # A new non-ignored file is named as added.
    (source / "extra.py").write_text("x = 1\n")
    added = submit(env, one_step(env, "files", source))
    assert added.find_step_run("files")[0].get_reuse_explanation().changed("file") == ["extra.py"]


def test_hash_paths_add_ignored_files_to_the_key(env: dict[str, Any], source: Path) -> None:
    first = submit(env, one_step(env, "hashed", source, hash_paths=["secret.cfg"]))
    (source / "secret.cfg").write_text("threshold=2")  # ignored by .amlignore, but named in hash_paths
    second = submit(env, one_step(env, "hashed", source, hash_paths=["secret.cfg"]))
    assert reused_from(second) == {"hashed": None}
    assert second.find_step_run("hashed")[0].get_reuse_explanation().changed("file") == ["secret.cfg"]
    assert first.find_step_run("hashed")[0].get_status() == "Finished"
    (source / "run.log").write_text("log v3")  # ignored and not named: still reused
    third = submit(env, one_step(env, "hashed", source, hash_paths=["secret.cfg"]))
    assert reused_from(third) == {"hashed": second.find_step_run("hashed")[0].id}


def test_compute_target_and_display_name_are_not_in_the_key(env: dict[str, Any], source: Path) -> None:
    other = ensure_compute(env["ws"], "e2e-cpu-other")

    def named(display: str, compute: Any) -> Pipeline:
        arguments = ["--name", "same-work", "--journal", str(env["journal"])]
        return Pipeline(
            env["ws"],
            [
                PythonScriptStep(
                    script_name="step.py",
                    name=display,
                    arguments=arguments,
                    compute_target=compute,
                    source_directory=str(source),
                )
            ],
        )

    first = submit(env, named("original name", env["compute"]))
    second = submit(env, named("renamed", other))
    assert reused_from(second) == {"renamed": first.find_step_run("original name")[0].id}
    assert journal_counts(env["journal"], "end")["same-work"] == 1


def test_parameter_and_argument_changes_are_named(env: dict[str, Any], source: Path) -> None:
    value = PipelineParameter("value", default_value="one")

    def pipeline() -> Pipeline:
        return one_step(env, "param", source, extra=["--value", value])

    submit(env, pipeline())
    same = submit(env, pipeline(), pipeline_parameters={"value": "one"})
    assert reused_from(same)["param"] is not None
    changed = submit(env, pipeline(), pipeline_parameters={"value": "two"})
    assert reused_from(changed) == {"param": None}
    explanation = changed.find_step_run("param")[0].get_reuse_explanation()
    assert {(c["what"], c["name"], c["old"], c["new"]) for c in explanation.changes} == {
        ("parameter", "value", "one", "two"),
        ("argument", "[5]", "one", "two"),
    }
    # The HTTP API gives the same answer.
    answer = env["service"].api("GET", f"/api/runs/{changed.find_step_run('param')[0].id}/reuse").json()
    assert answer["changes"] == explanation.changes and answer["reused"] is False


def test_reuse_across_working_directories(env: dict[str, Any], source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(source.parent)
    first = submit(env, one_step(env, "cwd", Path("src")))  # source_directory relative to the parent
    monkeypatch.chdir(source)
    second = submit(env, one_step(env, "cwd", Path(".")))
    assert reused_from(second) == {"cwd": first.find_step_run("cwd")[0].id}


SUBMITTER = textwrap.dedent(
    """
    import json, sys, urllib.request
    from pathlib import Path
    from durableml.core import Workspace
    from durableml.pipeline.core import Pipeline
    from durableml.pipeline.submission import attach_snapshots
    from tests.e2e._helpers import step

    config, journal, source = sys.argv[1:4]
    ws = Workspace.from_config(path=config)
    compute = ws.compute_targets["e2e-cpu"]
    document = Pipeline(ws, [step("ci", journal, compute, source=Path(source))]).to_document()
    attach_snapshots(document, ws._client)
    endpoint, key = json.load(open(config))["endpoint"], json.load(open(config))["key"]
    request = urllib.request.Request(endpoint + "/api/experiments/e2e-reuse-ci/runs", method="POST",
                                     data=json.dumps({"document": document, "parameters": {}}).encode(),
                                     headers={"x-functions-key": key, "content-type": "application/json"})
    with urllib.request.urlopen(request) as response:
        print(json.load(response)["id"])
    """
)


def test_reuse_of_a_run_submitted_over_http_by_another_process(
    env: dict[str, Any], source: Path, tmp_path: Path
) -> None:
    first = submit(env, one_step(env, "ci", source))
    elsewhere = tmp_path / "ci-job"
    elsewhere.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SUBMITTER,
            str(env["service"].project / "config.json"),
            str(env["journal"]),
            str(source),
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    from durableml.pipeline.core import PipelineRun

    run = PipelineRun(Experiment(env["ws"], "e2e-reuse-ci"), run_id)
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished", step_summary(run)
    assert reused_from(run) == {"ci": first.find_step_run("ci")[0].id}
    assert journal_counts(env["journal"], "end")["ci"] == 1


def test_explanation_of_a_first_run_and_of_a_pipeline_run(env: dict[str, Any], source: Path) -> None:
    run = submit(env, one_step(env, "lonely", source), experiment="e2e-reuse-other")
    explanation = run.find_step_run("lonely")[0].get_reuse_explanation()
    assert not explanation.reused and explanation.compared_with is None
    assert "no earlier run of step 'lonely' in experiment 'e2e-reuse-other'" in str(explanation)
    answer = env["service"].api("GET", f"/api/runs/{run.id}/reuse")
    assert answer.status_code == 400 and "is a pipeline run" in answer.json()["error"]["message"]
    assert env["service"].api("GET", "/api/runs/no-such-run/reuse").status_code == 404


def test_step_record_holds_its_key_components(env: dict[str, Any]) -> None:
    record = env["runs"]["first"].find_step_run("B")[0].get_details()
    components = record["reuse"]["components"]
    assert set(components) == {
        "kind",
        "settings",
        "snapshot",
        "arguments",
        "parameters",
        "inputs",
        "outputs",
        "version",
        "policy",
    }
    assert set(components["inputs"]["a_out"]) == {"mode", "pathOnCompute", "output", "data"}
    text = json.dumps(components)
    assert env["runs"]["first"].id not in text and "e2e-cpu" not in text and record["id"] not in text


# ---------------------------------------------------------------------------------------------- stable keys
COMPILER = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from durableml._canonical import canonical_json
    from durableml.core import Workspace
    from durableml.pipeline.core import Pipeline, PipelineData, PipelineParameter
    from durableml.pipeline.steps import PythonScriptStep

    config, journal, source, reverse = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
    ws = Workspace.from_config(path=config)
    store = ws.get_default_datastore()
    params = [("alpha", "1"), ("beta", PipelineParameter("p_beta", default_value=2)), ("gamma", "3")]
    ordered = dict(reversed(params) if reverse else params)  # dict order must not matter
    left, right = PipelineData("left", datastore=store), PipelineData("right", datastore=store)
    common = dict(compute_target="e2e-cpu", source_directory=source, script_name="step.py")
    top = PythonScriptStep(name="top", arguments=["--name", "top", "--journal", journal, "--out", left],
                           outputs=[left], params=ordered, **common)
    side = PythonScriptStep(name="side", arguments=["--name", "side", "--journal", journal, "--out", right],
                            outputs=[right], **common)
    join = PythonScriptStep(name="join", arguments=["--name", "join", "--journal", journal, "--in", left,
                                                    "--in", right], inputs=[right, left] if reverse else [left, right],
                            **common)
    print(canonical_json(Pipeline(ws, [top, side, join]).to_document()))  # the listed order is the document's
    """
)


def compile_elsewhere(env: dict[str, Any], source: Path, cwd: Path, reverse: bool, seed: str) -> str:
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            COMPILER,
            str(env["service"].project / "config.json"),
            str(env["journal"]),
            str(source),
            "1" if reverse else "0",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONHASHSEED": seed},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_compiling_twice_gives_identical_documents_and_service_keys(
    env: dict[str, Any], source: Path, tmp_path: Path
) -> None:
    from durableml.pipeline.core import PipelineRun
    from durableml.pipeline.submission import attach_snapshots

    first = compile_elsewhere(env, source, tmp_path / "one", reverse=False, seed="1")
    second = compile_elsewhere(env, source, tmp_path / "two" / "deeper", reverse=True, seed="2")
    assert first == second, "the same pipeline compiled to different bytes"
    keys = []
    for text in (first, second):
        document = json.loads(text)
        attach_snapshots(document, env["ws"]._client)
        body = {"document": document, "parameters": {}, "regenerateOutputs": True}  # both runs compute every key
        answer = env["service"].api("POST", "/api/experiments/e2e-reuse-keys/runs", json=body)
        assert answer.status_code == 202, answer.text
        run = PipelineRun(Experiment(env["ws"], "e2e-reuse-keys"), answer.json()["id"])
        assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished", step_summary(run)
        assert reused_from(run) == {"top": None, "side": None, "join": None}
        keys.append({s.name: s.get_details()["reuse"]["key"] for s in run.get_steps()})
    assert keys[0] == keys[1]
    assert len(set(keys[0].values())) == 3


def test_reuse_of_a_run_started_through_the_published_pipeline_rest_endpoint(env: dict[str, Any], source: Path) -> None:
    """Reuse works across experiments and submission paths: a v1 REST ``PipelineSubmit`` run reuses a step
    that an SDK submission ran."""
    import requests

    from durableml.pipeline.core import PipelineRun

    first = submit(env, one_step(env, "published", source))
    published = one_step(env, "published", source).publish(name="reuse-rest", description="reuse", version="1")
    response = requests.post(
        published.endpoint,
        headers={"x-functions-key": env["service"].key},
        json={"ExperimentName": "e2e-reuse-rest", "RunSource": "API"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    run = PipelineRun(Experiment(env["ws"], "e2e-reuse-rest"), response.json()["Id"])
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished", step_summary(run)
    assert reused_from(run) == {"published": first.find_step_run("published")[0].id}
    assert journal_counts(env["journal"], "end")["published"] == 1


def test_an_over_limit_source_directory_is_refused_before_anything_is_created(
    env: dict[str, Any], source: Path
) -> None:
    from durableml.exceptions import SnapshotException
    from durableml.source_snapshot import SNAPSHOT_MAX_FILES

    (source / "data").mkdir()
    for index in range(SNAPSHOT_MAX_FILES):
        (source / "data" / f"row{index:04}.csv").write_text("1\n")
    experiment = Experiment(env["ws"], "e2e-reuse-too-big")
    with pytest.raises(SnapshotException, match=r"more than a snapshot may \(2000 files.*\.amlignore"):
        experiment.submit(one_step(env, "too-big", source))
    assert env["service"].api("GET", "/api/experiments/e2e-reuse-too-big/runs").json() == []
    (source / ".amlignore").write_text("data/\n")  # the fix the message names
    run = submit(env, one_step(env, "too-big", source), experiment="e2e-reuse-too-big")
    assert run.find_step_run("too-big")[0].get_status() == "Finished"


def test_reuse_ahead_takes_the_unchanged_steps_and_leaves_the_changed_one_and_what_follows_it(
    env: dict[str, Any],
) -> None:
    journal = env["journal"].parent / "ahead.txt"

    def chain(c_argument: str) -> Pipeline:
        store = env["ws"].get_default_datastore()
        a_out, b_out, c_out = (PipelineData(n, datastore=store) for n in ("a_out", "b_out", "c_out"))
        step("A", journal, env["compute"], output=a_out)
        step("B", journal, env["compute"], inputs=[a_out], output=b_out)
        step("C", journal, env["compute"], inputs=[b_out], output=c_out, extra=["--value", c_argument])
        d = step("D", journal, env["compute"], inputs=[c_out])
        return Pipeline(workspace=env["ws"], steps=[d])

    first = submit(env, chain("one"))
    run = submit(env, chain("two"))
    assert reused_from(run) == {"A": step_ids(first)["A"], "B": step_ids(first)["B"], "C": None, "D": None}
    assert journal_counts(journal, "end") == {"A": 1, "B": 1, "C": 2, "D": 2}
    assert len(_instances(env, run)) == 3  # the pipeline_run, and a step_run for C and for D only
