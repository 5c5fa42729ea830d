"""The seed's dataset-consuming step: read the named tabular input through Run.input_datasets."""

from azureml.core import Run, Dataset  # noqa: F401  (as in the seed)

run_context = Run.get_context()
iris_dataset = run_context.input_datasets["iris_data"]
dataframe = iris_dataset.to_pandas_dataframe()
means = dataframe.groupby("species")["petal_length"].mean().round(2).to_dict()
print("mean petal length by species:", means)
run_context.log("rows", len(dataframe))
