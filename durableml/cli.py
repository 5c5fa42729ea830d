"""The ``durableml`` command: start and stop durableml on this machine, and look at its runs.

    durableml up [--port N] [--state-dir DIR] [--config PATH] [--account NAME]... [--detach]
    durableml down [--state-dir DIR]
    durableml status [--state-dir DIR]
    durableml runs list [--experiment E] [--json]
    durableml runs show RUN_ID [--json]
    durableml runs logs RUN_ID [--follow]
    durableml runs cancel RUN_ID [--wait]
    durableml studio [RUN_ID] [--print-link]
    durableml export --out FILE [--config PATH]
    durableml import FILE [--config PATH]

``up`` starts funchost on the durableml Function App (funchost starts Azurite) with its state in
``--state-dir`` (default ``.durableml-local`` in the current directory; see :mod:`durableml.launcher`),
writes ``config.json`` for ``Workspace.from_config()`` and stays in the foreground until Ctrl-C, or with
``--detach`` leaves durableml running for ``down``. The ``runs`` commands call the service's HTTP API:
the one recorded in the state dir, else the one named by the ``config.json`` that ``Workspace.from_config()``
would find (``--config PATH`` names one). ``export``/``import`` move published pipelines, endpoints,
schedules and the datastores and computes they name from one service to another (:mod:`durableml.workspace_move`):
export from the local one, then import with ``--config`` naming the deployed one's config.json.
Exit codes: 0 success, 1 error, 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from durableml import launcher
from durableml import contract
from durableml._version import __version__
from durableml.config import WorkspaceConfig, find_config_file, load_config
from durableml.exceptions import AzureMLException, NotFoundError, ServiceNotConnectedError
from funchost.azurite import account_names
from funchost.errors import ConfigError

if TYPE_CHECKING:
    from durableml.http_client import HttpServiceClient

__all__ = ["main", "parser"]

FOLLOW_INTERVAL = 0.5


class CliError(Exception):
    """An error to print (``durableml: error: ...``) before exiting with code 1."""


# ---------------------------------------------------------------------------------------------- parser
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="durableml",
        description="Run durableml on this machine (funchost + Azurite) and look at its pipeline runs.",
        epilog=f"State dir default: ./{launcher.DEFAULT_STATE_DIR} (keys, run store, Azurite data, funchost.log).",
    )
    p.add_argument("--version", action="version", version=f"durableml {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser(
        "up",
        help="start durableml locally and write config.json",
        description="Start funchost on the durableml Function App (funchost starts Azurite), wait until it runs, "
        "and write config.json (endpoint + function key) for Workspace.from_config(). Stays in the foreground "
        "until Ctrl-C, then stops everything; with --detach it keeps running until `durableml down`.",
    )
    up.add_argument(
        "--port",
        type=int,
        default=launcher.DEFAULT_PORT,
        help=f"HTTP port (default {launcher.DEFAULT_PORT}, the SDK's default endpoint; 0: any free port)",
    )
    _state_dir_option(up)
    up.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help="where to write config.json: a file or a directory (default: ./config.json)",
    )
    up.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="NAME",
        help="another storage account for Azurite to serve (repeatable), for datastores on other accounts: "
        "http://127.0.0.1:<blob port>/NAME, its key funchost.azurite.account_key(NAME)",
    )
    up.add_argument("--detach", action="store_true", help="start it and return; stop it later with `durableml down`")
    up.add_argument(
        "--timeout", type=float, default=launcher.READY_TIMEOUT, help="seconds to wait for it to run (default 90)"
    )
    up.set_defaults(handler=cmd_up)

    down = sub.add_parser(
        "down",
        help="stop the durableml that `durableml up` started",
        description="Stop funchost, its Azurite and the local-compute workers recorded in the state dir.",
    )
    _state_dir_option(down)
    down.set_defaults(handler=cmd_down)

    status = sub.add_parser(
        "status",
        help="say whether durableml runs, where, and where its files are",
        description="Whether the durableml recorded in the state dir runs (exit code 0) or not (1).",
    )
    _state_dir_option(status)
    status.set_defaults(handler=cmd_status)

    runs = sub.add_parser(
        "runs",
        help="list, show, follow the logs of or cancel pipeline runs",
        description="Pipeline runs of the running durableml: the one recorded in the state dir, else the one "
        "named by config.json (searched in the current directory and its parents, or --config PATH).",
    )
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, metavar="RUNS_COMMAND")
    listing = runs_sub.add_parser("list", help="list pipeline runs, newest first", description="List pipeline runs.")
    listing.add_argument("--experiment", "-e", help="only this experiment's runs (default: every experiment)")
    listing.add_argument("--json", action="store_true", help="print the run records as JSON")
    listing.set_defaults(handler=cmd_runs_list)
    show = runs_sub.add_parser("show", help="one run and its steps", description="Show a run and its step runs.")
    show.add_argument("run_id", metavar="RUN_ID", help="a pipeline run or step run id")
    show.add_argument("--json", action="store_true", help="print the run record (and its steps) as JSON")
    show.set_defaults(handler=cmd_runs_show)
    logs = runs_sub.add_parser(
        "logs",
        help="print a run's log",
        description="Print the driver log of a step run, or the logs of every step of a pipeline run.",
    )
    logs.add_argument("run_id", metavar="RUN_ID", help="a pipeline run or step run id")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until the run ends")
    logs.set_defaults(handler=cmd_runs_logs)
    cancel = runs_sub.add_parser("cancel", help="cancel a run", description="Ask the service to cancel a run.")
    cancel.add_argument("run_id", metavar="RUN_ID", help="a pipeline run id")
    cancel.add_argument("--wait", action="store_true", help="wait until the run has ended")
    cancel.add_argument("--timeout", type=float, default=120.0, help="seconds --wait waits at most (default 120)")
    cancel.set_defaults(handler=cmd_runs_cancel)
    studio = sub.add_parser(
        "studio",
        help="open the studio web page in the browser, signed in",
        description="Open the studio (runs, graphs, logs, endpoints, schedules) in the web browser, signed in with a "
        "one-time code; the function key stays here (durableml.studio_login). A durableml that was started from the "
        "state dir and has stopped since is started again in the background; with no durableml in the default "
        "state dir and no config.json, the main job's (.funchost/main, from scripts/run_main.sh) is used.",
    )
    studio.add_argument("run_id", nargs="?", metavar="RUN_ID", help="open this run's page (default: the newest run)")
    studio.add_argument(
        "--print-link", action="store_true", help="print the one-time sign-in link instead of opening a browser"
    )
    studio.set_defaults(handler=cmd_studio)
    export = sub.add_parser(
        "export",
        help="write the workspace's published pipelines, endpoints, schedules, datastores (no secrets) to a file",
        description="Export what `durableml import` recreates in another durableml (durableml.workspace_move).",
    )
    export.add_argument("--out", type=Path, required=True, metavar="FILE", help="the export file to write (JSON)")
    export.set_defaults(handler=cmd_export)
    importing = sub.add_parser(
        "import",
        help="recreate an export's pipelines, endpoints, schedules and datastores in this durableml",
        description="Import an export file. Datastore secrets come from DURABLEML_IMPORT_<DATASTORE>_<SECRET> "
        "variables, or are asked for on a terminal; every missing one is named before anything changes.",
    )
    importing.add_argument("file", type=Path, metavar="FILE", help="a file `durableml export` wrote")
    importing.add_argument("--no-input", action="store_true", help="never ask for a secret (take them from env)")
    importing.set_defaults(handler=cmd_import)
    for command in (listing, show, logs, cancel, studio, export, importing):
        _state_dir_option(command)
        command.add_argument(
            "--config",
            type=Path,
            default=None,
            metavar="PATH",
            help="the config.json of the service to ask (default: the state dir's service, else config.json "
            "in the current directory or its parents)",
        )
    return p


def _state_dir_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--state-dir",
        type=Path,
        default=launcher.DEFAULT_STATE_DIR,
        metavar="DIR",
        help=f"durableml's local state (default: ./{launcher.DEFAULT_STATE_DIR})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (CliError, launcher.LauncherError) as exc:
        _error(str(exc))
    except ServiceNotConnectedError as exc:
        endpoint = exc.details.get("endpoint") or "its endpoint"
        _error(
            f"durableml is not running at {endpoint} (it does not answer). "
            "Start it with `durableml up` (or name another service with --config PATH)."
        )
    except AzureMLException as exc:
        _error(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `durableml runs list | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1


def _error(message: str) -> None:
    print(f"durableml: error: {message}", file=sys.stderr, flush=True)


def _say(message: str = "") -> None:
    print(message, flush=True)


def _state_hint(args: argparse.Namespace) -> str:
    """`` --state-dir DIR`` when it is not the default, for commands the user is told to type."""
    return "" if args.state_dir == launcher.DEFAULT_STATE_DIR else f" --state-dir {args.state_dir}"


# ---------------------------------------------------------------------------------------------- up/down/status
def cmd_up(args: argparse.Namespace) -> int:
    config = launcher.config_path(args.config if args.config is not None else Path.cwd())  # checked before starting
    try:
        accounts = account_names(args.account)
    except ConfigError as exc:
        raise CliError(str(exc)) from exc
    service = launcher.LocalDurableml(args.state_dir, port=args.port, ready_timeout=args.timeout, accounts=accounts)
    service.check()
    _say(f"starting durableml (funchost + Azurite) on port {service.port}; log: {service.log_path}")
    started = time.monotonic()
    service.start()
    try:
        path = service.write_config(config)
        service.note_config(path)
    except BaseException:
        service.stop()
        raise
    _say(f"durableml is running at {service.base_url} (pid {service.pid}, ready in {time.monotonic() - started:.1f} s)")
    _say(f"  config.json: {path} (endpoint + function key, for Workspace.from_config())")
    _say(f"  the function key is in that file ('key') and in {service.keys_path} (functionKeys.default)")
    _say(f"  state: {service.state_dir}")
    for name in accounts:
        _say(
            f"  storage account {name}: key funchost.azurite.account_key({name!r}) (Azurite's data; not in config.json)"
        )
    if args.detach:
        _say(f"It runs in the background; stop it with `durableml down{_state_hint(args)}`.")
        return 0
    return _foreground(service)


def _foreground(service: launcher.LocalDurableml) -> int:
    """Wait until Ctrl-C (SIGINT), SIGTERM or funchost's exit; then stop everything."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    _say("Press Ctrl-C to stop it.")
    try:
        while not stop.wait(0.5):
            if not service.host.is_running():
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stop.is_set():
        _say("\nstopping durableml...")
        service.stop()
        _say("durableml stopped")
        return 0
    stopped_elsewhere = service.stopped_elsewhere()  # by `durableml down`
    code = service.host.process.returncode if service.host.process else None
    service.stop()
    if stopped_elsewhere:
        _say("durableml was stopped (durableml down)")
        return 0
    tail = launcher.log_tail(service.log_path)
    raise CliError(f"funchost exited unexpectedly (code {code}); last lines of {service.log_path}:\n{tail}")


