"""Writes each row of a mini-batch with its columns' dtypes: what run() got from a typed, filtered dataset."""


def init():
    pass


def run(mini_batch):
    types = ";".join(f"{column}:{dtype}" for column, dtype in mini_batch.dtypes.items())
    return [f"{row.region}|{row.amount}|{row.day:%Y-%m-%d}|{types}" for row in mini_batch.itertuples()]
