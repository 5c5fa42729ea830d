"""Containment: the rules of durableml._names for paths and storage names, as properties over path encodings.

Two properties carry the weight:
* nothing accepted can escape its root under any reading a tool could apply: percent-decoding (repeated),
  Unicode NFKC, "\\" as "/". Checked by resolving every reading under a root with posixpath;
* nothing ordinary is refused: letters of any script, digits, spaces, '-', '_' and dots inside names.

Plus the document rules (script names, data paths, snapshot ids), the JSON body's nesting bound, and the step
runner's last line: a job whose script lies outside its snapshot does not run it.
"""

from __future__ import annotations

import json
import posixpath
import unicodedata
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from durableml._names import (
    check_blob_name,
    check_blob_prefix,
    check_container_name,
    check_datastore_name,
    check_relative_path,
    path_problem,
)
from durableml.exceptions import DocumentValidationError, InvalidNameError, ValidationError
from durableml.json_body import MAX_DEPTH, nesting_depth, parse_object
from durableml.pipeline.document import check_paths, document_issues
from durableml.runner.step_runner import script_path

ROOT = "/root/of/the/snapshot"
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# pieces a path can be made of: dots, separators and their encodings, lookalikes, ordinary letters
DOTS = ["..", ".", "%2e", "%2E", "%252e", "．", "‥", "︰", "%2e%2e", "%u002e"]
SEPARATORS = ["/", "\\", "%2f", "%2F", "%5c", "%5C", "%252f", "／", "＼", "//"]
OTHER = ["a", "b c", "é", "名", "x.py", "%", "%2", "C:", "~", " "]
PIECES = st.lists(st.sampled_from(DOTS + SEPARATORS + OTHER), min_size=1, max_size=10).map("".join)
ESCAPES = [
    "..",
    "%2e%2e",
    "%2E%2E",
    ".%2e",
    "%2e.",
    "%252e%252e",
    "．．",
    "‥",
    "︰",
    "％２ｅ％２ｅ",
]


def readings(value: str) -> set[str]:
    """Every way a tool could read ``value``: percent-decoded and NFKC-normalised in any order, "\\" as "/"."""
    found, fresh = {value}, {value}
    for _ in range(6):
        fresh = {urllib.parse.unquote(t) for t in fresh} | {unicodedata.normalize("NFKC", t) for t in fresh}
        fresh -= found
        if not fresh:
            break
        found |= fresh
    return {t.replace("\\", "/") for t in found}


def stays_inside(value: str, rooted: bool = False) -> bool:
    """Whether every reading of ``value`` resolves under ROOT (``rooted``: a leading "/" means ROOT itself, as in
    a datastore path, where it is stripped)."""
    for text in readings(value):
        resolved = posixpath.normpath(posixpath.join(ROOT, text.lstrip("/") if rooted else text))
        if resolved != ROOT and not resolved.startswith(ROOT + "/"):
            return False
        if "\x00" in text:
            return False
    return True


# ---------------------------------------------------------------------------------------------- escaping
@PROPERTY
@given(PIECES)
@example("stage\\..\\..\\x")
@example("a/%2e%2e/b")
@example("％２ｅ％２ｅ/etc")
def test_nothing_accepted_as_a_relative_path_can_escape(value: str) -> None:
    try:
        check_relative_path(value, "settings.scriptName")
    except ValidationError:
        return
    assert stays_inside(value), f"{value!r} was accepted, yet a reading of it leaves its folder: {readings(value)}"


@PROPERTY
@given(PIECES)
def test_nothing_accepted_as_a_blob_name_or_prefix_can_escape(value: str) -> None:
    for check in (check_blob_name, check_blob_prefix):
        try:
            check(value, "datastore path")
        except ValidationError:
            continue
        # a datastore path may start with '/' (v1 tolerated it; it is stripped): the datastore's root
        assert stays_inside(value, rooted=True), f"{check.__name__} accepted {value!r}: {readings(value)}"
        assert "\\" not in value


@PROPERTY
@given(
    st.lists(st.sampled_from(["a", "data", "名前", "x y"]), max_size=3),
    st.sampled_from(ESCAPES),
    st.sampled_from(SEPARATORS),
    st.lists(st.sampled_from(["b", "file.csv"]), max_size=2),
)
def test_a_dotdot_segment_in_any_encoding_is_refused(
    before: list[str], escape: str, separator: str, after: list[str]
) -> None:
    value = separator.join([*before, escape, *after])
    assert path_problem(value), value
    for check in (check_relative_path, check_blob_name, check_blob_prefix):
        with pytest.raises(ValidationError, match="not allowed"):
            check(value, "the path")


