"""What the loopback Databricks server runs under ``spark-submit``: a Python file, or a notebook's source.

``python -m``-less by design: ``spark-submit <this file> python <script> <args...>`` or ``... notebook <source
file> <parameters.json>``. It writes what Databricks' runs/get-output reports to the JSON file named by
``DURABLEML_DBX_OUTCOME``: ``{"error", "error_trace"}`` when the code raised, ``{"notebook_result"}`` when a
notebook called ``dbutils.notebook.exit``.

A notebook is Databricks' source format: a first line ``# Databricks notebook source``, cells separated by
``# COMMAND ----------``, magic cells as ``# MAGIC`` lines (``%md`` is skipped, ``%python`` and ``%sql`` run,
``%run ./other`` runs another notebook source beside it in the same globals; other magics fail the run, naming
the magic). Its globals hold ``spark``, ``sc``, ``dbutils`` (``widgets``, ``notebook.exit``, ``fs``),
``getArgument``, ``display`` and ``displayHTML``. DBFS is the folder ``DURABLEML_DBFS_ROOT``.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import sys
import traceback
from pathlib import Path
from typing import Any, Optional

HEADER = "# Databricks notebook source"
SEPARATOR = "# COMMAND ----------"


class NotebookExit(BaseException):
    """``dbutils.notebook.exit(value)``: ends the notebook successfully with ``value`` as its result."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class InputWidgetNotDefined(Exception):
    """A widget read that the run's parameters and the notebook's own widget definitions do not define."""


def dbfs_local(path: str) -> Path:
    """The local file of DBFS path ``path`` (``dbfs:/a/b`` or ``/a/b``) under ``DURABLEML_DBFS_ROOT``."""
    root = Path(os.environ["DURABLEML_DBFS_ROOT"])
    rel = path.removeprefix("dbfs:").lstrip("/")
    target = (root / rel).resolve()
    if target != root.resolve() and root.resolve() not in target.parents:
        raise ValueError(f"DBFS path {path!r} leaves DBFS")
    return target


class _Widgets:
    def __init__(self, params: dict[str, str]) -> None:
        self._params = params
        self._defaults: dict[str, str] = {}

    def get(self, name: str) -> str:
        if name in self._params:
            return self._params[name]
        if name in self._defaults:
            return self._defaults[name]
        raise InputWidgetNotDefined(f"No input widget named {name} is defined")

    def getArgument(self, name: str, default: Optional[str] = None) -> Optional[str]:  # noqa: N802 - Databricks name
        try:
            return self.get(name)
        except InputWidgetNotDefined:
            return default

    def text(self, name: str, defaultValue: str = "", label: Optional[str] = None) -> None:  # noqa: N803
        self._defaults[name] = str(defaultValue)

    def dropdown(self, name: str, defaultValue: str, choices: Any = None, label: Optional[str] = None) -> None:  # noqa: N803
        self._defaults[name] = str(defaultValue)

    combobox = dropdown
    multiselect = dropdown

    def remove(self, name: str) -> None:
        self._defaults.pop(name, None)

    def removeAll(self) -> None:  # noqa: N802 - Databricks name
        self._defaults.clear()


class _Notebook:
    def exit(self, value: Any) -> None:
        raise NotebookExit(str(value))


class _Fs:
    def ls(self, path: str) -> list[tuple[str, str, int]]:
        local = dbfs_local(path)
        return [
            (f"dbfs:/{p.relative_to(dbfs_local('/')).as_posix()}", p.name, p.stat().st_size) for p in local.iterdir()
        ]

    def put(self, path: str, contents: str, overwrite: bool = False) -> bool:
        local = dbfs_local(path)
        if local.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(contents, encoding="utf-8")
        return True

    def head(self, path: str, maxBytes: int = 65536) -> str:  # noqa: N803
        return dbfs_local(path).read_bytes()[:maxBytes].decode("utf-8", errors="replace")

    def mkdirs(self, path: str) -> bool:
        dbfs_local(path).mkdir(parents=True, exist_ok=True)
        return True

    def rm(self, path: str, recurse: bool = False) -> bool:
        local = dbfs_local(path)
        if local.is_dir():
            shutil.rmtree(local) if recurse else local.rmdir()
        elif local.exists():
            local.unlink()
        return True


