"""Benchmark the pipeline document's JSON Schema check on the submit path: valid and invalid documents.

Usage: .venv/bin/python bench/schema_bench.py [--steps 10,200] [--repeat 30] [--baseline REV]

Documents are compiled with the SDK (a service double, no service): ``N`` PythonScriptSteps in a line, each
reading the previous step's PipelineData, with a parameter argument and a ``params`` entry (12 KB for 10 steps,
250 KB for 200). The invalid variant of each has three faults (a string for ``allowReuse``, an unknown field
and a binding of an unknown kind), so a checker has to report all of them.

Checkers, each timed per call (best and median of ``--repeat``, after one unmeasured warm-up call):

* ``check_schema``: durableml.pipeline.schema_check as it is in the work tree (what the service runs);
* ``fastjsonschema``: the compiled validator alone (``fast_fail``: stops at the first error; ``collect``:
  ``fast_fail=False``, every error);
* ``jsonschema``: ``Draft202012Validator(...).iter_errors`` (the schema's own draft), if jsonschema is installed;
* ``baseline``: with ``--baseline REV``, durableml/pipeline/schema_check.py as it was at git revision REV
  (e.g. the hand-written checker before fastjsonschema), loaded with ``git show``.

The first check in a fresh interpreter (import and compile, then check a 10-step document) is timed in a
subprocess. Prints one JSON line per measurement, then a table.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "sdk"))
from durableml.core import Datastore, Workspace  # noqa: E402
from durableml.pipeline.core import Pipeline, PipelineData, PipelineParameter  # noqa: E402
from durableml.pipeline.document_schema import DOCUMENT_SCHEMA  # noqa: E402
from durableml.pipeline.schema_check import check_schema  # noqa: E402
from durableml.pipeline.steps import PythonScriptStep  # noqa: E402
from sdk_double import ServiceDouble  # noqa: E402

Check = Callable[[Any], int]  # returns how many problems it found


def document(steps: int) -> dict[str, Any]:
    ws = Workspace("sub", "rg", "ws", client=ServiceDouble())
    store = Datastore(ws, "workspaceblobstore")
    epochs = PipelineParameter("epochs", 10)
    chain: list[PythonScriptStep] = []
    previous: PipelineData | None = None
    for index in range(steps):
        out = PipelineData(f"d{index}", datastore=store)
        arguments: list[Any] = ["--out", out, "--epochs", epochs] + (["--in", previous] if previous else [])
        chain.append(
            PythonScriptStep(
                script_name=f"s{index}.py",
                name=f"step{index}",
                arguments=arguments,
                inputs=[previous] if previous else [],
                outputs=[out],
                compute_target="cpu",
                params={"EPOCHS": epochs},
            )
        )
        previous = out
    return Pipeline(ws, chain).to_document()


def broken(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["steps"][0]["allowReuse"] = "yes"
    doc["steps"][-1]["colour"] = "blue"
    doc["steps"][-1]["arguments"][0] = {"kind": "env", "name": "X"}
    return doc


def checkers(baseline: str | None) -> dict[str, Check]:
    import fastjsonschema

    fast = fastjsonschema.compile(DOCUMENT_SCHEMA, use_default=False)
    collect = fastjsonschema.compile(DOCUMENT_SCHEMA, use_default=False, fast_fail=False)

    def run_fast(doc: Any) -> int:
        try:
            fast(doc)
            return 0
        except fastjsonschema.JsonSchemaValueException:
            return 1

    def run_collect(doc: Any) -> int:
        try:
            collect(doc)
            return 0
        except fastjsonschema.JsonSchemaValuesException as every:
            return len(every.errors)

    found: dict[str, Check] = {
        "check_schema": lambda doc: len(check_schema(doc, DOCUMENT_SCHEMA)),
        "fastjsonschema fast_fail": run_fast,
        "fastjsonschema collect": run_collect,
    }
    try:
        import jsonschema
    except ImportError:
        print("jsonschema is not installed: skipping it", file=sys.stderr)
    else:
        validator = jsonschema.Draft202012Validator(DOCUMENT_SCHEMA)
        found["jsonschema"] = lambda doc: sum(1 for _ in validator.iter_errors(doc))
    if baseline:
        source = subprocess.run(
            ["git", "show", f"{baseline}:durableml/pipeline/schema_check.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        path = Path(tempfile.mkdtemp()) / "baseline_schema_check.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("baseline_schema_check", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[f"baseline {baseline}"] = lambda doc: len(module.check_schema(doc, DOCUMENT_SCHEMA))
    return found


def timed(check: Check, doc: Any, repeat: int) -> tuple[float, float, int]:
    problems = check(doc)  # warm-up (and compiles what compiles lazily)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        check(doc)
        samples.append(time.perf_counter() - start)
    return min(samples), statistics.median(samples), problems


def first_check() -> float:
    code = (
        "import sys, time; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/tests/sdk']\n"
        "from schema_bench_doc import doc\n"
        "start = time.perf_counter()\n"
        "from durableml.pipeline.document_schema import DOCUMENT_SCHEMA\n"
        "from durableml.pipeline.schema_check import check_schema\n"
        "assert check_schema(doc, DOCUMENT_SCHEMA) == []\n"
        "print(time.perf_counter() - start)\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "schema_bench_doc.py").write_text(f"doc = {document(10)!r}\n", encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-c", code, str(ROOT)],
            cwd=tmp,
            env={"PYTHONPATH": tmp},
            check=True,
            capture_output=True,
            text=True,
        )
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="10,200", help="document sizes, comma-separated step counts")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--baseline", help="a git revision whose schema_check.py to time as well")
    args = parser.parse_args()
    found = checkers(args.baseline)
    rows = []
    for steps in (int(n) for n in args.steps.split(",")):
        valid = document(steps)
        size = len(json.dumps(valid))
        for label, doc in (("valid", valid), ("3 faults", broken(valid))):
            for name, check in found.items():
                best, median, problems = timed(check, doc, args.repeat)
                row = {
                    "checker": name,
                    "steps": steps,
                    "bytes": size,
                    "document": label,
                    "best_ms": round(best * 1000, 3),
                    "median_ms": round(median * 1000, 3),
                    "problems": problems,
                }
                print(json.dumps(row), flush=True)
                rows.append(row)
    first = first_check()
    print(json.dumps({"first_check_in_new_process_ms": round(first * 1000, 1)}))
    print("\n| checker | steps | document | best ms | median ms | problems |\n|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['checker']} | {row['steps']} | {row['document']} | {row['best_ms']:.3f} | "
            f"{row['median_ms']:.3f} | {row['problems']} |"
        )
    print(f"\nfirst check in a new process (imports, compile, 10-step document): {first * 1000:.1f} ms")


if __name__ == "__main__":
    main()
