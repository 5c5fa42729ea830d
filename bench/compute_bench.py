"""Per-step overhead of the local compute: submit-to-result of a trivial script vs a bare ``python script.py``.

    .venv/bin/python bench/compute_bench.py [--runs 20] [--keep]

Starts a private Azurite, a LocalCompute (its worker is started and warmed up by one unmeasured job),
then measures, best of N and median:

* ``bare``: ``subprocess.run([sys.executable, "step.py"])`` with output to a pipe;
* ``submit→result (notify)``: ``LocalCompute.submit`` until the worker's completion POST arrives at a
  loopback HTTP server (what the step_run orchestration waits for);
* ``submit→result (poll)``: ``submit`` until ``poll`` reports Finished, polling every 1 ms.

The overhead is the difference to ``bare``; the goal is under 40 ms. The trivial step prints one
line, so each run also streams a driver log to its append blob.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from durableml.compute import JobSpec  # noqa: E402
from durableml.compute.local import LocalCompute  # noqa: E402
from funchost.azurite import start_azurite  # noqa: E402

SCRIPT = 'print("step ran")\n'


class _Events:
    """Completion events POSTed by the worker, by job id."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.cond = threading.Condition()

    def wait(self, job_id: str, timeout: float = 30.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: job_id in self.arrived, timeout):
                raise TimeoutError(f"no completion event for {job_id} within {timeout} s")
            return self.arrived[job_id]


def _event_server(events: _Events) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            import json

            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with events.cond:
                events.arrived[body["job_id"]] = time.perf_counter()
                events.cond.notify_all()
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _measure(runs: int, once: Callable[[int], float]) -> list[float]:
    return [once(i) for i in range(runs)]


def _summary(name: str, samples: list[float]) -> str:
    return f"{name:<28} best {min(samples) * 1000:6.1f} ms   median {statistics.median(samples) * 1000:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compute-bench-") as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        (root / "src" / "step.py").write_text(SCRIPT)
        azurite = start_azurite(root / "azurite")
        events = _Events()
        server = _event_server(events)
        compute = LocalCompute(root / "state", max_nodes=1)
        url = f"http://127.0.0.1:{server.server_address[1]}/raiseEvent/{{eventName}}?code=x"
        try:

            def spec(job_id: str) -> JobSpec:
                return JobSpec(
                    job_id=job_id,
                    run_id="bench",
                    step_name="step",
                    snapshot=str(root / "src"),
                    script_name="step.py",
                    connection_string=azurite.connection_string,
                    notify={"url": url, "event": "step_done"},
                )

            compute.submit(spec("warm-up"))
            compute.wait("warm-up", timeout=60)

            def bare(_: int) -> float:
                start = time.perf_counter()
                subprocess.run([sys.executable, "step.py"], cwd=root / "src", stdout=subprocess.PIPE, check=True)
                return time.perf_counter() - start

            def notified(i: int) -> float:
                start = time.perf_counter()
                compute.submit(spec(f"notify-{i}"))
                return events.wait(f"notify-{i}") - start

            def polled(i: int) -> float:
                start = time.perf_counter()
                compute.submit(spec(f"poll-{i}"))
                compute.wait(f"poll-{i}", interval=0.001)
                return time.perf_counter() - start

            results = {
                "bare python step.py": _measure(args.runs, bare),
                "submit→result (notify)": _measure(args.runs, notified),
                "submit→result (poll)": _measure(args.runs, polled),
            }
        finally:
            compute.shutdown()
            server.shutdown()
            azurite.stop()
    for name, samples in results.items():
        print(_summary(name, samples))
    bare = results["bare python step.py"]
    for name in ("submit→result (notify)", "submit→result (poll)"):
        best = (min(results[name]) - min(bare)) * 1000
        median = (statistics.median(results[name]) - statistics.median(bare)) * 1000
        print(f"{'overhead ' + name[14:]:<28} best {best:6.1f} ms   median {median:6.1f} ms")


if __name__ == "__main__":
    main()
