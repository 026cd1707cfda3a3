"""The README's main job: HSC 9-band baseline and early fusion at the quick
scale on the simulated survey, then the Table 3-style comparison.

    python -m experiments.quickstart [--scale quick] [--workdir-root workdirs]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from experiments.common import main as run_experiment
from multimodal_photoz.cli import console_main
from multimodal_photoz.metrics import N_RESAMPLES


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", default="quick")
    p.add_argument("--workdir-root", default="workdirs")
    p.add_argument("--resamples", type=int, default=N_RESAMPLES)
    args = p.parse_args(argv)
    start = time.time()
    workdirs = {}
    for label, fusion in (("baseline", "none"), ("early", "early")):
        workdirs[label] = os.path.join(args.workdir_root, f"hsc9_{args.scale}_{label}")
        run_experiment("hsc9", [f"--scale={args.scale}", f"--fusion={fusion}",
                                f"--workdir={workdirs[label]}"])
    from multimodal_photoz.cli import main as photoz

    photoz(["compare", workdirs["baseline"], workdirs["early"],
            f"--resamples={args.resamples}"])
    print(f"main job finished in {(time.time() - start) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(console_main(main, sys.argv[1:], "experiments.quickstart"))
