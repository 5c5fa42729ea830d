"""A real two-node Ray cluster on this machine for the Ray backend's tests (issue 14).

``ray_cluster`` (package scope: ``tests/compute`` imports it, so the cluster runs while that package's tests do)
starts a head (``ray start --head`` with the dashboard, whose Jobs API the
backend talks to; two CPUs) and a second node (``ray start --address``; one CPU) on 127.0.0.1, with a small
object store, on free ports, with this interpreter's bin directory first on PATH so a job's ``python`` is the
one durableml is installed in (on a real cluster: ``pip install durableml`` on the nodes, or the target's
``runtime_env``). At the end ``ray stop --force`` stops both. Skipped, with the reason, when ray is not
installed (``scripts/setup.sh`` installs it with the dev extra).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from funchost.host import free_port

__all__ = ["RayCluster", "ray_cluster", "start_ray_cluster"]

HEAD_CPUS, NODE_CPUS = 2, 1  # Ray's logical CPUs: a step asks for one, so three steps run at once
OBJECT_STORE_BYTES = 80 * 1024 * 1024


@dataclass
class RayCluster:
    """A running cluster: ``address`` is the dashboard's (Jobs API) URL."""

    address: str
    gcs_address: str
    temp_dir: Path
    env: dict[str, str] = field(repr=False)

    def stop(self) -> None:
        """``ray stop --force`` (every Ray process of this machine), then remove the cluster's temp directory."""
        ray = str(Path(sys.executable).with_name("ray"))
        subprocess.run([ray, "stop", "--force"], env=self.env, capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _ray_command() -> str:
    ray = Path(sys.executable).with_name("ray")
    if not ray.exists():
        pytest.skip("ray is not installed in this environment (scripts/setup.sh installs ray[default])")
    return str(ray)


def start_ray_cluster() -> RayCluster:
    """Start a head and a second node, Ray's files in a new directory under /tmp; raises with Ray's
    output if either fails."""
    ray = _ray_command()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env.pop("RAY_ADDRESS", None)
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's unix socket paths must fit 107 bytes
    port, dashboard = free_port(), free_port()
    common = [
        "--node-ip-address=127.0.0.1",
        "--num-gpus=0",
        f"--object-store-memory={OBJECT_STORE_BYTES}",
        "--disable-usage-stats",
    ]
    head = [
        ray, "start", "--head", f"--port={port}", f"--temp-dir={temp_dir}", "--include-dashboard=true",
        "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard}", f"--ray-client-server-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}", f"--metrics-export-port={free_port()}",
        f"--num-cpus={HEAD_CPUS}", *common,
    ]  # fmt: skip
    worker = [
        ray, "start", f"--address=127.0.0.1:{port}", f"--dashboard-agent-listen-port={free_port()}",
        f"--metrics-export-port={free_port()}", f"--num-cpus={NODE_CPUS}", *common,
    ]  # fmt: skip
    cluster = RayCluster(f"http://127.0.0.1:{dashboard}", f"127.0.0.1:{port}", temp_dir, env)
    for command in (head, worker):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            cluster.stop()
            raise RuntimeError(f"{' '.join(command[:3])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    _wait_for_nodes(cluster, 2)
    return cluster


def _wait_for_nodes(cluster: RayCluster, count: int, timeout: float = 60.0) -> None:
    """Wait until the Jobs API answers and the cluster has ``count`` live nodes."""
    import requests

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            answer = requests.get(f"{cluster.address}/nodes?view=summary", timeout=5)
            if answer.ok:
                summary = answer.json().get("data", {}).get("summary", [])
                alive = [n for n in summary if n.get("raylet", {}).get("state") == "ALIVE"]
                if len(alive) >= count and requests.get(f"{cluster.address}/api/version", timeout=5).ok:
                    return
                last = f"{len(alive)} live node(s)"
        except requests.RequestException as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.5)
    raise RuntimeError(f"the Ray cluster at {cluster.address} did not come up with {count} nodes: {last}")


@pytest.fixture(scope="package")
def ray_cluster() -> Iterator[RayCluster]:
    cluster = start_ray_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
