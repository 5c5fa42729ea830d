"""A script handed to a waiting interpreter behaves as ``python script.py`` (durableml.runner.warm).

Each case runs the same script both ways, a cold ``subprocess`` of ``sys.executable`` and a
:class:`WarmInterpreters` process, with the same argv, working directory and environment, and compares
what a user can see: output, exit code, ``__main__``, ``sys.argv``/``sys.path``, the environment, the
loaded modules, tracebacks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from durableml.compute import JobSpec, JobState
from durableml.compute.local import LocalCompute
from durableml.runner.context import script_base_environment
from durableml.runner.warm import WarmInterpreters, pool_size, startup_compatible
from tests.polling import wait_until

from .conftest import StepFactory

# The worker's environment; pytest's own PYTEST_CURRENT_TEST changes between the phases of a test.
BASE = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}

PROBE = """
import os, sys, pickle
class Point:
    pass
names = {k: type(v).__name__ for k, v in globals().items() if k not in ("os", "sys", "pickle", "Point")}
print("main", sorted(names.items()), __file__, __name__, __spec__, __package__, __cached__)
print("loader", type(__loader__).__name__, __loader__.name, __loader__.path)
print("argv", sys.argv, sys.orig_argv[1:], sys.path[0], os.getcwd())
print("stdin", repr(sys.stdin.read()))
print("env", sorted((k, v) for k, v in os.environ.items() if k != "_"))
print("modules", sorted(m for m in sys.modules if m != "pickle" and not m.startswith("_compat_pickle")))
print("pickle", type(pickle.loads(pickle.dumps(Point()))).__module__)
print("flags", sys.flags, sys.stdout.encoding, sys.stdout.line_buffering)
"""


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[WarmInterpreters]:
    interpreters = WarmInterpreters(2, script_base_environment(BASE), tmp_path / "warm").start()
    yield interpreters
    interpreters.close()


def _job_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **script_base_environment(BASE),
        "AZUREML_RUN_ID": "step-1",
        "DURABLEML_RUN_CONTEXT": str(tmp_path / "context.json"),
        **extra,
    }


def _both(pool: WarmInterpreters, tmp_path: Path, script: str, *args: str, **extra_env: str) -> tuple:  # type: ignore[type-arg]
    """Run ``script`` cold and warm; returns ((cold code, cold output), (warm code, warm output))."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "main.py").write_text(textwrap.dedent(script), encoding="utf-8")
    env = _job_env(tmp_path, **extra_env)
    argv = ["main.py", *args]
    cold = subprocess.run(
        [sys.executable, *argv],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        timeout=60,
    )
    wait_until(lambda: pool._idle, what="a waiting interpreter")
    process = pool.run(argv, work, env)
    assert process is not None, "the pool had a waiting interpreter but did not use it"
    assert process.stdout is not None
    output = process.stdout.read()
    code = process.wait(timeout=60)
    process.stdout.close()
    return (cold.returncode, cold.stdout.decode()), (code, output.decode())


def test_the_script_sees_what_a_cold_start_shows_it(pool: WarmInterpreters, tmp_path: Path) -> None:
    cold, warm = _both(pool, tmp_path, PROBE, "--x", "1 2")
    assert cold[0] == 0, cold[1]
    assert warm == cold
    assert "('AZUREML_RUN_ID', 'step-1')" in warm[1]  # the job's own variables arrived


@pytest.mark.parametrize(
    "script",
    [
        "import sys\nsys.exit(3)",
        "import sys\nsys.exit('bad input: stop')",
        "print('before')\nraise SystemExit",
        "def f():\n    raise ValueError('boom')\nprint('x')\nf()",
        "try:\n    1/0\nexcept ZeroDivisionError as e:\n    raise KeyError('k') from e",
        "print('ok'\n",
        "import atexit\natexit.register(print, 'at exit')\nraise RuntimeError('late')",
        "import os\nos._exit(7)",
    ],
    ids=["exit-3", "exit-message", "bare-exit", "traceback", "chained", "syntax-error", "atexit", "os-exit"],
)
def test_exit_codes_and_tracebacks_match_a_cold_start(pool: WarmInterpreters, tmp_path: Path, script: str) -> None:
    cold, warm = _both(pool, tmp_path, script)
    assert warm == cold


