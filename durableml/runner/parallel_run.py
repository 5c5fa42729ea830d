"""The ParallelRunStep driver: runs a v1 entry script over mini-batches of its input datasets.

The step's job runs this file as its script (``durableml.stepkinds.parallel_run`` builds the job); it is
the step's main process on the compute node, with the step's context (``Run.get_context()``), inputs staged
and output directory ready, like a PythonScriptStep's script. It:

* lists the items of each input: the files of a FileDataset (a mini-batch is ``mini_batch_size`` of them),
  the rows of a TabularDataset (delimited or Parquet files read with pandas; a mini-batch holds about
  ``mini_batch_size`` bytes of them, "1KB"/"10MB"/...);
* starts ``node_count x process_count_per_node`` worker processes (this backend's nodes are processes of one
  machine), each of which imports the entry script and calls its ``init()`` once;
* hands every mini-batch to ``run(mini_batch)`` (a list of file paths, or a pandas DataFrame), retried up to
  ``run_max_try`` times, each call limited to ``run_invocation_timeout`` seconds (a worker that overruns is
  stopped and replaced);
* with ``output_action="append_row"`` writes what ``run`` returned (list items, or DataFrame rows joined by
  spaces) to ``append_row_file_name`` in the output directory, in the order of the mini-batches; with
  ``"summary_only"`` only counts them;
* fails the step once more items failed than ``error_threshold`` (-1: never), or more mini-batches than
  ``allowed_failed_count`` / ``allowed_failed_percent``; an item fails when ``run`` raised for its mini-batch
  on every try, or returned fewer results than the mini-batch had items;
* with ``partition_keys``, makes one mini-batch per partition (the rows of a TabularDataset sharing the keys'
  values; the files of a FileDataset whose ``partition_format`` gives them the same values) and passes
  ``run(mini_batch, mini_batch_context)`` its ``partition_key_value`` (a partition counts as one item).

Tabular inputs are read as their dataset defines them (format, partition key columns, column types, filters:
:mod:`durableml.data.tabular_reader`; its definition comes from the step's run context).

**Logs.** What durableml writes, in v1's layout where it is cheap (everything under ``logs/`` of the working
directory is captured with the step's files: ``step_run.get_file_names()``, ``step_run.download_file(name)``):

* the step's driver log (``step_run.get_job_log()``, streamed by ``wait_for_completion(show_output=True)``):
  ``[parallel_run]`` progress lines (how many mini-batches, items and workers; ``mini-batch N: done`` or
  ``failed (try t/n): <error>`` as each ends; the summary), and what the entry script prints: unlike v1, whose
  ``logs/user/stdout/<node>/<process>.stdout.txt`` hold it, workers' stdout and stderr go to the driver log;
* ``logs/job_progress_overview.<YYYYmmddHH>.txt``: the progress lines with a UTC time each (v1's overview);
* ``logs/job_result.txt``: the job summary as JSON (mini-batches and items, failed ones, seconds, each failed
  mini-batch's last error);
* ``logs/job_error.txt``: only when mini-batches failed: each one's index, tries and last error;
* ``logs/user/entry_script_log/<node>/process<NNN>.log.txt``: one per worker process, what the entry script
  logs through ``EntryScript().logger`` (or ``logging``) at ``logging_level``; node ``0..node_count-1``,
  processes numbered from 000 in the order they started (a worker replaced after a timeout gets a new number).

Not written (v1's ``logs/sys/`` and per-process stdout/stderr/error files): durableml has no agents to log.
Standard library only, plus pandas and :mod:`durableml.data` for datasets (imported only when read).
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import logging
import multiprocessing
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any, Optional, Sequence

from durableml.runner.workdir import in_snapshot

__all__ = ["main", "parse_size", "Config"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3}
LOGS = Path("logs")


def parse_size(text: Any, tabular: bool) -> int:
    """``mini_batch_size`` as a count (files) or bytes (rows): ``10``, ``"10"``, ``"1KB"``, ``"10MB"``."""
    if isinstance(text, int) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        found = _SIZE.match(str(text or ""))
        if not found:
            raise ValueError(f"mini_batch_size {text!r} is not a count (10) or a size (1KB, 10MB)")
        value, unit = float(found.group(1)), (found.group(2) or "").upper()
    size = int(value * _UNITS.get(unit, 1))
    if size < 1:
        raise ValueError(f"mini_batch_size {text!r} must be at least 1")
    if unit and not tabular:
        raise ValueError(f"mini_batch_size {text!r} is a size; a FileDataset input takes a file count such as 10")
    return size


@dataclass
class Config:
    """The step's ParallelRunConfig as the job carries it (settings with parameter values bound)."""

    entry_script: str
    mini_batch_size: Any = None
    node_count: int = 1
    process_count_per_node: Optional[int] = None
    error_threshold: int = 10
    output_action: str = "append_row"
    append_row_file_name: str = "parallel_run_step.txt"
    run_invocation_timeout: float = 60
    run_max_try: int = 3
    allowed_failed_count: Optional[int] = None
    allowed_failed_percent: Optional[float] = None
    logging_level: str = "INFO"
    partition_keys: list[str] = field(default_factory=list)
    inputs: list[dict[str, str]] = field(default_factory=list)  # {"name", "type": "file"|"tabular"}

    @property
    def processes(self) -> int:
        per_node = self.process_count_per_node or os.cpu_count() or 1
        return max(1, int(self.node_count) * int(per_node))


