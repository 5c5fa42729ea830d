"""A partitioned ParallelRunStep entry script: one mini-batch per region, with its key in the context."""


def init():
    pass


def run(mini_batch, mini_batch_context):
    region = mini_batch_context.partition_key_value["region"]
    return [f"{region} {len(mini_batch)} {int(mini_batch['value'].sum())}"]