@pytest.mark.parametrize(
    "value",
    ["/etc/passwd", "\\etc", "%2fetc", "%252Fetc", "／etc", "C:/Windows/x.py", "c:x", "\\\\server\\share\\x.py"],
)
def test_an_absolute_path_is_refused_as_a_script(value: str) -> None:
    with pytest.raises(ValidationError, match="absolute path"):
        check_relative_path(value, "settings.scriptName")


@pytest.mark.parametrize("value", ["a\x00b", "a%00b", "a\nb", "a\x7fb", "a\u2028b", "a%0d%0ab"])
def test_control_characters_are_refused_in_any_reading(value: str) -> None:
    for check in (check_relative_path, check_blob_name, check_blob_prefix):
        with pytest.raises(ValidationError, match="control character"):
            check(value, "the path")


@pytest.mark.parametrize(
    "value,problem",
    [
        ("stage\\..\\..\\x", "'..'"),
        ("stage\\x", "it holds '\\'"),
        ("/leading", "absolute"),
        ("folder/", "ends with '/'"),
        ("a//b", "empty or '.'"),
        ("a/./b", "empty or '.'"),
        ("x" * 1025, "1025 characters"),
        ("/".join(["d"] * 255), "255 path segments"),
    ],
)
def test_blob_names_refused_with_the_reason(value: str, problem: str) -> None:
    with pytest.raises(ValidationError) as raised:
        check_blob_name(value, "datastore file path")
    assert problem in str(raised.value) and "datastore file path" in str(raised.value)


# ---------------------------------------------------------------------------------------------- ordinary names
ORDINARY_CHAR = st.characters(categories=("Lu", "Ll", "Lo", "Nd")) | st.sampled_from(" -_")
SEGMENT = st.text(ORDINARY_CHAR, min_size=1, max_size=12).flatmap(
    lambda stem: st.sampled_from(["", ".py", ".tar.gz", ".."]).map(lambda ext: stem + ext)
)


@PROPERTY
@given(st.lists(SEGMENT, min_size=1, max_size=5))
@example(["my data", "训练集", "v1.2..final.csv"])
@example(["100% done.txt"])
def test_ordinary_paths_are_accepted(segments: list[str]) -> None:
    value = "/".join(segments)
    assert check_relative_path(value, "settings.scriptName") == value
    assert check_blob_name(value, "datastore file path") == value
    assert check_blob_prefix(value, "datastore path") == value
    assert check_blob_prefix(value + "/", "datastore path") == value + "/"


# ---------------------------------------------------------------------------------------------- names
@PROPERTY
@given(st.from_regex(r"[a-z0-9]([a-z0-9]|-(?=[a-z0-9])){2,62}", fullmatch=True))
def test_valid_container_names_are_accepted(name: str) -> None:
    if len(name) <= 63:
        assert check_container_name(name) == name


@pytest.mark.parametrize(
    "name", ["../Bad_Container!", "ab", "x" * 64, "Upper", "a--b", "-ab", "ab-", "a_b", "a.b", "", "$root"]
)
def test_container_names_outside_azures_rules_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError, match="3-63 characters"):
        check_container_name(name)


def test_datastore_names_follow_v1() -> None:
    for good in ("workspaceblobstore", "my_store_2", "X", "A" * 255):
        assert check_datastore_name(good) == good
    for bad in ("my-store", "a b", "../x", "x" * 5000, "", "名前"):
        with pytest.raises(InvalidNameError, match="letters, digits and '_'"):
            check_datastore_name(bad)


# ---------------------------------------------------------------------------------------------- JSON bodies
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:', max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=4), inner),
    max_leaves=20,
)


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


@PROPERTY
@given(JSON)
def test_nesting_depth_ignores_brackets_in_strings(value: Any) -> None:
    assert nesting_depth(json.dumps(value).encode()) == depth_of(value)


