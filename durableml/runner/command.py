"""The CommandStep driver: becomes the step's command, in the step's working directory.

``python command.py --durableml-shell "<command line>"`` runs the command line with ``/bin/sh -c``;
``python command.py -- <program> <arguments...>`` runs the program (looked up on ``PATH``) with its
arguments, inputs and outputs already replaced by their local paths by the step runner. Either way the
process is replaced (``exec``), so the command keeps the step's process id, process group, output, exit code
and signals, exactly as if the runner had started it.
"""

from __future__ import annotations

import os
import sys
from typing import Optional


def main(argv: Optional[list[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--durableml-shell"] and len(args) == 2:
        command = ["/bin/sh", "-c", args[1]]
    elif args[:1] == ["--"] and len(args) > 1:
        command = args[1:]
    else:
        print("usage: command.py --durableml-shell COMMAND_LINE | -- PROGRAM [ARGUMENTS...]", file=sys.stderr)
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"CommandStep: cannot run {command[0]!r}: {exc.strerror}", file=sys.stderr)
        return 127
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main())