def test_a_keyboard_interrupt_ends_the_script_by_sigint_as_a_cold_start_does(
    pool: WarmInterpreters, tmp_path: Path
) -> None:
    cold, warm = _both(pool, tmp_path, "raise KeyboardInterrupt")
    assert cold[0] == warm[0] == -signal.SIGINT
    assert warm[1] == cold[1]


def test_a_missing_script_fails_with_exit_code_2(pool: WarmInterpreters, tmp_path: Path) -> None:
    wait_until(lambda: pool._idle, what="a waiting interpreter")
    process = pool.run(["missing.py"], tmp_path, _job_env(tmp_path))
    assert process is not None and process.stdout is not None
    output = process.stdout.read().decode()
    assert process.wait(timeout=30) == 2
    process.stdout.close()
    assert "can't open file" in output and "missing.py" in output and "No such file" in output


def test_multiprocessing_spawn_reimports_the_script_as_main(pool: WarmInterpreters, tmp_path: Path) -> None:
    script = """
    import multiprocessing as mp

    def square(x):
        return x * x

    if __name__ == "__main__":
        with mp.get_context("spawn").Pool(2) as p:
            print(p.map(square, [1, 2, 3]))
    """
    cold, warm = _both(pool, tmp_path, script)
    assert warm == cold == (0, "[1, 4, 9]\n")


