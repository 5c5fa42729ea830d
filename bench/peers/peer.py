"""Driver side of a peer engine: its script (engines/*.py) running in the peer's venv, one shape a request."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from . import procs
from .shapes import STEP_SCRIPT, Shape

ENGINES = Path(__file__).resolve().parent / "engines"

# engine label -> (venv package of venvs.PINS, script, extra arguments; "{state}" is the engine's state directory)
PEERS: dict[str, tuple[str, str, list[str]]] = {
    "luigi": ("luigi", "luigi_engine.py", []),
    "dagster": ("dagster", "dagster_engine.py", []),
    "dagster-sqlite": ("dagster", "dagster_engine.py", ["--sqlite", "{state}"]),
    "prefect": ("prefect", "prefect_engine.py", []),
    "airflow": ("airflow", "airflow_engine.py", []),
}


class PeerEngine:
    """One long-lived engine process (imports and the engine's own start-up paid once, in the warm-up)."""

    def __init__(self, label: str, python: Path, work: Path) -> None:
        package, script, extra = PEERS[label]
        self.label = label
        self.state = work / f"{label}-state"
        self.state.mkdir(parents=True)
        self.log_path = work / f"{label}.log"
        env = {
            **os.environ,
            "PREFECT_HOME": str(self.state / "prefect"),  # Prefect's SQLite database and settings, private
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
            "AIRFLOW_HOME": str(self.state / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "DAGSTER_HOME": str(self.state / "dagster-home"),
        }
        env.pop("PYTHONPATH", None)
        (self.state / "dagster-home").mkdir()
        if label == "airflow":
            subprocess.run(
                [str(python.parent / "airflow"), "db", "migrate"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        args = [a.replace("{state}", str(self.state / "sqlite")) for a in extra]
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(python), str(ENGINES / script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            cwd=self.state,
            text=True,
        )

    def run(self, shape: Shape, workdir: Path) -> dict[str, Any]:
        """Run ``shape`` once: the engine's seconds, the CPU its process tree spent, wall time seen from here."""
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {"shape": shape.to_json(), "workdir": str(workdir), "script": str(STEP_SCRIPT)}
        before = procs.cpu_seconds(procs.descendants([self.process.pid]))
        t0 = time.perf_counter()
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        outside = time.perf_counter() - t0
        cpu = procs.cpu_spent(before, procs.cpu_seconds(procs.descendants([self.process.pid])))
        if not line:
            raise RuntimeError(f"{self.label} exited (code {self.process.poll()}); see {self.log_path}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.label}: {answer['error']}")
        return {"seconds": answer["seconds"], "request_s": outside, "cpu_s": cpu}

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
