"""Run the Durable sample end to end under funchost: start the host, run one orchestration, stop.

    python examples/durable_sample/run.py [--port N] [--state-dir DIR] [--timeout S] [--input JSON]

What it does, as a user would by hand:
1. starts ``python -m funchost start --app examples/durable_sample --port N --state-dir DIR``. Unless
   ``AzureWebJobsStorage`` is already set, it points the host at a loopback Azurite account on free
   ports, which funchost starts by itself (and stops when it exits);
2. waits for ``GET /admin/host/status`` to report ``Running``;
3. reads the function key from ``DIR/keys.json`` and calls ``POST /api/orchestrators/hello_chain``;
4. polls the returned ``statusQueryGetUri`` until the orchestration finishes, prints its output;
5. stops funchost (SIGTERM, then SIGKILL if it hangs). Exit code 0 when the orchestration completed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

APP_DIR = Path(__file__).resolve().parent
REPO_ROOT = APP_DIR.parent.parent
TERMINAL = {"Completed", "Failed", "Terminated", "Canceled"}

sys.path.insert(0, str(REPO_ROOT))  # funchost, when run without `pip install -e .`
from funchost.process import FunchostProcess, with_local_storage  # noqa: E402


class RunError(RuntimeError):
    """The sample did not complete; the message says where it stopped."""


def http(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One HTTP request; returns (status, headers, parsed JSON body or text). HTTP errors are returned."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, head = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            status, raw, head = exc.code, exc.read(), dict(exc.headers)
    text = raw.decode("utf-8", "replace")
    try:
        return status, head, json.loads(text) if text else None
    except ValueError:
        return status, head, text


def with_code(url: str, code: str) -> str:
    """Add ``code=<key>`` to a management URL unless it already carries one (as in Azure)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if not any(name == "code" for name, _ in query):
        query.append(("code", code))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def run_orchestration(base_url: str, keys: dict[str, Any], name: str, payload: Any, timeout: float) -> dict[str, Any]:
    """Start ``name`` through the app's HTTP starter and poll its status until it finishes."""
    status, _, body = http(
        "POST", f"{base_url}/api/orchestrators/{name}", payload, {"x-functions-key": keys["functionKeys"]["default"]}
    )
    if status != 202 or not isinstance(body, dict) or "statusQueryGetUri" not in body:
        raise RunError(f"starting {name} answered HTTP {status}: {body!r}")
    print(f"started {name}: instance {body['id']}")
    status_url = with_code(body["statusQueryGetUri"], keys["systemKeys"]["durabletask_extension"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, state = http("GET", status_url)
        if status in (200, 202) and isinstance(state, dict):
            if state.get("runtimeStatus") in TERMINAL:
                return state
        elif status != 404:  # 404 right after the start is a race with the store, not an error
            raise RunError(f"status query answered HTTP {status}: {state!r}")
        time.sleep(0.25)
    raise RunError(f"{name} did not finish within {timeout:.0f} s")


def json_value(text: str) -> Any:
    """An ``--input`` value: any JSON document."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--input must be JSON, e.g. '[\"Oslo\"]' ({exc})") from exc


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="funchost HTTP port (default: a free one)")
    parser.add_argument("--state-dir", type=Path, help="funchost state dir (default: a temp dir, removed after)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for start-up and for the run")
    parser.add_argument("--orchestrator", default="hello_chain")
    parser.add_argument(
        "--input",
        type=json_value,
        default=["Tokyo", "Seattle", "London"],
        help="orchestration input as JSON (default: three city names)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    temp: Path | None = None
    if args.state_dir is not None:
        state_dir = args.state_dir.resolve()
    else:
        temp = Path(tempfile.mkdtemp(prefix="durable-sample-"))
        state_dir = temp / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir.parent / f"funchost-{state_dir.name}.log"
    env = with_local_storage(dict(os.environ, PYTHONUNBUFFERED="1"))
    host = FunchostProcess(
        APP_DIR, state_dir, log_path, env, port=args.port or None, ready_timeout=args.timeout, cwd=REPO_ROOT
    )
    print(f"starting funchost on port {host.port} (state {state_dir}, log {log_path})")
    started = time.monotonic()
    try:
        host.start()
        print(f"funchost ready in {time.monotonic() - started:.1f} s")
        run_started = time.monotonic()
        state = run_orchestration(host.base_url, host.keys, args.orchestrator, args.input, args.timeout)
        print(f"{args.orchestrator} {state['runtimeStatus']} in {time.monotonic() - run_started:.1f} s; output:")
        print(json.dumps(state.get("output"), indent=2))
        return 0 if state["runtimeStatus"] == "Completed" else 1
    except (RunError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        host.stop()
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