def test_a_symlinked_script_puts_its_real_directory_on_sys_path(pool: WarmInterpreters, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "helper.py").write_text("NAME = 'helper next to the real script'\n")
    (real / "target.py").write_text("import sys, helper\nprint(sys.path[0], __file__, helper.NAME)\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "main.py").symlink_to(real / "target.py")
    cold, warm = _run_existing(pool, work, _job_env(tmp_path))
    assert warm == cold
    assert str(real) in warm[1] and "helper next to the real script" in warm[1]


def _run_existing(pool: WarmInterpreters, work: Path, env: dict[str, str]) -> tuple:  # type: ignore[type-arg]
    cold = subprocess.run([sys.executable, "main.py"], cwd=work, env=env, capture_output=True, text=True, timeout=60)
    wait_until(lambda: pool._idle, what="a waiting interpreter")
    process = pool.run(["main.py"], work, env)
    assert process is not None and process.stdout is not None
    output = process.stdout.read().decode()
    code = process.wait(timeout=60)
    process.stdout.close()
    return (cold.returncode, cold.stdout + cold.stderr), (code, output)


def test_a_job_with_its_own_startup_environment_is_not_handed_to_a_waiting_interpreter(
    pool: WarmInterpreters, tmp_path: Path
) -> None:
    base = _job_env(tmp_path)
    wait_until(lambda: len(pool._idle) == 2, what="two waiting interpreters")
    for changed in ({"PYTHONPATH": "/elsewhere"}, {"LD_LIBRARY_PATH": "/opt/lib"}, {"OMP_NUM_THREADS": "1"}):
        assert not startup_compatible(pool.env, {**base, **changed})
        assert pool.run(["main.py"], tmp_path, {**base, **changed}) is None
    assert len(pool._idle) == 2  # none was used up
    assert startup_compatible(pool.env, {**base, "AZUREML_DATAREFERENCE_x": "/mnt/x", "DURABLEML_KEY": "k"})
    assert startup_compatible(pool.env, {**base, "AML_PARAMETER_alpha": "0.5"})  # a step's params: read by it


def test_a_waiting_interpreter_killed_from_outside_is_skipped(pool: WarmInterpreters, tmp_path: Path) -> None:
    wait_until(lambda: len(pool._idle) == 2, what="two waiting interpreters")
    victim = pool._idle[0].popen
    victim.kill()
    victim.wait()
    (tmp_path / "main.py").write_text("print('ran')\n")
    process = pool.run(["main.py"], tmp_path, _job_env(tmp_path))
    assert process is not None and process is not victim and process.stdout is not None
    assert process.stdout.read() == b"ran\n"
    assert process.wait(timeout=30) == 0
    process.stdout.close()


def test_waiting_interpreters_exit_without_running_anything_when_the_pool_closes_or_its_owner_dies(
    tmp_path: Path,
) -> None:
    pool = WarmInterpreters(2, script_base_environment(BASE), tmp_path / "warm").start()
    wait_until(lambda: len(pool._idle) == 2, what="two waiting interpreters")
    waiting = [w.popen for w in pool._idle]
    pool.close()
    assert [p.poll() for p in waiting] == [0, 0]
    # A worker killed with SIGKILL: its waiting interpreters see end-of-file and exit too.
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, time; from pathlib import Path\n"
            "from durableml.runner.warm import WarmInterpreters\n"
            "p = WarmInterpreters(2, dict(os.environ), Path(sys.argv[1])).start()\n"
            "while len(p._idle) < 2: time.sleep(0.01)\n"
            "print(' '.join(str(w.popen.pid) for w in p._idle), flush=True)\n"
            "time.sleep(60)",
            str(tmp_path / "warm2"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None
    pids = [int(p) for p in owner.stdout.readline().split()]
    owner.kill()
    owner.wait()
    owner.stdout.close()
    wait_until(lambda: not any(_alive(pid) for pid in pids), what="the orphaned interpreters to exit")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_the_pool_size_setting(caplog: pytest.LogCaptureFixture) -> None:
    assert pool_size({}) == 2
    assert pool_size({"DURABLEML_WARM_INTERPRETERS": "0"}) == 0
    assert pool_size({"DURABLEML_WARM_INTERPRETERS": " 4 "}) == 4
    assert pool_size({"DURABLEML_WARM_INTERPRETERS": "lots"}) == 2
    assert "DURABLEML_WARM_INTERPRETERS='lots' is not a whole number" in caplog.text


def test_a_switched_off_pool_starts_nothing(tmp_path: Path) -> None:
    pool = WarmInterpreters(0, script_base_environment(BASE), tmp_path / "warm").start()
    assert pool.run(["main.py"], tmp_path, _job_env(tmp_path)) is None
    assert not (tmp_path / "warm").exists()
    pool.close()


# The script prints how long ago (seconds) the interpreter it runs in was started (for a forked script: its fork
# server's, the interpreter it is a copy of), from /proc (10 ms clock ticks), and whether it was forked.
STARTED_AGO = """
import os, time
def started(pid):
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[19])
forked = b"_durableml_fork_server" in open(f"/proc/{os.getppid()}/cmdline", "rb").read()
ticks = started(os.getppid() if forked else os.getpid())
print("started_ago", time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK"), "forked", forked)
"""


def _started_ago(compute: LocalCompute, spec: JobSpec) -> tuple[float, bool]:
    compute.submit(spec)
    status = compute.wait(spec.job_id)
    assert status.state is JobState.FINISHED, status.error
    words = compute.logs(spec.job_id).split("started_ago", 1)[1].split()  # <seconds> forked <True|False>
    return float(words[0]), words[2] == "True"


@pytest.mark.parametrize("setting", ["2", "0"])
def test_the_worker_runs_steps_in_interpreters_started_before_the_step_unless_switched_off(
    new_compute: Callable[..., LocalCompute], step: StepFactory, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.setenv("DURABLEML_WARM_INTERPRETERS", setting)
    compute = new_compute()
    _started_ago(compute, step(STARTED_AGO))  # the worker is up and its pool filled behind this step
    time.sleep(0.5)
    ago, forked = _started_ago(compute, step(STARTED_AGO, environment={"AZUREML_EXTRA": "per-job variables are fine"}))
    if setting == "0":
        assert ago < 0.3 and not forked  # started for this step
    else:
        assert ago > 0.4 and forked  # forked from an interpreter started before the submit
    # A job whose environment changes what Python reads at startup always gets a new interpreter.
    ago, forked = _started_ago(compute, step(STARTED_AGO, environment={"PYTHONHASHSEED": "0"}))
    assert ago < 0.3 and not forked


def _run(pool: WarmInterpreters, work: Path, script: str) -> tuple[int, str, int]:
    """Run ``script`` in a fork server: (exit code, output, the script's pid)."""
    (work / "main.py").write_text(textwrap.dedent(script), encoding="utf-8")
    wait_until(lambda: pool._idle, what="an idle fork server")
    process = pool.run(["main.py"], work, _job_env(work))
    assert process is not None and process.stdout is not None
    output = process.stdout.read().decode()
    code = process.wait(timeout=60)
    process.stdout.close()
    return code, output, process.pid


def test_one_server_runs_script_after_script_each_in_a_new_process_of_its_own_group(
    pool: WarmInterpreters, tmp_path: Path
) -> None:
    probe = "import os\nprint(os.getppid(), os.getpgid(0) == os.getpid())\n"
    runs = [_run(pool, tmp_path, probe) for _ in range(4)]
    parents = {int(out.split()[0]) for _, out, _ in runs}
    assert {code for code, _, _ in runs} == {0} and {out.split()[1] for _, out, _ in runs} == {"True"}
    assert len({pid for _, _, pid in runs}) == 4  # a new process each time
    assert parents <= {s.popen.pid for s in pool._idle}  # forked by the pool's servers, which are still there


def test_what_a_forked_script_leaves_in_its_group_is_killed_when_it_ends(
    pool: WarmInterpreters, tmp_path: Path
) -> None:
    code, output, _ = _run(pool, tmp_path, "import subprocess\nprint(subprocess.Popen(['sleep', '60']).pid)\n")
    assert code == 0
    wait_until(lambda: not _alive(int(output)), what="the script's leftover sleep to be killed")


def test_a_forked_script_is_stopped_by_a_signal_to_its_group(pool: WarmInterpreters, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    wait_until(lambda: pool._idle, what="an idle fork server")
    process = pool.run(["main.py"], tmp_path, _job_env(tmp_path))
    assert process is not None and process.stdout is not None
    assert process.stdout.readline() == b"up\n"
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=0.2)
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=30) == -signal.SIGTERM
    process.stdout.close()


def test_a_server_killed_while_its_script_runs_reports_it_killed_and_is_replaced(
    pool: WarmInterpreters, tmp_path: Path
) -> None:
    (tmp_path / "main.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    wait_until(lambda: len(pool._idle) == 2, what="two idle fork servers")
    process = pool.run(["main.py"], tmp_path, _job_env(tmp_path))
    assert process is not None and process.stdout is not None
    assert process.stdout.readline() == b"up\n"
    server = process.server.popen
    server.kill()
    server.wait()
    assert process.wait(timeout=30) == -signal.SIGKILL
    wait_until(lambda: not _alive(process.pid), what="the orphaned script to be killed")
    process.stdout.close()
    wait_until(lambda: len(pool._idle) == 2, what="a new fork server in place of the killed one")
    assert server.pid not in {s.popen.pid for s in pool._idle}


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "cold"])
def test_the_pid_is_handed_over_before_any_output_is_read(pool: WarmInterpreters, tmp_path: Path, forked: bool) -> None:
    from durableml.runner.driver_log import DriverLog
    from durableml.runner.process import ScriptProcess

    (tmp_path / "main.py").write_text("print('at once', flush=True)\n")
    log = DriverLog(tmp_path / "driver.log", None)
    seen: list[str] = []

    def on_started(pid: int) -> None:
        time.sleep(0.3)  # the script has printed by now: its line must still wait in the pipe
        seen.append((tmp_path / "driver.log").read_text() if (tmp_path / "driver.log").exists() else "")

    if forked:
        wait_until(lambda: pool._idle, what="an idle fork server")
    process = ScriptProcess([sys.executable, "main.py"], tmp_path, _job_env(tmp_path), log, pool if forked else None)
    process.start(on_started)
    assert process.wait(30) == 0
    log.close()
    assert seen == [""] and "at once" in (tmp_path / "driver.log").read_text()
    assert process.warm is forked
