"""The "why (not) reused" answer for one step run (``GET /api/runs/{id}/reuse``): :func:`explain`.

A reused step run names the run whose outputs it took. Otherwise the step's recorded key components are
compared with those of the most recent earlier run of the same step, and every difference is listed:
files of the snapshot (path, old and new sha256, from the per-file manifests), arguments, parameters,
inputs (for content-keyed inputs, which files), settings, outputs, version and policy. Reasons that
forbid reuse whatever changed (``allow_reuse=False``, ``regenerate_outputs=True``, a resumed run) are
listed as well.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from durableml.exceptions import ValidationError
from durableml.service import snapshots
from durableml.service.records import RUNS, records
from durableml.service.runs import PARTITION, RunStatic, get_run, run_static

Change = dict[str, Any]


def explain(step_run: str) -> dict[str, Any]:
    """Why step run ``step_run`` was (not) reused: ``{"stepRunId", "name", "reused", "reusedFrom", "comparedWith",
    "reasons", "changes": [{"what", "name", "old", "new"}], "message"}`` (``record_types.ReuseExplanation``)."""
    record = get_run(step_run)
    if record["kind"] != "step":
        raise ValidationError(
            f"run '{step_run}' is a pipeline run; ask one of its step runs "
            "(PipelineRun.get_steps()) why it was or was not reused"
        )
    run = run_static(record["parent_id"])
    step: dict[str, Any] = next((s for s in run.document["steps"] if s["id"] == record["step_id"]), {})
    previous = None if record.get("reused_from") else _previous(record)
    return explanation(record, run, step, previous)


def _previous(record: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """The most recent earlier run of the same step (display name) in the same experiment, with a key."""
    found = records().query(
        RUNS,
        PARTITION,
        "experiment eq @e and kind eq 'step' and name eq @n",
        {"e": record["experiment"], "n": record["name"]},
    )
    earlier = [
        r
        for r in found
        if (r.get("reuse") or {}).get("components")
        and r["created"] < record["created"]
        and r.get("parent_id") != record.get("parent_id")
    ]
    return max(earlier, key=lambda r: r["created"], default=None)


def explanation(
    record: Mapping[str, Any], run: RunStatic, step: Mapping[str, Any], previous: Optional[Mapping[str, Any]]
) -> dict[str, Any]:
    """The explanation of ``record`` (a stored step run of ``run``), compared with ``previous`` when given."""
    answer: dict[str, Any] = {
        "stepRunId": record["id"],
        "name": record["name"],
        "reused": False,
        "reusedFrom": record.get("reused_from"),
        "comparedWith": None,
        "reasons": [],
        "changes": [],
    }
    if record.get("reused_from"):
        answer["reused"] = True
        answer["message"] = f"reused from {record['reused_from']}: its outputs are this step's outputs"
        return answer
    if not record.get("reuse"):
        answer["message"] = (
            f"step run {record['id']} is {record['status']}: it never started, so it has no reuse key to explain"
        )
        return answer
    answer["reasons"] = _reasons(run, step)
    if previous is None:
        answer["message"] = _lines(
            "not reused",
            answer["reasons"]
            + [f"no earlier run of step '{record['name']}' in experiment '{record['experiment']}' to compare with"],
        )
        return answer
    answer["comparedWith"] = previous["id"]
    answer["changes"] = changes(previous["reuse"]["components"], record["reuse"]["components"])
    shown = [_describe(c) for c in answer["changes"]]
    if not shown and not answer["reasons"]:
        shown = [_unchanged(previous)]
    head = f"not reused; compared with step run {previous['id']} (pipeline run {previous.get('parent_id')})"
    answer["message"] = _lines(head, answer["reasons"] + shown)
    return answer


def _reasons(run: RunStatic, step: Mapping[str, Any]) -> list[str]:
    found = []
    if run.resumed_steps is not None:
        found.append(f"this run resumes {run.resumed_from}, where this step did not finish: it runs again")
    elif not step.get("allowReuse", True):
        found.append("allow_reuse=False: this step always runs")
    elif run.regenerate_outputs:
        found.append("the pipeline run was submitted with regenerate_outputs=True: every step runs")
    return found


def _unchanged(previous: Mapping[str, Any]) -> str:
    if previous.get("status") != "Finished":
        return (
            f"nothing changed, but step run {previous['id']} ended {previous.get('status')}, "
            "so it left no result to reuse"
        )
    return (
        f"nothing changed, but step run {previous['id']} had not finished when this step started, "
        "so there was no result to reuse yet"
    )


def _lines(head: str, items: list[str]) -> str:
    return head + ("".join(f"\n  - {item}" for item in items) if items else "")


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every difference between two steps' key components, most telling first."""
    found: list[Change] = []
    if old.get("snapshot") != new.get("snapshot"):
        found += _file_changes(old.get("snapshot"), new.get("snapshot"))
    for name in sorted(set(old.get("parameters", {})) | set(new.get("parameters", {}))):
        _add(found, "parameter", name, old.get("parameters", {}).get(name), new.get("parameters", {}).get(name))
    old_args, new_args = old.get("arguments", []), new.get("arguments", [])
    for index in range(max(len(old_args), len(new_args))):
        _add(found, "argument", f"[{index}]", _at(old_args, index), _at(new_args, index))
    for name in sorted(set(old.get("inputs", {})) | set(new.get("inputs", {}))):
        found += _input_changes(name, old.get("inputs", {}).get(name), new.get("inputs", {}).get(name))
    for path, (was, now) in sorted(_flat_diff(old.get("settings"), new.get("settings"), "").items()):
        _add(found, "setting", path, was, now)
    for path, (was, now) in sorted(_flat_diff(old.get("outputs"), new.get("outputs"), "").items()):
        _add(found, "output", path, was, now)
    for field in ("kind", "version", "policy"):
        _add(found, field, field, old.get(field), new.get(field))
    return found


