"""Galaxies per second of the compiled train step: baseline against early fusion.

Usage:
  python benchmarks/train_step.py --stamp 64 --width 1.0 --batch 32 --bands ugrizyjhk \
      [--steps 20] [--dtype float32|bfloat16] [--devices N]

Times ``--steps`` steps after two warm-up steps (compilation excluded) on random
images, for the baseline (one all-band modality) and for early fusion with
two-band first-order modalities, and prints the multimodal/baseline time ratio.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

from multimodal_photoz import preprocess, train
from multimodal_photoz.config import TrainConfig
from multimodal_photoz.model import count_params, make_config


def time_steps(config, batch_size: int, stamp: int, steps: int, mesh) -> dict:
    tc = TrainConfig(batch_size=batch_size, n_steps=10 * steps)
    rng = np.random.default_rng(0)
    n = config.n_bands
    batch = train.shard_batch({
        "image": (rng.normal(size=(batch_size, stamp, stamp, n)) * 10).astype(np.float32),
        "ebv": rng.uniform(0, 0.1, batch_size).astype(np.float32),
        "z_spec": rng.uniform(0, config.z_max, batch_size).astype(np.float32),
        "band_mask": np.ones((batch_size, n), np.float32)}, mesh)
    state = train.create_train_state(jax.random.key(0), config, tc,
                                     preprocess.BandStats.identity(n), stamp, mesh)
    step = train.make_train_step(config, tc, mesh)
    t0 = time.perf_counter()
    cost = step.lower(state, batch, jax.random.key(1)).compile().cost_analysis()
    compile_s = time.perf_counter() - t0
    flops = (cost[0] if isinstance(cost, list) else cost).get("flops", float("nan"))
    for _ in range(2):  # warm-up
        state, metrics = step(state, batch, jax.random.key(1))
    jax.block_until_ready(metrics)
    t0 = time.perf_counter()
    for _ in range(steps):
        state, metrics = step(state, batch, jax.random.key(1))
    jax.block_until_ready(metrics)
    seconds = (time.perf_counter() - t0) / steps
    return {"params": count_params(config, stamp), "step_s": seconds, "step_gflop": flops / 1e9,
            "galaxies_per_s": batch_size / seconds, "compile_s": compile_s}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stamp", type=int, default=64)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--bands", default="ugrizyjhk")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--devices", type=int, default=None, help="default: all local devices")
    parser.add_argument("--branch-width", default="sqrt", choices=["sqrt", "linear"])
    args = parser.parse_args(argv)
    devices = jax.local_devices()[: args.devices] if args.devices else jax.local_devices()
    mesh = train.make_mesh(devices)
    results = {}
    for label, size in (("baseline", None), ("early_2band_order1", 2)):
        config = make_config(args.bands, modality_size=size, fusion="early", width=args.width,
                             n_bins=400, z_max=4.0, dtype=args.dtype,
                             branch_width=args.branch_width)
        results[label] = time_steps(config, args.batch, args.stamp, args.steps, mesh)
        r = results[label]
        print(f"{label:20s} params {r['params'] / 1e6:6.2f}M  {r['step_gflop']:8.1f} GFLOP/step  "
              f"step {r['step_s'] * 1e3:8.1f} ms  "
              f"{r['galaxies_per_s']:9.1f} galaxies/s  (compile {r['compile_s']:.1f} s)")
    ratio = results["early_2band_order1"]["step_s"] / results["baseline"]["step_s"]
    flop_ratio = results["early_2band_order1"]["step_gflop"] / results["baseline"]["step_gflop"]
    print(f"multimodal/baseline time ratio: {ratio:.2f} (FLOP ratio {flop_ratio:.2f})")
    print(json.dumps({"device": str(devices[0].device_kind), "n_devices": len(devices),
                      **vars(args), "results": results, "ratio": ratio}))


if __name__ == "__main__":
    main()
