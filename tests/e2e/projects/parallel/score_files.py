"""A v1 ParallelRunStep entry script over a FileDataset: one result line per file."""

import os

from azureml.core import Run
from azureml_user.parallel_run import EntryScript

PREFIX = None


def init():
    global PREFIX
    PREFIX = f"scored-by-{os.getpid()}"
    EntryScript().logger.info("init in %s (run %s)", os.getpid(), Run.get_context().id)


def run(mini_batch):
    results = []
    for path in mini_batch:
        name = os.path.basename(path)
        if name.startswith("bad"):
            raise ValueError(f"cannot score {name}")
        with open(path, encoding="utf-8") as handle:
            results.append(f"{name} {len(handle.read())} {PREFIX.split('-')[0]}")
    return results
