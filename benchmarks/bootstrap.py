"""Times the paired bootstrap test (Appendix D) on synthetic predictions.

Usage: python3 benchmarks/bootstrap.py [--n-objects 50000] [--n-resamples 10000]

Prints the wall-clock and CPU seconds of ``paired_bootstrap_pvalue`` for each
metric of the registry, on N objects with K resamples (the paper uses K = 10^4).
It is single-threaded NumPy; CPU seconds are the steadier number on a shared machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from multimodal_photoz import metrics


def synthetic_predictions(n_objects: int, seed: int = 0):
    """z_spec and two models' z_phot: Gaussian scatter with 2% catastrophic outliers."""
    rng = np.random.default_rng(seed)
    z_spec = rng.uniform(0.0, 3.0, n_objects)
    models = []
    for scatter in (0.030, 0.028):  # the multimodal model slightly better
        dz = rng.normal(0.0, scatter, n_objects)
        outlier = rng.random(n_objects) < 0.02
        dz[outlier] = rng.uniform(-0.5, 0.5, outlier.sum())
        models.append(np.maximum(z_spec + dz * (1 + z_spec), 0.0))
    return z_spec, models[0], models[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-objects", type=int, default=50_000)
    parser.add_argument("--n-resamples", type=int, default=10_000)
    args = parser.parse_args()
    z_spec, z_base, z_multi = synthetic_predictions(args.n_objects)
    print(f"paired_bootstrap_pvalue: N={args.n_objects}, K={args.n_resamples}")
    for name in metrics.METRICS:
        wall, cpu = time.perf_counter(), time.process_time()
        p = metrics.paired_bootstrap_pvalue(name, z_spec, z_base, z_multi,
                                            n_resamples=args.n_resamples, seed=0)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"  {name:17s} wall {wall:6.2f} s   cpu {cpu:6.2f} s   p = {p:.4f}")


if __name__ == "__main__":
    main()
