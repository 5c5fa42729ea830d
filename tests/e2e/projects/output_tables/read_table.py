"""Reads its named input datasets as DataFrames, v1 style, and prints their sums."""

from azureml.core import Run

run = Run.get_context()
for name in sorted(run.input_datasets):
    frame = run.input_datasets[name].to_pandas_dataframe()
    print(f"TABLE {name} rows={len(frame)} sum={int(frame['value'].sum())} columns={list(frame.columns)}", flush=True)
