"""A partitioned FileDataset entry script: one mini-batch per (store, day), the files of that partition."""

import os


def init():
    pass


def run(mini_batch, mini_batch_context):
    key = mini_batch_context.partition_key_value
    names = ",".join(sorted(os.path.basename(path) for path in mini_batch))
    total = sum(int(open(path).read()) for path in mini_batch)
    return [f"{key['store']} {key['day']:%Y-%m-%d} {names} {total}"]
