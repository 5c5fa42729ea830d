"""Read a registered dataset and a datastore from inside the step through the step's workspace."""
import argparse
import json

from azureml.core import Dataset, Datastore, Run

parser = argparse.ArgumentParser()
parser.add_argument("--dataset", required=True)
parser.add_argument("--report", required=True)
args = parser.parse_args()

ws = Run.get_context().experiment.workspace
dataset = Dataset.get_by_name(ws, name=args.dataset)
frame = dataset.to_pandas_dataframe()
store = Datastore.get(ws, "workspaceblobstore")
with open(args.report, "w") as handle:
    json.dump({"version": dataset.version, "rows": frame.to_dict(orient="records"), "datastore": store.name,
               "workspace": ws.name}, handle)
