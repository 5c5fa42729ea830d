"""A generic pipeline step for the end-to-end tests (standard library only).

    step.py --name NAME [--journal FILE] [--in PATH ...] [--out PATH] [--value V] [--sleep S]
            [--pidfile FILE] [--fail] [--fail-if FILE]

* ``--journal``: appends ``start NAME <pid> <time>`` when it starts and ``end NAME <pid> <time>``
  when its work is done (so a test can count how often each step's script ran, and in what order);
* ``--in``: inputs (a directory or a file); every ``names.txt`` found is read;
* ``--out``: a directory created with ``names.txt`` = this step's name plus every name read from the
  inputs (a join therefore proves which upstream outputs it saw), and ``value.txt`` when ``--value``;
* ``--pidfile``: writes this process's pid there once it runs; ``--sleep``: sleeps that long;
* ``--fail``: raises after printing, so the traceback lands in the step's log; ``--fail-if FILE``: the same
  while FILE exists (a failure a test can fix without changing the step).
"""

import argparse
import os
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--name", required=True)
parser.add_argument("--journal")
parser.add_argument("--in", dest="inputs", action="append", default=[])
parser.add_argument("--out")
parser.add_argument("--value")
parser.add_argument("--sleep", type=float, default=0.0)
parser.add_argument("--pidfile")
parser.add_argument("--fail", action="store_true")
parser.add_argument("--fail-if")
parser.add_argument("--wait-for", help="go on once this file exists (at most 120 s)")
args = parser.parse_args()


def journal(event: str) -> None:
    if args.journal:
        with open(args.journal, "a", encoding="utf-8") as handle:
            handle.write(f"{event} {args.name} {os.getpid()} {time.time():.6f}\n")
            handle.flush()
            os.fsync(handle.fileno())


journal("start")
if args.pidfile:
    with open(args.pidfile + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(str(os.getpid()))
    os.replace(args.pidfile + ".tmp", args.pidfile)
print(f"step {args.name} starting (pid {os.getpid()}, cwd {os.getcwd()})", flush=True)

names = [args.name]
for path in args.inputs:
    files = (
        [path]
        if os.path.isfile(path)
        else [os.path.join(root, name) for root, _dirs, found in os.walk(path) for name in found]
    )
    for file in sorted(files):
        if os.path.basename(file) == "names.txt":
            with open(file, encoding="utf-8") as handle:
                names.extend(line.strip() for line in handle if line.strip())
print(f"step {args.name} read {len(names) - 1} upstream names from {len(args.inputs)} inputs", flush=True)
if args.value is not None:
    print(f"step {args.name} got value={args.value!r}", flush=True)

if args.sleep:
    time.sleep(args.sleep)
if args.wait_for:
    deadline = time.monotonic() + 120
    while not os.path.exists(args.wait_for) and time.monotonic() < deadline:
        time.sleep(0.02)

if args.fail or (args.fail_if and os.path.exists(args.fail_if)):
    print(f"step {args.name} is about to fail", flush=True)
    raise RuntimeError(f"step {args.name} failed on purpose (e2e-failure-marker)")

if args.out:
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "names.txt"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(sorted(set(names))) + "\n")
    if args.value is not None:
        with open(os.path.join(args.out, "value.txt"), "w", encoding="utf-8") as handle:
            handle.write(args.value)
journal("end")
print(f"step {args.name} done", flush=True)
sys.exit(0)
