"""The AdlaStep driver: runs a U-SQL script (the common subset, :mod:`durableml.runner.usql`) on DuckDB.

``python adla.py SCRIPT [--input NAME PATH]... [--output NAME PATH]... [--params JSON] [--threads N]``

The step runner has staged the inputs and prepared the outputs (their local paths are the arguments); the
driver replaces v1's ``@@name@@`` placeholders in the script by those paths and by the params' values,
translates the script to DuckDB SQL (refusing, before anything runs, whatever is outside the subset), and runs
it statement by statement in an in-memory database. ``OUTPUT ... TO`` an output's own path writes that file
(the output is then a file, as on ADLA); a path under it writes inside its folder. A step param also replaces
the default of a ``DECLARE EXTERNAL`` of its name. ``--threads`` is the step's ``degree_of_parallelism``.

A script that cannot run ends the step with its reason as the last line of the log and exit code 1:
``AdlaStep failed: U-SQL line 12: REFERENCE ASSEMBLY (assemblies / C# code) is not supported ...``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

from durableml.runner.workdir import in_snapshot
from durableml.runner.usql import PRELUDE, Output, Step, UsqlError, substitute_placeholders, translate

USAGE = "usage: adla.py SCRIPT [--input NAME PATH]... [--output NAME PATH]... [--params JSON] [--threads N]"


class _Failed(Exception):
    pass


def _parse(args: list[str]) -> tuple[str, dict[str, str], dict[str, str], dict[str, Any], int]:
    if not args:
        raise _Failed(USAGE)
    script, rest = args[0], args[1:]
    inputs: dict[str, str] = {}
    outputs: dict[str, str] = {}
    params: dict[str, Any] = {}
    threads = 0
    while rest:
        flag = rest.pop(0)
        if flag in ("--input", "--output") and len(rest) >= 2:
            (inputs if flag == "--input" else outputs)[rest[0]] = rest[1]
            rest = rest[2:]
        elif flag == "--params" and rest:
            params = dict(json.loads(rest.pop(0)))
        elif flag == "--threads" and rest:
            threads = int(rest.pop(0))
        else:
            raise _Failed(USAGE)
    return script, inputs, outputs, params, threads


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _read_path(path: str) -> str:
    """A folder is read as all of its files (a PipelineData written as a folder)."""
    return os.path.join(path, "*") if os.path.isdir(path) else path


def _prepare_target(path: str) -> None:
    """The output's own (empty) folder becomes its file; parent folders are created."""
    target = Path(path)
    if target.is_dir():
        if any(target.iterdir()):
            raise _Failed(f"OUTPUT TO {path!r}: that is a folder with files in it; write to a file path")
        target.rmdir()
    target.parent.mkdir(parents=True, exist_ok=True)


def _duckdb_message(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    keep = lines[:1] + [line for line in lines[1:] if line.startswith(("Original Line", "Expected Number"))]
    return " | ".join(keep) or type(exc).__name__


def run(steps: list[Step], threads: int = 0) -> None:
    """Run the translated steps in an in-memory DuckDB, logging each."""
    import duckdb

    connection = duckdb.connect(":memory:")
    try:
        if threads > 0:
            connection.execute(f"SET threads = {int(threads)}")
        for sql in PRELUDE:
            connection.execute(sql)
        for step in steps:
            try:
                if isinstance(step, Output):
                    _prepare_target(step.path)
                    described = connection.execute(f"DESCRIBE {step.table}").fetchall()
                    strings = [str(row[0]) for row in described if str(row[1]) == "VARCHAR"]
                    connection.execute(step.copy_sql(strings))
                    count = connection.execute(f"SELECT COUNT(*) FROM {step.table}").fetchone()
                    print(f"line {step.line}: {step.what}: {count[0] if count else 0} row(s)", flush=True)
                else:
                    connection.execute(step.sql)
                    print(f"line {step.line}: {step.what}", flush=True)
            except duckdb.Error as exc:
                raise _Failed(f"U-SQL line {step.line}: {step.what} failed: {_duckdb_message(exc)}") from None
    finally:
        connection.close()


def main(argv: Optional[list[str]] = None) -> int:
    try:
        script, inputs, outputs, params, threads = _parse(list(sys.argv[1:] if argv is None else argv))
        text = in_snapshot(script, what="the U-SQL script").read_text(encoding="utf-8-sig")
        values = {**{k: _text(v) for k, v in params.items()}, **inputs, **outputs}
        steps = translate(substitute_placeholders(text, values), params, _read_path)
        print(f"AdlaStep: {script}: {len(steps)} statement(s) to run on DuckDB", flush=True)
        run(steps, threads)
    except (UsqlError, _Failed, OSError, ValueError) as exc:
        sys.stdout.flush()
        print(f"AdlaStep failed: {exc}", flush=True)
        return 1
    print("AdlaStep: done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
