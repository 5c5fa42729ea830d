"""Chaos: SIGKILL funchost, Azurite and the local compute worker at random points of pipeline runs (issue 17).

durableml runs as ``durableml up`` runs it (:class:`durableml.launcher.LocalDurableml`; funchost starts and
supervises its own Azurite). Three runs go at once: two chains ``A -> B -> C`` and a fan-out ``A -> (B1, B2) -> J``.
Every step is ``projects/steps/step.py`` with a PipelineData output holding the names of every step upstream of
it, and waits for a go-file of its own before it ends, so this test decides when each step ends: the last step's
output must therefore name every step of its run, which proves every output arrived complete.

A seeded schedule (``DURABLEML_CHAOS_SEED``, printed in every failure message) releases the blocked steps one at
a time, in random order, and injects six SIGKILLs (funchost, Azurite and the worker, twice each, in random order)
at random points: while steps run (their scripts wait for their go-files), right after a step's script ended
(its result may not be recorded yet: before its successors start), half the time one more (funchost or the
worker) right after the submits, before any step started, and, for funchost and Azurite, half the time with a
step released during the outage (its end, its upload and its report meet a dead host or storage).

* **funchost**: its process group is SIGKILLed (its Azurite stops itself when its parent is gone), then it is
  restarted on the same ports and state, as in ``test_crash.py``.
* **Azurite**: SIGKILLed; funchost's supervisor restarts it on the same ports and data. A hard kill loses the
  metadata Azurite wrote in its last ~5 s (docs/design/faults.md, "What a hard kill of the local storage can
  lose"). This suite tests outages and restarts, not that documented data loss, so it kills Azurite only at a
  quiet point: every step that can run has started and waits for its go-file, and Azurite has saved its
  databases after that point (or 5.5 s have passed, longer than its 5 s save interval, so nothing was left
  unsaved). Lost metadata is covered by ``test_storage_outage.py``.
* **the worker**: ``python -m durableml.compute.local.worker`` is SIGKILLed; the next submit or poll starts a new
  one, which runs again each step whose result it had not recorded (at least once).

Asserted, for every accepted run: ``GET /api/runs/{id}`` never answers 404 (a thread asks all along); it ends
Finished, or Failed with a reason and then resumes to Finished (nobody cancels, so Canceled is a failure); no
step's script started again after its result was recorded Finished, and a step ran more than once only if the
worker was killed while it had no recorded result; the last step's output names every step of its run.

The module takes 65-115 s on a shared 2-core machine (seeds 1-5 and the default); every wait has a deadline and the
scenario gives up after 200 s, so the module stays under 4 minutes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from durableml.compute.local.job_files import StateDir, read_json
from durableml.core import Experiment, Workspace
from durableml.launcher import LocalDurableml
from durableml.pipeline.core import Pipeline, PipelineData
from tests.e2e._helpers import ensure_compute, journal_events, step, step_summary
from tests.polling import wait_until

SEED = int(os.environ.get("DURABLEML_CHAOS_SEED", "20261207"))
EXPERIMENT = "chaos"
BUDGET_S = 200.0  # the whole scenario, from the first submit to the last check
TERMINAL = ("Finished", "Failed", "Canceled")
KILLS = ["funchost", "azurite", "worker"] * 2
SHAPES = {  # step -> the steps whose outputs it reads
    "chain": {"A": [], "B": ["A"], "C": ["B"]},
    "fanout": {"A": [], "B1": ["A"], "B2": ["A"], "J": ["B1", "B2"]},
}


def _seed_says(text: str) -> str:
    return f"[DURABLEML_CHAOS_SEED={SEED}] {text}"


def _status(launched: LocalDurableml) -> dict[str, Any]:
    with urllib.request.urlopen(f"{launched.base_url}/admin/host/status", timeout=10) as response:
        return dict(json.loads(response.read()))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDurableml]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AzureWebJobsStorage", raising=False)  # funchost starts (and supervises) its own Azurite
        with LocalDurableml(tmp_path_factory.mktemp("chaos") / "svc", ready_timeout=90) as launched:
            yield launched


@dataclass
class ChaosRun:
    """One pipeline run of the scenario: its DAG, journal and go-files, and the SDK run once accepted."""

    tag: str
    shape: dict[str, list[str]]
    journal: Path
    go: Path
    run: Any = None
    released: set[str] = field(default_factory=set)

    def name(self, step_name: str) -> str:
        return f"{self.tag}-{step_name}"

    @property
    def last(self) -> str:
        return list(self.shape)[-1]

    def counts(self, event: str) -> Counter[str]:
        return Counter(name for kind, name, _pid, _when in journal_events(self.journal) if kind == event)

    def runnable(self) -> list[str]:
        """Steps whose upstream steps all ended and that have not ended themselves."""
        ended = self.counts("end")
        return [s for s, ups in self.shape.items() if not ended[self.name(s)] and all(ended[self.name(u)] for u in ups)]

    def blocked(self) -> list[str]:
        """Runnable steps whose script started and waits for its go-file."""
        started = self.counts("start")
        return [s for s in self.runnable() if started[self.name(s)] and s not in self.released]

    def settled(self) -> bool:
        """Every runnable step started (a run that ended has none)."""
        started = self.counts("start")
        return all(started[self.name(s)] for s in self.runnable())


def _pipeline(ws: Workspace, chaos: ChaosRun) -> Pipeline:
    datastore = ws.get_default_datastore()
    outputs = {s: PipelineData(f"{chaos.tag}_{s}", datastore=datastore) for s in chaos.shape}
    steps = [
        step(
            chaos.name(s),
            chaos.journal,
            "e2e-cpu",
            inputs=[outputs[u] for u in ups],
            output=outputs[s],
            extra=["--wait-for", str(chaos.go / chaos.name(s))],
        )
        for s, ups in chaos.shape.items()
    ]
    return Pipeline(ws, steps)


class Watcher:
    """Asks ``GET /api/runs/{id}`` for every accepted run all along; remembers every 404 (never allowed)."""

    def __init__(self, launched: LocalDurableml) -> None:
        self.launched = launched
        self.run_ids: list[str] = []
        self.not_found: list[tuple[str, str]] = []
        self.answers: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="chaos-watcher", daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _watch(self) -> None:
        session = requests.Session()
        headers = {"x-functions-key": self.launched.function_key}
        while not self._stop.wait(0.3):
            for run_id in list(self.run_ids):
                try:
                    answer = session.get(f"{self.launched.base_url}/api/runs/{run_id}", headers=headers, timeout=10)
                except requests.RequestException:
                    self.answers[0] += 1  # funchost is down: no answer at all, which is fine
                    continue
                self.answers[answer.status_code] += 1
                if answer.status_code == 404:
                    self.not_found.append((run_id, answer.text[:300]))
        session.close()


class Chaos:
    """The seeded schedule: releases steps and injects kills; remembers what it did."""

    def __init__(self, launched: LocalDurableml, runs: list[ChaosRun], rng: random.Random, deadline: float) -> None:
        self.launched = launched
        self.runs = runs
        self.rng = rng
        self.deadline = deadline
        self.kills = list(KILLS)
        rng.shuffle(self.kills)
        self.log: list[str] = []
        self.allowed_reruns: Counter[str] = Counter()  # step name -> worker kills while it had no recorded result

    def say(self, text: str) -> None:
        self.log.append(f"{time.monotonic() - (self.deadline - BUDGET_S):6.1f}s {text}")

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        assert left > 0, _seed_says(f"the scenario ran out of its {BUDGET_S:g} s\n" + "\n".join(self.log))
        return left

    def wait(self, condition: Any, what: str, timeout: float = 90.0) -> Any:
        try:
            return wait_until(condition, min(timeout, self.remaining()), 0.05, what)
        except AssertionError as exc:
            raise AssertionError(_seed_says(f"{exc}\n{self.state()}\n" + "\n".join(self.log))) from None

    def state(self) -> str:
        """Where every run is (for failure messages): runnable, started and released steps, and the jobs."""
        lines = [
            f"{r.tag}: runnable {r.runnable()} started {dict(r.counts('start'))} released {sorted(r.released)}"
            for r in self.runs
        ]
        lines += [f"job {spec['step_name']}: {(result or {}).get('status')}" for spec, result in _jobs(self.launched)]
        return "\n".join(lines)

    # ---- the scenario
    def play(self) -> None:
        steps = sum(len(r.shape) for r in self.runs)
        # a kill goes "while" the steps wait before the i-th release, or "after" the i-th released step ended
        slots: dict[tuple[int, str], str] = {}
        for kind in self.kills:
            # Azurite only at quiet points, and early (releases during outages make the schedule shorter)
            phases, reach = (["while"], steps // 2) if kind == "azurite" else (["while", "after"], steps)
            free = [(i, phase) for i in range(reach) for phase in phases if (i, phase) not in slots]
            slots[self.rng.choice(free)] = kind
        if self.rng.random() < 0.5:  # and one more, before any step started
            self.kill(self.rng.choice(["funchost", "worker"]), "right after the submits")
        for i in range(steps):
            self.wait(lambda: all(r.settled() for r in self.runs), "every runnable step to start")
            blocked = [(r, s) for r in self.runs for s in r.blocked()]
            if not blocked:  # every step ended (some were released during outages)
                break
            if (i, "while") in slots:
                self.kill(slots.pop((i, "while")), f"while {len(blocked)} steps wait", blocked=blocked)
                blocked = [(r, s) for r, s in blocked if s not in r.released]
            if not blocked:  # released during the outage
                continue
            chaos, name = self.rng.choice(blocked)
            self.release(chaos, name)
            self.wait_end(chaos, name)
            if (i, "after") in slots:
                self.kill(slots.pop((i, "after")), f"right after {chaos.name(name)} ended")
        for (i, phase), kind in sorted(slots.items()):  # slots the schedule did not reach: once the steps ended
            if kind == "azurite":  # a quiet point again
                self.wait(lambda: all(r.run.get_status() in TERMINAL for r in self.runs), "the runs to end")
            self.kill(kind, f"after the last step ended ({phase} slot {i})")

    def wait_end(self, chaos: ChaosRun, name: str) -> None:
        self.wait(lambda: chaos.counts("end")[chaos.name(name)] >= 1, f"{chaos.name(name)} to end")

    def release(self, chaos: ChaosRun, name: str) -> None:
        chaos.released.add(name)
        (chaos.go / chaos.name(name)).touch()
        self.say(f"released {chaos.name(name)}")

    def release_one(self, blocked: list[tuple[ChaosRun, str]] | None) -> tuple[ChaosRun, str] | None:
        """Release a random blocked step during an outage (half the time), for its end to meet it."""
        if not blocked or self.rng.random() < 0.5:
            return None
        chaos, name = self.rng.choice(blocked)
        self.release(chaos, name)
        return chaos, name

    def kill(self, kind: str, when: str, blocked: list[tuple[ChaosRun, str]] | None = None) -> None:
        getattr(self, f"_kill_{kind}")(when, blocked)

    def _kill_funchost(self, when: str, blocked: list[tuple[ChaosRun, str]] | None) -> None:
        self.launched.host.kill()
        self.say(f"SIGKILL funchost {when}")
        during = self.release_one(blocked)
        if during is not None:
            chaos, name = during
            self.wait_end(chaos, name)
        self.launched.host.restart()
        self.say("funchost restarted")

    def _kill_azurite(self, when: str, blocked: list[tuple[ChaosRun, str]] | None) -> None:
        quiet = time.time()  # every runnable step started and waits: nothing writes from now on
        data_dir = Path(_status(self.launched)["storage"]["dataDir"])
        databases = list(data_dir.glob("__azurite_db_*__.json"))
        self.wait(
            lambda: time.time() > quiet + 5.5 or all(p.stat().st_mtime > quiet + 0.2 for p in databases),
            "Azurite to save its databases",
            timeout=10,
        )
        storage = _status(self.launched)["storage"]
        os.kill(storage["pid"], signal.SIGKILL)
        self.say(f"SIGKILL Azurite (pid {storage['pid']}) {when}")
        self.release_one(blocked)

        def back() -> bool:
            status = _status(self.launched)
            return bool(status["state"] == "Running" and status["storage"]["pid"] != storage["pid"])

        self.wait(back, "the supervisor to restart Azurite", timeout=60)
        self.say("Azurite is back")

    def _kill_worker(self, when: str, _blocked: list[tuple[ChaosRun, str]] | None) -> None:
        state = StateDir(self.launched.durableml_state / "compute" / "e2e-cpu")
        info = read_json(state.worker_info) if state.worker_alive() else None  # a killed one holds no lock
        if info is None:
            self.say(f"no worker to kill {when}")
            return
        os.kill(int(info["pid"]), signal.SIGKILL)
        # its jobs without a result (read at once: a new worker needs a second to start) may run again
        unrecorded = [spec["step_name"] for spec, result in _jobs(self.launched) if result is None]
        self.allowed_reruns.update(unrecorded)
        self.say(f"SIGKILL worker (pid {info['pid']}) {when}; steps without a recorded result: {unrecorded}")


def _jobs(launched: LocalDurableml) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(spec, result or None) of every job the local compute was given."""
    jobs = launched.durableml_state / "compute" / "e2e-cpu" / "jobs"
    found = []
    for directory in sorted(jobs.iterdir()) if jobs.is_dir() else []:
        spec = read_json(directory / "spec.json")
        if spec is not None:
            found.append((spec, read_json(directory / "result.json")))
    return found


