"""The pure parts of the compute protocol and the step runner (no Azurite, no processes)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from durableml.compute import JobSpec, JobState, input_placeholder, output_placeholder
from durableml.compute.local.job_files import create_json_once, read_json
from durableml.compute.base import job_report, status_from_report
from durableml.exceptions import ValidationError
from durableml.runner.context import error_summary, make_redactor, parse_metrics, step_environment
from durableml.runner.staging import resolve_arguments

SECRET = "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=c2VjcmV0a2V5;BlobEndpoint=http://x"


def spec(**fields: Any) -> JobSpec:
    base: dict[str, Any] = {
        "job_id": "step-1",
        "run_id": "run-1",
        "step_name": "train",
        "snapshot": "/src",
        "script_name": "train.py",
        "connection_string": SECRET,
    }
    return JobSpec(**{**base, **fields})


def test_a_spec_round_trips_through_its_dict_and_hides_its_secrets_in_repr() -> None:
    original = spec(
        arguments=["--x", input_placeholder("data")],
        notify={"url": "http://h/?code=k"},
        inputs={"data": {"container": "c", "path_on_datastore": "p", "mode": "download"}},
    )
    assert JobSpec.from_dict(original.to_dict()) == original
    assert "AccountKey" not in repr(original) and "code=k" not in repr(original)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"job_id": "../escape"}, "job id '../escape' is not valid"),
        ({"job_id": ""}, "job id '' is not valid"),
        ({"script_name": ""}, "script_name must be a non-empty string"),
        ({"arguments": [3]}, "argument 3 must be a string or an input/output placeholder"),
        ({"arguments": [output_placeholder("model")]}, "refers to output 'model', which is not among"),
        ({"inputs": {"d": {"container": "c", "path_on_datastore": "p", "mode": "stream"}}}, "has mode 'stream'"),
        ({"outputs": {"m": {"path_on_datastore": "p"}}}, "output 'm' needs 'container' and 'path_on_datastore'"),
        ({"timeout": 0}, "timeout must be a positive number"),
    ],
)
def test_a_bad_spec_is_refused_with_a_precise_message(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(".", r"\.")):
        spec(**fields)


def test_unknown_spec_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"unknown fields \['scriptname'\]"):
        JobSpec.from_dict({**spec().to_dict(), "scriptname": "x.py"})


def test_terminal_states() -> None:
    assert [s.value for s in JobState if s.is_terminal] == ["Finished", "Failed", "Canceled"]


def test_placeholders_become_local_paths() -> None:
    args = ["--in", input_placeholder("raw"), "--out", output_placeholder("clean"), "--lr", "0.1"]
    assert resolve_arguments(args, {"raw": "/i/raw"}, {"clean": "/o/clean"}) == [
        "--in",
        "/i/raw",
        "--out",
        "/o/clean",
        "--lr",
        "0.1",
    ]


def test_the_script_environment_has_no_storage_secrets(tmp_path: Path) -> None:
    base = {
        "PATH": "/bin",
        "AzureWebJobsStorage": SECRET,
        "AzureWebJobsStorage__blobServiceUri": "http://x",
        "OTHER": f"prefix {SECRET}",
        "PYTHONPATH": "/mine",
    }
    env = step_environment(
        spec(environment={"MY_FLAG": "1"}),
        tmp_path / "context.json",
        {"raw": "/i/raw"},
        {"model": "/o/model"},
        base,
        [SECRET],
    )
    assert not any(SECRET in value or "AccountKey" in value for value in env.values())
    assert "AzureWebJobsStorage__blobServiceUri" not in env
    assert env["PATH"] == "/bin" and env["MY_FLAG"] == "1" and env["DURABLEML_AZUREML_ALIAS"] == "1"
    assert env["AZUREML_DATAREFERENCE_raw"] == "/i/raw" and env["AZUREML_DATAREFERENCE_model"] == "/o/model"
    paths = env["PYTHONPATH"].split(os.pathsep)
    assert paths[0].endswith("_startup") and paths[-1] == "/mine"


def test_the_redactor_hides_secrets_and_key_values() -> None:
    redact = make_redactor([SECRET, "http://host/raiseEvent?code=abcdefgh"])
    assert redact(f"bad {SECRET} here") == "bad *** here"
    assert redact("AccountKey=zzz;x=1 and code=qqq&y") == "AccountKey=***;x=1 and code=***&y"


def test_metrics_lines_are_parsed_and_bad_ones_reported(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text(
        '{"name": "a", "value": 1}\n\n{"name": "b"}\n{"name": "c", "value": 2, "kind": 7}\n'
        '{"name": "d", "value": "p.png", "kind": "image"}\n[1]\n'
    )
    metrics, problems = parse_metrics(path)
    assert metrics == [{"name": "a", "value": 1, "kind": "scalar"}, {"name": "d", "value": "p.png", "kind": "image"}]
    assert [p.split(" ")[2] for p in problems] == ["3", "4", "6"]
    assert parse_metrics(tmp_path / "missing.jsonl") == ([], [])


def test_the_error_is_the_last_traceback_or_the_last_lines() -> None:
    log = (
        "noise\nTraceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'x'\n"
        'handled, then\nTraceback (most recent call last):\n  File "b.py", line 2\nValueError: bad\n'
    )
    assert error_summary(log, 1) == 'Traceback (most recent call last):\n  File "b.py", line 2\nValueError: bad'
    assert error_summary("line 1\nline 2\n", 2) == "the script exited with code 2:\nline 1\nline 2"
    assert error_summary("", -9) == "the script exited with code -9 and printed nothing"


def test_create_once_keeps_the_first_content(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    assert create_json_once(path, {"n": 1}) is True
    assert create_json_once(path, {"n": 2}) is False
    assert read_json(path) == {"n": 1}
    assert list(tmp_path.iterdir()) == [path]  # no temp files left behind


def test_a_job_report_carries_the_result_unless_it_is_too_big_for_an_orchestration_history() -> None:
    result = {
        "job_id": "j1",
        "status": "Finished",
        "exit_code": 0,
        "error": None,
        "started": "2026-01-01T00:00:00.000000Z",
        "ended": "2026-01-01T00:00:01.000000Z",
        "outputs": {"out": {"container": "c", "path": "p", "kind": "directory", "files": 1}},
        "metrics": [{"name": "acc", "value": 0.9, "kind": "scalar"}],
        "attempt": 1,
        "log": {"container": "durableml-logs", "blob": "r/j1/70_driver_log.txt"},
    }
    report = job_report(result)
    assert report == {
        **{k: result[k] for k in ("job_id", "status", "exit_code", "error", "started", "ended", "outputs", "metrics")},
        "complete": True,
    }
    assert status_from_report("j1", report) == status_from_report("j1", result)
    many = {**result, "metrics": [{"name": f"m{i}", "value": "x" * 100} for i in range(200)]}
    assert job_report(many) == {"job_id": "j1", "status": "Finished", "exit_code": 0, "complete": False}
