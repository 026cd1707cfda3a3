"""``photoz simulate``: writes a simulated data set (see docs/simulation.md)."""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from multimodal_photoz.simulate.surveys import SURVEYS

# Above this many image bytes the stamps go to a temporary memory-mapped file, not RAM.
IN_MEMORY_LIMIT_BYTES = 2 * 1024**3


def register(subparsers) -> argparse.ArgumentParser:
    """Adds the ``simulate`` subcommand to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "simulate", help="simulate a galaxy-stamp data set like the paper's surveys",
        description="Renders n galaxies (GalSim bulge+disk, real SED templates and filter "
                    "curves) under a survey's seeing, pixel scale and depth, and writes them "
                    "with multimodal_photoz.data.write_dataset.")
    p.add_argument("--survey", required=True, choices=sorted(SURVEYS))
    p.add_argument("--n", type=int, required=True, help="number of objects")
    p.add_argument("--seed", type=int, default=0, help="object i depends only on (seed, i)")
    p.add_argument("--out", required=True, help="output data set directory")
    p.add_argument("--stamp", type=int, default=64, help="stamp width in pixels")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--name", default=None, help="data set name (default sim_<survey>)")
    p.set_defaults(func=run)
    return p


def _simulate_and_write(args, images):
    from multimodal_photoz.simulate import simulate

    sample = simulate(args.survey, args.n, args.seed, stamp=args.stamp,
                      n_workers=args.workers, images=images)
    return sample, sample.write(args.out, name=args.name)


def run(args: argparse.Namespace) -> int:
    """Runs ``photoz simulate``; returns the process exit code."""
    n_bands = len(SURVEYS[args.survey].bands)
    shape = (args.n, args.stamp, args.stamp, n_bands)
    start = time.perf_counter()
    if np.prod(shape) * 4 <= IN_MEMORY_LIMIT_BYTES:
        sample, path = _simulate_and_write(args, None)
    else:
        parent = os.path.dirname(os.path.abspath(args.out)) or "."
        os.makedirs(parent, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=parent, prefix=".simulate-") as tmp:
            images = np.lib.format.open_memmap(os.path.join(tmp, "images.npy"), mode="w+",
                                               dtype=np.float32, shape=shape)
            sample, path = _simulate_and_write(args, images)
            del images, sample
    seconds = time.perf_counter() - start
    print(f"simulate: wrote {args.n} {args.survey} objects ({args.stamp}x{args.stamp}x"
          f"{n_bands}) to {path} in {seconds:.1f} s ({args.n / seconds:.0f} objects/s)")
    return 0