# ------------------------------------------------------------------------------------------- the worker side
_module: Any = None
_init_error: Optional[str] = None


def _worker_init(
    entry_script: str, argv: list[str], level: str, log_dir: str, counter: Any = None, per_node: int = 1, nodes: int = 1
) -> None:
    """In each worker process: v1's ``azureml_user.parallel_run`` for ``EntryScript``, the entry script's
    ``init()`` once. If that fails, every mini-batch given to this worker fails with that error (a failing
    initializer would otherwise make the pool start workers again and again). ``counter`` (shared) numbers the
    workers for their log's name."""
    global _module, _init_error
    try:
        _module = _load_entry_script(entry_script, argv, level, _worker_log(log_dir, counter, per_node, nodes))
    except BaseException as exc:  # noqa: BLE001 (reported with every mini-batch of this worker)
        _init_error = "init() failed: " + "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _worker_log(log_dir: str, counter: Any, per_node: int, nodes: int) -> str:
    """``<log_dir>/entry_script_log/<node>/process<NNN>.log.txt`` for the next worker (v1's names)."""
    number = os.getpid()
    if counter is not None:
        with counter.get_lock():
            number = counter.value
            counter.value += 1
    node = (number // max(1, per_node)) % max(1, nodes) if counter is not None else 0
    folder = os.path.join(log_dir, "entry_script_log", str(node))
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"process{number:03d}.log.txt")