def test_a_deeply_nested_body_is_refused_before_it_is_parsed() -> None:
    for depth in (MAX_DEPTH + 1, 100_000):
        raw = b'{"a":' + b"[" * depth + b"]" * depth + b"}"
        with pytest.raises(ValidationError, match=f"at most {MAX_DEPTH}"):
            parse_object(raw)
    fine = b'{"a":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    assert parse_object(fine)["a"] == json.loads(fine)["a"]
    for bad in (b"[1]", b"NaN", b'{"x": Infinity}', b"\xff", b"{"):
        with pytest.raises(ValidationError, match="JSON object"):
            parse_object(bad)


# ---------------------------------------------------------------------------------------------- documents
def document(settings: dict[str, Any], kind: str = "python_script", **step: Any) -> dict[str, Any]:
    base = {
        "id": "s1",
        "name": "s1",
        "kind": kind,
        "computeTarget": "cpu",
        "allowReuse": True,
        "version": None,
        "arguments": [],
        "inputs": {},
        "outputs": {},
        "runAfter": [],
        "settings": settings,
        "snapshot": {"sourceDirectory": "/home/me/project", "hashPaths": [], "id": "a" * 64},
    }
    return {
        "schemaVersion": 1,
        "kind": "durableml.pipeline",
        "description": None,
        "defaultDatastore": None,
        "parameters": {},
        "steps": [{**base, **step}],
        "edges": [],
    }


@pytest.mark.parametrize(
    "settings,kind,field",
    [
        ({"scriptName": "/etc/x.py"}, "python_script", "settings.scriptName"),
        ({"scriptName": "../x.py"}, "python_script", "settings.scriptName"),
        ({"scriptName": "src\\..\\..\\x.py"}, "python_script", "settings.scriptName"),
        ({"scriptName": "%2e%2e/x.py"}, "adla", "settings.scriptName"),
        (
            {"entryScript": "．．/x.py", "miniBatchSize": 1, "nodeCount": 1, "outputAction": "append_row"},
            "parallel_run",
            "settings.entryScript",
        ),
        (
            {
                "entryScript": "x.py",
                "miniBatchSize": 1,
                "nodeCount": 1,
                "outputAction": "append_row",
                "appendRowFileName": "../../x.txt",
            },
            "parallel_run",
            "settings.appendRowFileName",
        ),
        ({"target": {"kind": "python_script_name", "value": "/x.py"}}, "databricks", "python_script_name"),
    ],
)
def test_a_document_whose_script_leaves_its_snapshot_is_refused(
    settings: dict[str, Any], kind: str, field: str
) -> None:
    issues = document_issues(document(settings, kind))
    assert [i.code for i in issues] == ["bad_path"], issues
    assert field in issues[0].message and "not allowed" in issues[0].message
    assert "relative to its folder" in issues[0].message


def test_a_databricks_notebook_path_may_be_absolute() -> None:
    assert document_issues(document({"target": {"kind": "notebook_path", "value": "/Users/me/nb"}}, "databricks")) == []


def test_data_paths_and_snapshot_ids_of_a_document_are_checked() -> None:
    source = {"kind": "datastore", "datastore": "workspaceblobstore", "path": "data/..\\../secrets"}
    binding = {
        "source": source,
        "mode": "download",
        "pathOnCompute": None,
        "overwrite": False,
        "datasetType": None,
        "view": None,
        "sideInput": False,
    }
    doc = document({"scriptName": "train.py"}, inputs={"raw": binding})
    doc["steps"][0]["snapshot"]["id"] = "../../manifests/x"
    issues = document_issues(doc)
    assert {i.path for i in issues} == {"$.steps[0].inputs.raw.source.path", "$.steps[0].snapshot.id"}, issues
    source["path"] = "/data/train/"  # a leading '/' stays allowed in data paths, as in v1
    doc["steps"][0]["snapshot"]["id"] = "b" * 64
    assert document_issues(doc) == []
    source["path"] = "data/%2e%2e/x"
    with pytest.raises(DocumentValidationError) as raised:
        check_paths(doc)
    assert raised.value.issues[0].path == "$.steps[0].inputs.raw.source.path"


# ---------------------------------------------------------------------------------------------- the runner
def test_the_runner_refuses_a_script_outside_its_snapshot(tmp_path: Path) -> None:
    snapshot = tmp_path / "job" / "snapshot"
    (snapshot / "src").mkdir(parents=True)
    (snapshot / "src" / "train.py").write_text("print('ok')\n")
    (tmp_path / "outside.py").write_text("print('escaped')\n")
    (snapshot / "link.py").symlink_to(tmp_path / "outside.py")
    assert script_path("src/train.py", snapshot) == "src/train.py"
    assert script_path("src/../src/train.py", snapshot) == "src/../src/train.py"
    assert script_path("-m.py", snapshot) == "./-m.py"  # a file, never an interpreter option
    for outside in ("../../outside.py", str(tmp_path / "outside.py"), "link.py", ".", "", "a\x00b"):
        with pytest.raises(ValueError, match="outside the step's source snapshot"):
            script_path(outside, snapshot)


