"""A DatabricksStep script that notes its start and end in a journal (a local file: the loopback runs here)."""

import sys
import time

journal = sys.argv[1]
with open(journal, "a") as handle:
    handle.write("start\n")
time.sleep(4)
with open(journal, "a") as handle:
    handle.write("end\n")
