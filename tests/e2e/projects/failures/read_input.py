"""Lists the input it was given (the test gives it one that does not exist)."""

import os
import sys

print("input:", sys.argv[1], os.listdir(sys.argv[1]) if os.path.isdir(sys.argv[1]) else "(a file)", flush=True)