def test_the_drivers_read_no_script_outside_their_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The U-SQL and ParallelRunStep drivers run in the snapshot and read no script outside it (one check:
    durableml.runner.workdir.in_snapshot, as script_path)."""
    import json

    from durableml.runner import adla, parallel_run
    from durableml.runner.workdir import in_snapshot

    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "job.usql").write_text("@a = SELECT 1 AS x FROM (VALUES (1)) AS T(x);\n")
    (tmp_path / "outside.usql").write_text("secret\n")
    (tmp_path / "outside.py").write_text("def run(mini_batch):\n    return mini_batch\n")
    monkeypatch.chdir(snapshot)
    assert in_snapshot("job.usql") == (snapshot / "job.usql").resolve()
    for outside in ("../outside.usql", str(tmp_path / "outside.usql"), "job.usql\x00"):
        with pytest.raises(ValueError, match="outside the step's source snapshot"):
            in_snapshot(outside)
        assert adla.main([outside, "--output", "out", str(tmp_path / "o.csv")]) != 0
        assert "outside the step's source snapshot" in capsys.readouterr().out
    for outside in ("../outside.py", str(tmp_path / "outside.py")):
        config = {"entry_script": outside, "mini_batch_size": "1", "node_count": 1, "process_count_per_node": 1,
                  "error_threshold": 0, "output_action": "append_row", "append_row_file_name": "out.txt",
                  "run_invocation_timeout": 5.0, "run_max_try": 1, "allowed_failed_count": None,
                  "allowed_failed_percent": None, "logging_level": "INFO", "partition_keys": [],
                  "inputs": []}  # fmt: skip
        assert parallel_run.main(["--durableml-config", json.dumps(config)]) == 2
        assert "entry_script" in capsys.readouterr().err


def test_a_key_no_record_can_have_is_not_found_and_never_stored(service_storage: None) -> None:
    """Names and ids from requests become table keys: one no record can have is 'not found' (404), never a storage
    error (500), and storing under one is a ValidationError (400) naming the problem (real Azurite)."""
    from durableml.exceptions import RunNotFoundError
    from durableml.service import runs
    from durableml.service.records import records

    for key in ("a/b", "a\\b", "a#b", "a?b", "a\x01b", "k" * 513):
        assert records().get("dmlRuns", "run", key) is None
        with pytest.raises(RunNotFoundError):
            runs.get_run(key)
        with pytest.raises(ValidationError, match="cannot name a record"):
            records().put("dmlRuns", "run", key, {"id": key})
        with pytest.raises(LookupError):
            records().update("dmlRuns", "run", key, lambda doc: None)


def test_an_inputs_path_on_compute_has_no_dotdot() -> None:
    binding = {
        "source": {"kind": "datastore", "datastore": "workspaceblobstore", "path": "data/"},
        "mode": "download",
        "pathOnCompute": "data/%2e%2e/../../home",
        "overwrite": False,
        "datasetType": None,
        "view": None,
        "sideInput": False,
    }
    doc = document({"scriptName": "train.py"}, inputs={"raw": binding})
    issues = document_issues(doc)
    assert [i.path for i in issues] == ["$.steps[0].inputs.raw.pathOnCompute"], issues
    assert "path_on_compute" in issues[0].message
    for fine in ("data/raw", "/tmp/raw"):  # v1's path_on_compute may name any folder of the node
        binding["pathOnCompute"] = fine
        assert document_issues(doc) == []


def test_a_data_transfer_destination_path_has_no_dotdot() -> None:
    settings = {"destination": {"datastore": "workspaceblobstore", "path": "out/%2e%2e/%2e%2e/x"}}
    issues = document_issues(document(settings, "data_transfer", snapshot=None))
    assert [i.path for i in issues] == ["$.steps[0].settings.destination.path"], issues
    settings["destination"]["path"] = "/out/copied/"
    assert document_issues(document(settings, "data_transfer", snapshot=None)) == []
