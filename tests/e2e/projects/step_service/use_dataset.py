"""Read a registered dataset and a datastore from inside the step through the step's workspace."""

import argparse
import io
import json

from azureml.core import Dataset, Datastore, Run

parser = argparse.ArgumentParser()
parser.add_argument("--dataset", required=True)
parser.add_argument("--report", required=True)
args = parser.parse_args()

run = Run.get_context()
ws = run.experiment.workspace
dataset = Dataset.get_by_name(ws, name=args.dataset)
frame = dataset.to_pandas_dataframe()
store = Datastore.get(ws, "workspaceblobstore")
report = {
    "version": dataset.version,
    "rows": frame.to_dict(orient="records"),
    "datastore": store.name,
    "workspace": ws.name,
}
with open(args.report, "w") as handle:
    json.dump(report, handle)
run.upload_file("outputs/report.json", args.report)
run.upload_file(name="./logs/note.txt", path_or_stream=io.BytesIO(b"a note"))
try:
    run.upload_file("elsewhere.txt", args.report)
except NotImplementedError as exc:
    print(f"refused: {exc}")
