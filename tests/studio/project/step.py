"""A step for the studio's browser tests (standard library + the durableml run context).

    step.py --name NAME [--in DIR ...] [--out DIR] [--gate FILE] [--alpha A] [--fail]

``--gate``: waits until FILE exists (at most 120 s), so a test decides when the step ends; ``--alpha``: logged as
a metric with a short series (and an image, outputs/plot.png); ``--fail``: raises ValueError after printing, so
the traceback is in the log.
"""

import argparse
import base64
import os
import time

from durableml.core import Run

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGNQTX4NRAwQCgAligXNFnxqAgAAAABJRU5ErkJggg=="
parser = argparse.ArgumentParser()
parser.add_argument("--name", required=True)
parser.add_argument("--in", dest="inputs", action="append", default=[])
parser.add_argument("--out")
parser.add_argument("--gate")
parser.add_argument("--alpha", type=float, default=0.1)
parser.add_argument("--fail", action="store_true")
args = parser.parse_args()

print(f"step {args.name} starts (alpha={args.alpha})", flush=True)
run = Run.get_context()
run.log("alpha", args.alpha)
for epoch in range(5):
    run.log("loss", round(1.0 / (epoch + 1) + args.alpha, 4))
os.makedirs("outputs", exist_ok=True)  # a 2x2 PNG logged as an image (what log_image does with a plot)
with open(os.path.join("outputs", "plot.png"), "wb") as image:
    image.write(base64.b64decode(PNG))
run.log_image("plot", path=os.path.join("outputs", "plot.png"))
if args.gate:
    deadline = time.monotonic() + 120
    while not os.path.exists(args.gate) and time.monotonic() < deadline:
        print(f"step {args.name} waits for {args.gate}", flush=True)
        time.sleep(0.2)
if args.fail:
    print(f"step {args.name} is about to fail", flush=True)
    raise ValueError(f"step {args.name} failed on purpose (alpha={args.alpha})")
if args.out:
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "result.txt"), "w", encoding="utf-8") as handle:
        handle.write(f"{args.name} {args.alpha}\n")
print(f"step {args.name} done", flush=True)
