"""Regenerate the example's small data files (deterministic). Run from this folder: python data/make_data.py"""

import csv
import pickle
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOPICS = {
    "sci.space": "orbit launch rocket nasa moon shuttle satellite mission",
    "rec.autos": "engine car drive wheel brake dealer mileage gear",
    "comp.graphics": "image render pixel polygon shader bitmap color vertex",
}


def news() -> list[tuple[str, str]]:
    rng = random.Random(20)
    docs = []
    for label, vocab in TOPICS.items():
        words = vocab.split()
        for _ in range(40):
            docs.append((" ".join(rng.choice(words) for _ in range(12)), label))
    rng.shuffle(docs)
    return docs


def iris_like() -> list[list[object]]:
    """A small synthetic table in the iris schema (not the real iris measurements)."""
    rng = random.Random(3)
    centers = {"setosa": (5.0, 3.4, 1.5, 0.2), "versicolor": (5.9, 2.8, 4.3, 1.3), "virginica": (6.6, 3.0, 5.6, 2.0)}
    rows = []
    for species, c in centers.items():
        for _ in range(20):
            rows.append([round(v + rng.gauss(0, 0.25), 1) for v in c] + [species])
    return rows


if __name__ == "__main__":
    (HERE / "20news.pkl").write_bytes(pickle.dumps(news(), protocol=4))
    with open(HERE / "iris.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
        writer.writerows(iris_like())
