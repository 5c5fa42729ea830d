"""A v1 ParallelRunStep entry script over a TabularDataset: each mini-batch is a pandas DataFrame."""


def init():
    pass


def run(mini_batch):
    mini_batch["double"] = mini_batch["value"] * 2
    return mini_batch[["id", "double"]]
