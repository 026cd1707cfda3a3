"""One ensemble member's time per epoch at the paper's scale, in the real training loop.

Writes a data set of ``--n`` random objects (64x64x9 by default; the values do not
matter for time), then runs ``photoz train`` for one member (fold 0 of 5, seed 0) of
each network with the hsc9 paper-scale settings (width 1, batch 32, 1000 bins to
z = 6, validation every 100 steps) for ``--steps`` steps, a checkpoint at half and
at the end (the paper scale: every 1000 steps) and a log line every ``--log-every``
steps (25; the paper scale: 50), and reads
the member's ``log.jsonl``: the wall time from the first logged step (compilation
and the first steps excluded) to the last, per step, and that times the steps of
one epoch of the paper's HSC sample (40,800 training objects at batch 32 = 1,275
steps). The input pipeline, validation and checkpointing are inside that time.

    python benchmarks/member_epoch.py --n 6000 --steps 1275
    python benchmarks/member_epoch.py --fusions early --steps 400 --dtype bfloat16
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("PHOTOZ_NO_PROGRESS", "1")

# benchmarks/ is sys.path[0] when run as a script. input_pipeline defaults
# JAX_PLATFORMS to cpu for itself; set JAX_PLATFORMS to time an accelerator.
from input_pipeline import write_random  # noqa: E402

from multimodal_photoz.cli import main as photoz  # noqa: E402
from multimodal_photoz.surveys import get_survey  # noqa: E402

PAPER_TRAINING_OBJECTS = 40_800  # 4/5 of the HSC sample's 51,000 (Sect. 2)


def member_log(workdir: str) -> list[dict]:
    """The training lines (those with a loss) of the run's one member's log.jsonl."""
    for root, _, files in os.walk(workdir):
        if "log.jsonl" in files:
            with open(os.path.join(root, "log.jsonl")) as f:
                lines = [json.loads(line) for line in f if line.strip()]
            return [r for r in lines if "loss" in r.get("metrics", {})]
    sys.exit(f"no log.jsonl under {workdir}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6000, help="random objects written")
    parser.add_argument("--steps", type=int, default=1275, help="steps per member")
    parser.add_argument("--fusions", default="early,none")
    parser.add_argument("--stamp", type=int, default=64)
    parser.add_argument("--bands", default="ugrizyjhk")
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--log-every", type=int, default=25)
    args = parser.parse_args()
    survey = get_survey("hsc9").settings()
    steps_per_epoch = PAPER_TRAINING_OBJECTS // args.batch

    with tempfile.TemporaryDirectory(prefix="photoz_member_epoch_") as root:
        data = os.path.join(root, "data")
        rate = write_random(data, args.n, args.stamp, args.bands)
        print(f"data: {args.n} random objects {args.stamp}x{args.stamp}x{len(args.bands)} "
              f"written at {rate:,.0f} objects/s")
        for fusion in args.fusions.split(","):
            workdir = os.path.join(root, fusion)
            start = time.perf_counter()
            status = photoz([
                "train", "--data", data, "--workdir", workdir, "--fusion", fusion,
                "--width", str(args.width), "--n-bins", str(survey["model.n_bins"]),
                "--z-max", str(survey["model.z_max"]), "--batch-size", str(args.batch),
                "--dtype", args.dtype, "--steps", str(args.steps),
                "--checkpoint-every", str(max(args.steps // 2, 1)), "--folds", "5",
                "--seeds", "1", "--only-folds", "0",
                "--set", f"train.log_every={args.log_every}"])
            wall = time.perf_counter() - start
            if status:
                sys.exit(f"photoz train --fusion {fusion} failed ({status})")
            log = member_log(workdir)
            first, last = log[0], log[-1]
            per_step = (last["time"] - first["time"]) / (last["step"] - first["step"])
            print(f"{fusion:6s} {args.dtype:8s} batch {args.batch}: steps {first['step']}-"
                  f"{last['step']} at {per_step * 1e3:.1f} ms/step "
                  f"({args.batch / per_step:,.0f} galaxies/s), first logged step after "
                  f"{first['elapsed_s']:.1f} s; epoch of {steps_per_epoch} steps "
                  f"{steps_per_epoch * per_step:.1f} s; whole command {wall:.1f} s")


if __name__ == "__main__":
    main()
