"""Helpers shared by the end-to-end tests: polling, process checks, and steps over ``projects/steps``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from durableml.compute.local.job_files import pid_alive  # noqa: F401  (used by the e2e tests through this module)
from durableml.core import Workspace
from durableml.core.compute import AmlCompute, ComputeTarget
from durableml.pipeline.core import PipelineData
from durableml.pipeline.steps import PythonScriptStep
from tests.polling import wait_until  # noqa: F401  (used by the e2e tests through this module)

STEPS_DIR = Path(__file__).resolve().parent / "projects" / "steps"
COMPUTE = "e2e-cpu"


def ensure_compute(ws: Workspace, name: str = COMPUTE, max_nodes: int = 4) -> ComputeTarget:
    """The AmlCompute ``name``, created the v1 way when it does not exist yet."""
    targets = ws.compute_targets
    if name in targets:
        return targets[name]
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=0, max_nodes=max_nodes)
    target = ComputeTarget.create(ws, name, config)
    target.wait_for_completion(show_output=False)
    return target


def step(
    name: str,
    journal: Path | str,
    compute: Any,
    *,
    inputs: Sequence[PipelineData] = (),
    output: PipelineData | None = None,
    extra: Sequence[Any] = (),
    source: Path = STEPS_DIR,
    **options: Any,
) -> PythonScriptStep:
    """A PythonScriptStep running ``projects/steps/step.py --name <name> --journal <journal> ...``."""
    arguments: list[Any] = ["--name", name, "--journal", str(journal)]
    for data in inputs:
        arguments += ["--in", data]
    if output is not None:
        arguments += ["--out", output]
    arguments += list(extra)
    return PythonScriptStep(
        script_name="step.py",
        name=name,
        arguments=arguments,
        inputs=list(inputs),
        outputs=[output] if output is not None else [],
        compute_target=compute,
        source_directory=str(source),
        **options,
    )


def journal_events(journal: Path) -> list[tuple[str, str, int, float]]:
    """The ``(event, step name, pid, time)`` lines a run of step.py scripts appended to ``journal``."""
    if not journal.exists():
        return []
    events = []
    for line in journal.read_text(encoding="utf-8").splitlines():
        event, name, pid, when = line.split()
        events.append((event, name, int(pid), float(when)))
    return events


def journal_counts(journal: Path, event: str) -> Counter[str]:
    """How many times each step wrote ``event`` (``start`` or ``end``) to the journal."""
    return Counter(name for kind, name, _pid, _when in journal_events(journal) if kind == event)


def step_summary(run: Any) -> str:
    """One line per step of a pipeline run (name, status, error) for assertion messages."""
    lines = []
    for step_run in run.get_steps():
        details = step_run.get_details()
        lines.append(f"{details.get('name')}: {details.get('status')} error={details.get('error')!r}")
    return "\n".join(lines)


def seen(run: Any, step_name: str = "seen") -> dict[str, Any]:
    """What a step reported with one ``SEEN {json}`` line in its log, once the run finished."""
    import json
    import re

    assert run.wait_for_completion(show_output=False) == "Finished", run.get_steps()[0].get_job_log()
    log = run.find_step_run(step_name)[0].get_job_log()
    match = re.search(r"^SEEN (.*)$", log, re.M)
    assert match, log
    return dict(json.loads(match.group(1)))


def finishes_after_a_host_crash(service: Any, run: Any, running: Any, what: str, timeout: float = 180) -> None:
    """SIGKILL funchost once ``running()`` holds while another thread waits for ``run``, restart it on the same
    state, and check the run then ends Finished (``wait_for_completion`` kept waiting through the outage)."""
    import threading

    outcome: dict[str, Any] = {}

    def wait() -> None:
        try:
            outcome["status"] = run.wait_for_completion(
                show_output=False, timeout_seconds=timeout, raise_on_error=False
            )
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc

    waiter = threading.Thread(target=wait, name="wait_for_completion", daemon=True)
    waiter.start()
    wait_until(running, timeout=timeout, what=what)
    service.host.kill()
    service.host.restart()
    waiter.join(timeout=timeout)
    assert not waiter.is_alive(), f"still waiting {timeout} s after the restart\n{service.log_tail()}"
    assert "error" not in outcome, f"wait_for_completion raised: {outcome.get('error')!r}"
    assert outcome["status"] == "Finished", f"{outcome['status']}\n{step_summary(run)}\n{service.log_tail()}"