def _add(found: list[Change], what: str, name: str, old: Any, new: Any) -> None:
    if old != new:
        found.append({"what": what, "name": name, "old": old, "new": new})


def _at(values: list[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


def _file_changes(old_id: Optional[str], new_id: Optional[str]) -> list[Change]:
    old_files, new_files = _files(old_id), _files(new_id)
    found = [
        {"what": "file", "name": path, "old": old_files.get(path), "new": new_files.get(path)}
        for path in sorted(set(old_files) | set(new_files))
        if old_files.get(path) != new_files.get(path)
    ]
    return found or [{"what": "snapshot", "name": "snapshot", "old": old_id, "new": new_id}]


def _files(snapshot_id: Optional[str]) -> dict[str, str]:
    if not snapshot_id:
        return {}
    manifest = snapshots.manifest(snapshot_id)
    return {**manifest.get("hashed", {}), **manifest.get("files", {})}


def _input_changes(name: str, old: Optional[Mapping[str, Any]], new: Optional[Mapping[str, Any]]) -> list[Change]:
    if old == new:
        return []
    if (
        old
        and new
        and "content" in old
        and "content" in new
        and "files" in old["content"]
        and "files" in new["content"]
        and _where(old) == _where(new)
    ):
        was, now = old["content"]["files"], new["content"]["files"]
        return [
            {
                "what": "input",
                "name": f"{name}: {_where(new)}/{path}".replace("//", "/"),
                "old": was.get(path),
                "new": now.get(path),
            }
            for path in sorted(set(was) | set(now))
            if was.get(path) != now.get(path)
        ]
    return [{"what": "input", "name": name, "old": old, "new": new}]


def _where(identity: Mapping[str, Any]) -> str:
    if identity.get("output"):
        return f"output {identity['output']}"
    return f"{identity.get('datastore')}/{identity.get('path')}"


def _flat_diff(old: Any, new: Any, prefix: str) -> dict[str, tuple[Any, Any]]:
    """``{dotted path: (old, new)}`` for the leaves where two JSON values differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: dict[str, tuple[Any, Any]] = {}
        for key in set(old) | set(new):
            found.update(_flat_diff(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key)))
        return found
    return {} if old == new else {prefix or "(all)": (old, new)}


def _describe(change: Mapping[str, Any]) -> str:
    what, name, old, new = change["what"], change["name"], change["old"], change["new"]
    if what == "file":
        if old is None:
            return f"file {name} was added (sha256 {_short(new)})"
        if new is None:
            return f"file {name} was removed (sha256 {_short(old)})"
        return f"file {name} changed: sha256 {_short(old)} -> {_short(new)}"
    if what == "input" and isinstance(old, dict) and isinstance(new, dict) and "data" in old and "data" in new:
        return (
            f"input {name}: the step that produces it changed (data key {_short(old['data'])} -> {_short(new['data'])})"
        )
    return f"{what} {name}: {_show(old)} -> {_show(new)}"


def _short(value: Any) -> str:
    text = str(value)
    return text[:12] if len(text) > 12 else text


def _show(value: Any) -> str:
    import json

    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."