def cmd_down(args: argparse.Namespace) -> int:
    try:
        found = launcher.stop(args.state_dir)
    except launcher.LauncherError as exc:
        raise CliError(f"{exc}; nothing to stop") from exc
    record = found.record or {}
    azurite = f", Azurite pid {record['azurite_pid']}" if record.get("azurite_pid") else ""
    _say(f"durableml stopped (funchost pid {record.get('pid')} at {record.get('endpoint')}{azurite})")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    found = launcher.status(args.state_dir)
    if not found.running or found.record is None:
        _say(f"{found.message}. Start it with `durableml up{_state_hint(args)}`.")
        return 1
    record = found.record
    _say(f"{found.message}; host state: {found.host_state or 'not answering'}")
    _say(f"  started:   {record.get('started')}")
    _say(f"  state dir: {found.state_dir}")
    if record.get("config"):
        _say(f"  config:    {record['config']}")
    _say(f"  keys:      {record.get('keys')}")
    _say(f"  log:       {record.get('log')}")
    if record.get("azurite_pid"):
        _say(f"  Azurite:   pid {record['azurite_pid']}, data in {record.get('azurite_data')}")
    return 0 if found.host_state == "Running" else 1


# ---------------------------------------------------------------------------------------------- runs
def _client(args: argparse.Namespace) -> HttpServiceClient:
    """A client for the service the ``runs`` commands ask (see the module docstring for which one)."""
    if args.config is not None:
        if not args.config.exists():
            raise CliError(f"{args.config} does not exist (--config names a config.json or its directory)")
        return _http(load_config(args.config))
    found = launcher.status(args.state_dir)
    if found.record is not None:
        if not found.running:
            raise CliError(f"{found.message}. Start it with `durableml up{_state_hint(args)}`.")
        keys = Path(str(found.record.get("keys")))
        try:
            key = str(json.loads(keys.read_text(encoding="utf-8"))["functionKeys"]["default"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CliError(f"cannot read the function key from {keys}: {exc}") from exc
        return _http(WorkspaceConfig(endpoint=str(found.record["endpoint"]), key=key, source=str(keys)))
    config = find_config_file()
    if config is None:
        raise CliError(
            f"durableml is not running here: nothing was started from {found.state_dir} and there is no "
            "config.json in the current directory or its parents. Start it with `durableml up`."
        )
    return _http(load_config(config))


def _http(config: WorkspaceConfig) -> HttpServiceClient:
    from durableml.http_client import HttpServiceClient  # imported by the runs commands only (it takes a while)

    return HttpServiceClient(config, retry_delays=(0.2,))


def _run(client: HttpServiceClient, run_id: str) -> dict[str, Any]:
    try:
        return client.get_run(run_id)
    except NotFoundError as exc:
        raise CliError(f"no run {run_id!r} at {client.endpoint} (HTTP 404: {exc})") from exc


def cmd_runs_list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        if args.experiment:
            experiments = [args.experiment]
        else:
            experiments = sorted(str(e.get("name")) for e in client.list_experiments())
        found = [run for name in experiments for run in client.list_runs(name)]
    found.sort(key=lambda r: str(_get(r, "createdUtc", "created") or ""), reverse=True)
    if args.json:
        _say(json.dumps(found, indent=2))
        return 0
    if not found:
        where = f"in experiment {args.experiment!r}" if args.experiment else "yet"
        _say(f"no runs {where} at {client.endpoint}")
        return 0
    rows = [
        [
            str(r.get("id")),
            str(_get(r, "experimentName", "experiment")),
            str(r.get("status")),
            _time(_get(r, "createdUtc", "created")),
            _duration(r),
        ]
        for r in found
    ]
    _table(["RUN ID", "EXPERIMENT", "STATUS", "CREATED", "DURATION"], rows)
    return 0


def cmd_runs_show(args: argparse.Namespace) -> int:
    with _client(args) as client:
        record = _run(client, args.run_id)
        steps = list(reversed(client.list_step_runs(args.run_id))) if record.get("kind") == "pipeline" else []
    if args.json:
        _say(json.dumps({**record, "steps": steps} if record.get("kind") == "pipeline" else record, indent=2))
        return 0
    fields = [
        ("run", record.get("id")),
        ("kind", record.get("kind")),
        ("name", record.get("name") if record.get("kind") != "pipeline" else None),
        ("experiment", _get(record, "experimentName", "experiment")),
        ("parent", _get(record, "parentRunId", "parent_id")),
        ("status", record.get("status")),
        ("created", _time(_get(record, "createdUtc", "created"))),
        ("started", _time(_get(record, "startTimeUtc", "started"))),
        ("ended", _time(_get(record, "endTimeUtc", "ended"))),
        ("duration", _duration(record)),
        ("compute", _get(record, "target", "compute_target")),
        ("reused from", _get(record, "reusedFrom", "reused_from")),
        ("parameters", json.dumps(record["parameters"]) if record.get("parameters") else None),
        ("tags", json.dumps(record["tags"]) if record.get("tags") else None),
        ("error", record.get("error")),
    ]
    for label, value in fields:
        if value not in (None, "", "-"):
            _say(f"{label + ':':<12} {value}")
    if steps:
        _say(f"\nsteps ({len(steps)}):")
        rows = [
            [
                str(s.get("name")),
                str(s.get("status")),
                str(s.get("id")),
                _duration(s),
                _note(s),
            ]
            for s in steps
        ]
        _table(["STEP", "STATUS", "STEP RUN ID", "DURATION", ""], rows, indent="  ")
    return 0


def _note(step: dict[str, Any]) -> str:
    reused = _get(step, "reusedFrom", "reused_from")
    return f"reused from {reused}" if reused else str(step.get("error") or "")


def cmd_runs_logs(args: argparse.Namespace) -> int:
    with _client(args) as client:
        record = _run(client, args.run_id)
        if not args.follow:
            text = client.get_run_log(args.run_id, 0)
            sys.stdout.write(text if not text or text.endswith("\n") else text + "\n")
            sys.stdout.flush()
            return 0
        _follow(client, record)
    return 0


def _follow(client: HttpServiceClient, record: dict[str, Any]) -> None:
    """Print new log text until the run has ended (a pipeline run: each step's log, with ``[step]`` headers)."""
    run_id, pipeline = str(record["id"]), record.get("kind") == "pipeline"
    offsets: dict[str, int] = {}
    shown: str | None = None
    while True:
        status = str(client.get_run(run_id).get("status"))  # read before the logs: a final log is complete
        if pipeline:
            steps = reversed(client.list_step_runs(run_id))  # oldest first
            sources = [(str(s["id"]), str(s.get("name"))) for s in steps if s.get("submitted")]
        else:
            sources = [(run_id, "")]
        for source, name in sources:
            text = client.get_run_log(source, offsets.get(source, 0))
            if not text:
                continue
            offsets[source] = offsets.get(source, 0) + len(text)
            if pipeline and shown != source:
                sys.stdout.write(f"[{name}]\n")
            shown = source
            sys.stdout.write(text)
            sys.stdout.flush()
        if status in contract.TERMINAL:
            _say(f"--- run {run_id} {status}")
            return
        time.sleep(FOLLOW_INTERVAL)


def cmd_runs_cancel(args: argparse.Namespace) -> int:
    with _client(args) as client:
        record = _run(client, args.run_id)
        if record.get("status") in contract.TERMINAL:
            _say(f"run {args.run_id} has already ended ({record.get('status')}); nothing to cancel")
            return 0
        client.cancel_run(args.run_id)
        _say(f"cancel requested for run {args.run_id} (it was {record.get('status')})")
        if not args.wait:
            return 0
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            record, _ = client.wait_for_run_change(args.run_id, str(record.get("status")), 5.0)
            if record.get("status") in contract.TERMINAL:
                _say(f"run {args.run_id} {record.get('status')}")
                return 0
        raise CliError(f"run {args.run_id} had not ended {args.timeout:.0f} s after the cancel request")


# ---------------------------------------------------------------------------------------------- formatting
# ---------------------------------------------------------------------------------------------- export / import
def cmd_studio(args: argparse.Namespace) -> int:
    from durableml import studio_login

    main_job = Path(".funchost") / "main"  # scripts/run_main.sh's state, in a checkout's root
    if (
        args.config is None
        and args.state_dir == launcher.DEFAULT_STATE_DIR
        and not (args.state_dir / "funchost" / "keys.json").is_file()
        and find_config_file() is None
        and (main_job / "funchost" / "keys.json").is_file()
    ):
        _say(f"no durableml started here; opening the main job's ({main_job})")
        args.state_dir = main_job
    found = launcher.status(args.state_dir)
    if args.config is None and not found.running and (found.state_dir / "funchost" / "keys.json").is_file():
        # a durableml ran from this state dir and stopped (the examples stop theirs when the job ends): start it
        # again on the same state, in the background, so its runs can be looked at
        service = launcher.LocalDurableml(args.state_dir, port=0)
        service.check()
        _say(f"starting durableml again on {service.state_dir} (funchost + Azurite); log: {service.log_path}")
        service.start()
        _say(f"it runs at {service.base_url}; stop it with `durableml down{_state_hint(args)}`")
    client = _client(args)
    if args.print_link:
        link = studio_login.login_link(client, args.run_id)
        _say(f"{link.login_url}\n(works once, for 2 minutes; opens {link.url} signed in)")
        return 0
    try:
        link = studio_login.open_studio(client, args.run_id)
    except RuntimeError as exc:
        raise CliError(str(exc)) from exc
    _say(f"opened the studio at {link.url} (signed in; the link worked once)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from durableml import workspace_move

    with _client(args) as client:
        exported = workspace_move.export_workspace(client)
    partial = args.out.with_name(args.out.name + ".partial")
    partial.write_text(json.dumps(exported, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(partial, args.out)
    needing = [f"{d['name']} ({', '.join(d['secrets'])})" for d in exported["datastores"] if d["secrets"]]
    _say(
        f"exported {len(exported['published'])} published pipeline(s), {len(exported['endpoints'])} endpoint(s), "
        f"{len(exported['schedules'])} schedule(s), {len(exported['datastores'])} datastore(s), "
        f"{len(exported['computes'])} compute target(s) from {exported['source']} to {args.out}"
    )
    if needing:
        _say("secrets are not exported; the import needs them for: " + "; ".join(needing))
    for note in exported["skipped"]:
        _say(f"not exported: {note}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from durableml import workspace_move

    exported = workspace_move.read_export(args.file)
    secrets = workspace_move.gather_secrets(exported, ask=None if args.no_input else workspace_move.terminal_prompt())
    with _client(args) as client:
        report = workspace_move.import_workspace(client, exported, secrets)
        target = client.endpoint
    for item in report.created:
        _say(f"created {item}")
    for item in report.existing:
        _say(f"exists already, left as it is: {item}")
    for note in report.notes:
        _say(f"not imported: {note}")
    for item in report.failed:
        _error(f"failed: {item}")
    _say(f"imported into {target}: {len(report.created)} created, {len(report.existing)} existing, "
         f"{len(report.failed)} failed")  # fmt: skip
    return 1 if report.failed else 0


def _table(header: list[str], rows: list[list[str]], indent: str = "") -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        _say(indent + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _get(record: dict[str, Any], name: str, stored: str) -> Any:
    """A field of a run record by its API name (camelCase), or by the stored name older services answer with."""
    return record[name] if name in record else record.get(stored)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _time(value: Any) -> str:
    """An ISO time from the service as local time, to the second (``-`` when there is none)."""
    moment = _parse_time(value)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _duration(record: dict[str, Any]) -> str:
    started = _parse_time(_get(record, "startTimeUtc", "started"))
    ended = _parse_time(_get(record, "endTimeUtc", "ended"))
    if started is None:
        return "-"
    seconds = ((ended or datetime.now(started.tzinfo)) - started).total_seconds()
    text = f"{seconds:.1f} s" if seconds < 120 else f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return text if ended else f"{text} so far"


if __name__ == "__main__":
    raise SystemExit(main())