def _recorded_finished(launched: LocalDurableml) -> dict[str, float]:
    """Step name -> when its Finished result was recorded (result.json's mtime)."""
    jobs = launched.durableml_state / "compute" / "e2e-cpu" / "jobs"
    when: dict[str, float] = {}
    for directory in jobs.iterdir():
        spec, result = read_json(directory / "spec.json"), read_json(directory / "result.json")
        if spec and result and result.get("status") == "Finished":
            when[spec["step_name"]] = min(
                when.get(spec["step_name"], float("inf")), (directory / "result.json").stat().st_mtime
            )
    return when


def test_runs_survive_sigkills_of_funchost_azurite_and_the_worker(service: LocalDurableml, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    ws = Workspace.from_config(path=str(service.write_config(tmp_path / "project")))
    ensure_compute(ws, max_nodes=8)  # every runnable step runs at once: none waits for a node
    runs = [
        ChaosRun(f"r{i}", SHAPES[shape], tmp_path / f"r{i}.journal", tmp_path / f"go-r{i}")
        for i, shape in enumerate(["chain", "fanout", "chain"])
    ]
    for chaos in runs:
        chaos.go.mkdir()
    started = time.monotonic()
    chaos_plan = Chaos(service, runs, rng, started + BUDGET_S)
    with Watcher(service) as watcher:
        for chaos in runs:
            chaos.run = Experiment(ws, EXPERIMENT).submit(_pipeline(ws, chaos))
            watcher.run_ids.append(chaos.run.id)
            chaos_plan.say(f"submitted {chaos.tag} as {chaos.run.id}")
        chaos_plan.play()
        history = "\n".join(chaos_plan.log)
        for chaos in runs:
            _check_run(service, chaos, chaos_plan, history)
    assert not watcher.not_found, _seed_says(f"GET answered 404 for accepted runs: {watcher.not_found}\n{history}")
    assert watcher.answers[200] > 0, _seed_says(f"the watcher never got an answer: {watcher.answers}")

    recorded = _recorded_finished(service)
    for chaos in runs:
        events = journal_events(chaos.journal)
        for kind, name, pid, when in events:
            assert not (kind == "start" and when > recorded[name]), _seed_says(
                f"{name} started again (pid {pid}) after its result was recorded Finished\n{events}\n{history}"
            )
        starts, ends = chaos.counts("start"), chaos.counts("end")
        for s in chaos.shape:
            name = chaos.name(s)
            assert ends[name] >= 1, _seed_says(f"{name} never ended: {events}")
            assert starts[name] <= 1 + chaos_plan.allowed_reruns[name], _seed_says(
                f"{name} started {starts[name]} times, but the worker was killed only "
                f"{chaos_plan.allowed_reruns[name]} times while it had no recorded result\n{events}\n{history}"
            )
    starts = {r.tag: dict(r.counts("start")) for r in runs}
    print(f"chaos seed {SEED}: {time.monotonic() - started:.1f} s; GET answers {dict(watcher.answers)}")
    print(f"{history}\nscript starts: {starts}")


def _check_run(service: LocalDurableml, chaos: ChaosRun, plan: Chaos, history: str) -> None:
    run = chaos.run
    status = run.wait_for_completion(show_output=False, timeout_seconds=plan.remaining(), raise_on_error=False)
    details = run.get_details()
    where = f"run {chaos.tag} ({run.id})\n{step_summary(run)}\n{history}\n{service.host.output()[-3000:]}"
    if status == "Failed":
        assert details.get("error"), _seed_says(f"Failed without a reason: {where}")
        plan.say(f"{chaos.tag} ended Failed ({details.get('error')}); resuming it")
        status = run.resume().wait_for_completion(
            show_output=False, timeout_seconds=plan.remaining(), raise_on_error=False
        )
    assert status == "Finished", _seed_says(f"ended {status}: {where}")
    for s in chaos.shape:
        assert run.find_step_run(chaos.name(s))[0].get_status() == "Finished", _seed_says(where)
    data = run.find_step_run(chaos.name(chaos.last))[0].get_output_data(f"{chaos.tag}_{chaos.last}")
    into = chaos.journal.parent / f"{chaos.tag}-output"
    data.download(local_path=str(into), show_progress=False)
    names = (into / data.path_on_datastore / "names.txt").read_text(encoding="utf-8").split()
    assert sorted(names) == sorted(chaos.name(s) for s in chaos.shape), _seed_says(
        f"incomplete outputs: {names}\n{where}"
    )