def _load_entry_script(entry_script: str, argv: list[str], level: str, log_file: str) -> Any:
    logging.basicConfig(
        filename=log_file,
        level=getattr(logging, str(level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(message)s",
    )
    _install_entry_script_module()
    sys.argv = [entry_script, *argv]
    sys.path.insert(0, os.path.dirname(os.path.abspath(entry_script)))
    spec = importlib.util.spec_from_file_location("entry_script", entry_script)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the entry script {entry_script!r}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise AttributeError(f"the entry script {entry_script!r} defines no run(mini_batch) function")
    if callable(getattr(module, "init", None)):
        module.init()
    return module


def _install_entry_script_module() -> None:
    """``from azureml_user.parallel_run import EntryScript``: v1's helper giving the entry script a logger."""
    import types

    class EntryScript:
        """v1's ``EntryScript``: ``logger`` writes to this worker's log under ``logs/``."""

        @property
        def logger(self) -> logging.Logger:
            return logging.getLogger("entry_script")

        @property
        def output_dir(self) -> str:
            return os.environ.get("DURABLEML_PARALLEL_OUTPUT", ".")

    package = types.ModuleType("azureml_user")
    module = types.ModuleType("azureml_user.parallel_run")
    module.EntryScript = EntryScript  # type: ignore[attr-defined]
    package.parallel_run = module  # type: ignore[attr-defined]
    sys.modules.setdefault("azureml_user", package)
    sys.modules.setdefault("azureml_user.parallel_run", module)


def _run_batch(batch: Any, context: Any) -> Any:
    """One ``run()`` call in a worker; returns the entry script's result as it is (pickled back)."""
    if _init_error is not None:
        raise RuntimeError(_init_error)
    run = _module.run
    wants_context = len(inspect.signature(run).parameters) >= 2
    return run(batch, context) if wants_context else run(batch)


# -------------------------------------------------------------------------------------------- the driver side
class MiniBatchContext:
    """v1's ``mini_batch_context``, the second argument of ``run(mini_batch, mini_batch_context)``."""

    def __init__(self, index: int, partition_key_value: Optional[dict[str, Any]]) -> None:
        self.minibatch_index = index
        self.partition_key_value = partition_key_value or {}

    def __repr__(self) -> str:
        return (
            f"MiniBatchContext(minibatch_index={self.minibatch_index}, partition_key_value={self.partition_key_value})"
        )


@dataclass
class _Batch:
    index: int
    items: Any  # list of paths, or a DataFrame
    count: int
    partition: Optional[dict[str, Any]] = None
    tries: int = 0
    result: Any = None
    error: Optional[str] = None
    done: bool = False


def _file_batches(roots: Sequence[str], size: int) -> list[_Batch]:
    files: list[str] = []
    for root in roots:
        if os.path.isfile(root):
            files.append(root)
            continue
        for directory, _dirs, names in os.walk(root):
            files += [os.path.join(directory, n) for n in names]
    files.sort()
    return [_Batch(i, files[s : s + size], len(files[s : s + size])) for i, s in enumerate(range(0, len(files), size))]


def _files_below(root: str) -> list[str]:
    if os.path.isfile(root):
        return [root]
    return sorted(os.path.join(d, n) for d, _s, names in os.walk(root) for n in names)


def input_definitions() -> dict[str, dict[str, Any]]:
    """The dataset definition of each input that has one (format, partition_format, column types, filters), by
    input name, from the step's run context (``DURABLEML_RUN_CONTEXT``)."""
    path = os.environ.get("DURABLEML_RUN_CONTEXT")
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            context = json.load(handle)
    except (OSError, ValueError):
        return {}
    found = {}
    for name, entry in (context.get("inputs") or {}).items():
        dataset = entry.get("dataset") if isinstance(entry, dict) else None
        if isinstance(dataset, dict) and (dataset.get("paths") or dataset.get("format")):
            found[name] = dataset
    return found


def _read_table(roots: Sequence[tuple[str, Optional[dict[str, Any]]]]) -> Any:
    """The rows of the tabular inputs: each read as its dataset defines (its format, partition key columns,
    column types and filters: :func:`durableml.data.tabular_reader.read_dataframe`), or, for an input with no
    definition, its delimited / Parquet files as they are."""
    import pandas as pd

    from durableml.data.tabular_reader import read_dataframe, read_parquet

    frames = []
    for root, definition in roots:
        paths = _files_below(root)
        if definition is not None:
            frames.append(read_dataframe(paths, definition, base=root))
            continue
        for path in paths:
            frames.append(read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _file_partition_batches(roots: Sequence[tuple[str, Optional[dict[str, Any]]]], keys: Sequence[str]) -> list[_Batch]:
    """One mini-batch per partition of FileDataset inputs with a ``partition_format``: the files sharing the
    keys' values (:func:`durableml.data.partitions.group_files`), in the order the values first appear."""
    from durableml.data.partitions import group_files

    groups: dict[tuple[Any, ...], tuple[dict[str, Any], list[str]]] = {}
    for root, definition in roots:
        if definition is None or not definition.get("partitionFormat"):
            raise ValueError(
                "partition_keys of a FileDataset input need the dataset's partition_format (for example "
                "Dataset.File.from_files(path, partition_format='{store}/{date:yyyy/MM/dd}/*.csv'))"
            )
        for values, files in group_files(definition, root, _files_below(root), keys):
            groups.setdefault(tuple(values.values()), (values, []))[1].extend(files)
    return [_Batch(i, files, len(files), values) for i, (values, files) in enumerate(groups.values())]


def _partition_batches(table: Any, keys: Sequence[str]) -> list[_Batch]:
    """One mini-batch per partition (v1's ``partition_keys``): the rows sharing the keys' values."""
    missing = [k for k in keys if k not in table.columns]
    if missing:
        raise ValueError(f"partition_keys {missing} are not columns of the input ({list(table.columns)})")
    batches = []
    for index, (values, group) in enumerate(table.groupby(list(keys), sort=True)):
        values = values if isinstance(values, tuple) else (values,)
        key_value = {k: (v.item() if hasattr(v, "item") else v) for k, v in zip(keys, values, strict=True)}
        batches.append(_Batch(index, group.reset_index(drop=True), len(group), key_value))
    return batches


def _tabular_batches(table: Any, size: int) -> list[_Batch]:
    if table.empty:
        return []
    per_row = max(1, int(table.memory_usage(deep=True, index=False).sum() / len(table)))
    rows = max(1, size // per_row)
    return [
        _Batch(i, table.iloc[s : s + rows].reset_index(drop=True), len(table.iloc[s : s + rows]))
        for i, s in enumerate(range(0, len(table), rows))
    ]


def _lines(result: Any) -> list[str]:
    """What ``append_row`` writes for one mini-batch's result."""
    if result is None:
        return []
    if hasattr(result, "to_csv") and hasattr(result, "columns"):  # a DataFrame
        text = result.to_csv(sep=" ", header=False, index=False)
        return [line for line in text.splitlines() if line]
    if isinstance(result, (list, tuple)):
        return [str(item) for item in result]
    return [str(result)]


def _result_count(result: Any) -> int:
    if result is None:
        return 0
    if hasattr(result, "columns") and hasattr(result, "__len__"):
        return len(result)
    return len(result) if isinstance(result, (list, tuple)) else 1


def _failed_items(batch: _Batch) -> int:
    """Items of a mini-batch that count against ``error_threshold``: all of them when ``run`` raised on every
    try, else those it returned no result for. A partition (``partition_keys``) counts as one item: its
    ``run`` commonly returns one summary row (one model per partition)."""
    expected = 1 if batch.partition is not None else batch.count
    if not batch.done:
        return expected
    return max(0, expected - _result_count(batch.result))


class Driver:
    """Runs the mini-batches over a pool of worker processes (see the module docstring)."""

    def __init__(self, config: Config, inputs: dict[str, str], output: Optional[str], argv: list[str]) -> None:
        self.config = config
        self.inputs = inputs
        self.output = output
        self.argv = argv
        self.log_dir = LOGS / "user"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.context = multiprocessing.get_context("spawn")
        self.workers = self.context.Value("i", 0)
        self.overview = LOGS / f"job_progress_overview.{datetime.now(timezone.utc):%Y%m%d%H}.txt"

    def batches(self) -> list[_Batch]:
        tabular = any(i.get("type") == "tabular" for i in self.config.inputs)
        size = parse_size(self.config.mini_batch_size or ("1MB" if tabular else 10), tabular)
        definitions = input_definitions()
        named = [i["name"] for i in self.config.inputs if i["name"] in self.inputs]
        roots = [(self.inputs[name], definitions.get(name)) for name in named]
        if not tabular:
            if self.config.partition_keys:
                return _file_partition_batches(roots, self.config.partition_keys)
            return _file_batches([root for root, _definition in roots], size)
        table = _read_table(roots)
        if self.config.partition_keys:
            return _partition_batches(table, self.config.partition_keys)
        return _tabular_batches(table, size)

    def _pool(self) -> Pool:
        per_node = max(1, self.config.processes // max(1, int(self.config.node_count)))
        initargs = (self.config.entry_script, self.argv, self.config.logging_level, str(self.log_dir), self.workers,
                    per_node, int(self.config.node_count))  # fmt: skip
        return self.context.Pool(self.config.processes, initializer=_worker_init, initargs=initargs)

    def run(self) -> int:
        batches = self.batches()
        total, started = len(batches), time.monotonic()
        self._say(f"{total} mini-batch(es), {sum(b.count for b in batches)} item(s), "
                  f"{self.config.processes} worker process(es)")  # fmt: skip
        pending = list(batches)
        while pending:
            pending = self._round(pending)
        return self._finish(batches, time.monotonic() - started)

    def _round(self, pending: list[_Batch]) -> list[_Batch]:
        """Run every pending mini-batch once; returns the ones to try again."""
        again: list[_Batch] = []
        pool = self._pool()
        try:
            calls = [(b, pool.apply_async(_run_batch, (b.items, self._context(b)))) for b in pending]
            for position, (batch, call) in enumerate(calls):
                batch.tries += 1
                try:
                    batch.result, batch.done, batch.error = call.get(self.config.run_invocation_timeout), True, None
                except multiprocessing.TimeoutError:
                    batch.error = (
                        f"run() took longer than run_invocation_timeout={self.config.run_invocation_timeout:g} s"
                    )
                    pool.terminate()  # a worker is stuck: replace the pool, try the rest again
                    rest = [b for b, _c in calls[position + 1 :]]
                    again += ([batch] if batch.tries < self.config.run_max_try else []) + rest
                    break
                except Exception as exc:  # noqa: BLE001 (the entry script's error, counted against the threshold)
                    batch.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                    if batch.tries < self.config.run_max_try:
                        again.append(batch)
                self._progress(batch)
        finally:
            pool.terminate()
            pool.join()
        return again

    def _context(self, batch: _Batch) -> Optional[MiniBatchContext]:
        """The context ``run`` gets as its second argument (when it takes one)."""
        return MiniBatchContext(batch.index, batch.partition)

    def _progress(self, batch: _Batch) -> None:
        state = "done" if batch.done else f"failed (try {batch.tries}/{self.config.run_max_try}): {batch.error}"
        self._say(f"mini-batch {batch.index}: {state}")

    def _say(self, line: str) -> None:
        """A progress line: to the driver log, and with its time to the job progress overview."""
        print(f"[parallel_run] {line}", flush=True)
        with open(self.overview, "a", encoding="utf-8") as handle:
            handle.write(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} {line}\n")

    def _finish(self, batches: list[_Batch], seconds: float) -> int:
        failed_items = sum(_failed_items(b) for b in batches)
        failed_batches = sum(1 for b in batches if not b.done)
        if self.config.output_action == "append_row" and self.output:
            Path(self.output).mkdir(parents=True, exist_ok=True)
            with open(Path(self.output) / self.config.append_row_file_name, "w", encoding="utf-8") as handle:
                for batch in sorted(batches, key=lambda b: b.index):
                    for line in _lines(batch.result) if batch.done else []:
                        handle.write(line + "\n")
        errors = {str(b.index): b.error for b in batches if not b.done}
        summary: dict[str, Any] = {
            "mini_batches": len(batches),
            "mini_batches_failed": failed_batches,
            "items": sum(b.count for b in batches),
            "items_failed": failed_items,
            "seconds": round(seconds, 3),
            "errors": errors,
        }
        (LOGS / "job_result.txt").write_text(json.dumps(summary, indent=1), encoding="utf-8")
        if errors:
            failed = [f"mini-batch {b.index} (tries: {b.tries}): {b.error}" for b in batches if not b.done]
            (LOGS / "job_error.txt").write_text("\n".join(failed) + "\n", encoding="utf-8")
        self._say(json.dumps({k: v for k, v in summary.items() if k != "errors"}))
        problem = self._over_threshold(failed_items, failed_batches, len(batches))
        if problem:
            for index, error in errors.items():
                print(f"[parallel_run] mini-batch {index} failed: {error}", file=sys.stderr, flush=True)
            print(f"ParallelRunStep failed: {problem}", file=sys.stderr, flush=True)
            return 1
        return 0

    def _over_threshold(self, failed_items: int, failed_batches: int, total: int) -> Optional[str]:
        config = self.config
        if config.error_threshold != -1 and failed_items > config.error_threshold:
            return f"{failed_items} item(s) failed, more than error_threshold={config.error_threshold}"
        if config.allowed_failed_count not in (None, -1) and failed_batches > int(config.allowed_failed_count):
            return (
                f"{failed_batches} mini-batch(es) failed, more than allowed_failed_count={config.allowed_failed_count}"
            )
        percent = config.allowed_failed_percent
        if percent not in (None, -1) and total and failed_batches * 100 > float(percent) * total + 1e-9:
            return f"{failed_batches} of {total} mini-batch(es) failed, more than allowed_failed_percent={percent}"
        return None


def main(argv: Optional[list[str]] = None) -> int:
    """``python parallel_run.py --durableml-config JSON --durableml-input NAME PATH ... [--durableml-output PATH]
    [user arguments]``: the user arguments reach the entry script's ``sys.argv``."""
    parser = argparse.ArgumentParser(prog="parallel_run")
    parser.add_argument("--durableml-config", required=True)
    parser.add_argument("--durableml-input", nargs=2, action="append", default=[], metavar=("NAME", "PATH"))
    parser.add_argument("--durableml-output")
    args, rest = parser.parse_known_args(argv)
    config = Config(**json.loads(args.durableml_config))
    if args.durableml_output:
        os.environ["DURABLEML_PARALLEL_OUTPUT"] = args.durableml_output
    try:
        in_snapshot(config.entry_script, what="ParallelRunStep: entry_script")  # the driver runs in the snapshot
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not os.path.isfile(config.entry_script):
        print(f"ParallelRunStep: entry_script {config.entry_script!r} is not in the source directory "
              f"({os.getcwd()})", file=sys.stderr)  # fmt: skip
        return 2
    driver = Driver(config, dict(args.durableml_input), args.durableml_output, rest)
    return driver.run()


if __name__ == "__main__":
    sys.exit(main())
