"""Copies every file of the input folder (argv[1]) to the output folder (argv[2]), as ``copied-<name>``."""

import os
import shutil
import sys

source, target = sys.argv[1], sys.argv[2]
os.makedirs(target, exist_ok=True)
for root, _dirs, names in os.walk(source):
    for name in names:
        shutil.copy(os.path.join(root, name), os.path.join(target, "copied-" + name))
print("copied", sorted(os.listdir(target)), flush=True)
os.makedirs("outputs", exist_ok=True)
with open(os.path.join("outputs", "model.txt"), "w", encoding="utf-8") as handle:
    handle.write("a model made from the copied files\n")