class DBUtils:
    """The part of Databricks' ``dbutils`` a notebook run by the loopback server has."""

    def __init__(self, params: dict[str, str]) -> None:
        self.widgets = _Widgets(params)
        self.notebook = _Notebook()
        self.fs = _Fs()


def _cells(source: str, name: str) -> list[str]:
    lines = source.splitlines()
    if not lines or lines[0].strip() != HEADER:
        raise ValueError(f"{name} is not a Databricks notebook source: its first line must be {HEADER!r}")
    cells: list[str] = []
    current: list[str] = []
    for line in lines[1:]:
        if line.strip() == SEPARATOR:
            cells.append("\n".join(current))
            current = []
        else:
            current.append(line)
    cells.append("\n".join(current))
    return cells


def run_notebook(path: Path, scope: dict[str, Any]) -> None:
    """Run every cell of notebook source ``path`` in ``scope``."""
    for number, cell in enumerate(_cells(path.read_text(encoding="utf-8"), path.name), start=1):
        magic = [line for line in cell.splitlines() if line.strip()]
        if magic and all(line.startswith("# MAGIC") for line in magic):
            _run_magic(
                [line[len("# MAGIC ") :] for line in cell.splitlines() if line.startswith("# MAGIC")], path, scope
            )
            continue
        exec(compile(cell, f"{path.name} (cell {number})", "exec"), scope)  # noqa: S102 - running the notebook is the point


def _run_magic(lines: list[str], path: Path, scope: dict[str, Any]) -> None:
    command, _, rest = lines[0].strip().partition(" ")
    body = "\n".join([rest, *lines[1:]]).strip()
    if command == "%md":
        return
    if command == "%python":
        exec(compile(body, f"{path.name} (%python)", "exec"), scope)  # noqa: S102
    elif command == "%sql":
        scope["spark"].sql(body)
    elif command == "%run":
        other = (path.parent / rest.strip()).resolve()
        run_notebook(other if other.suffix else other.with_suffix(".py"), scope)
    else:
        raise NotImplementedError(f"the loopback Databricks server does not run {command} cells ({path.name})")


def _outcome(data: dict[str, Any]) -> None:
    Path(os.environ["DURABLEML_DBX_OUTCOME"]).write_text(json.dumps(data), encoding="utf-8")


def _failure(exc: BaseException) -> dict[str, Any]:
    return {"error": f"{type(exc).__name__}: {exc}", "error_trace": traceback.format_exc()}


def _stop_spark() -> None:
    """Stop the script's Spark session, if it made one (a JVM left running keeps spark-submit waiting)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def main(argv: list[str]) -> int:
    """Run ``python <script> <args>`` or ``notebook <source> <parameters.json>``; the outcome goes to a file."""
    mode, target, *rest = argv
    if mode == "python":
        sys.argv = [target, *rest]
        sys.path.insert(0, str(Path(target).parent))
        try:
            runpy.run_path(target, run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (None, 0):
                _outcome({"error": f"SystemExit: {exc.code}", "error_trace": ""})
                return 1
        except Exception as exc:  # noqa: BLE001 - the run's error is what get-output reports
            traceback.print_exc()
            _outcome(_failure(exc))
            return 1
        finally:
            _stop_spark()
        return 0
    params = json.loads(Path(rest[0]).read_text(encoding="utf-8"))
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    dbutils = DBUtils({str(k): str(v) for k, v in params.items()})
    scope: dict[str, Any] = {
        "__name__": "__main__",
        "spark": spark,
        "sc": spark.sparkContext,
        "dbutils": dbutils,
        "getArgument": dbutils.widgets.getArgument,
        "display": print,
        "displayHTML": print,
    }
    try:
        run_notebook(Path(target), scope)
    except NotebookExit as done:
        _outcome({"notebook_result": done.value})
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc()
        _outcome(_failure(exc))
        return 1
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
