"""Galaxies per second of the compiled train step: baseline against early fusion.

Usage:
  python benchmarks/train_step.py --stamp 64 --width 1.0 --batch 32 --bands ugrizyjhk \
      [--steps 20] [--rounds 3] [--warmup 1] [--dtype float32|bfloat16] [--devices N] \
      [--branch-width table_c1|sqrt|linear] [--peak-tflops P] [--flops-only]

Compiles the step once for the baseline (one all-band modality) and once for
early fusion with two-band first-order modalities, then times ``--steps`` steps
of each in turn, ``--rounds`` times, after ``--warmup`` untimed steps (compilation
excluded) on random images. Taking turns puts both under the same load on a
shared machine; the per-step time is the median over rounds. Prints the
multimodal/baseline FLOP ratio (XLA's cost analysis of the step's HLO before the
backend's passes, the same on every platform) and time ratio; with ``--peak-tflops``
(``benchmarks/matmul_peak.py``) each step's MFU; with ``--flops-only`` the FLOPs and
parameters alone, nothing compiled or timed.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

from multimodal_photoz import preprocess, train
from multimodal_photoz.config import TrainConfig
from multimodal_photoz.model import ModelConfig, count_params, make_config
from multimodal_photoz.model.trunk import BRANCH_WIDTHS


# The two networks every step benchmark compares: label -> modality size (None: the
# baseline, all bands as one modality; 2: early fusion of the 2-band first-order modalities).
NETWORKS = {"baseline": None, "early_2band_order1": 2}


def add_network_arguments(parser: argparse.ArgumentParser, stamp: int = 64,
                          width: float = 1.0) -> None:
    """``--stamp``, ``--width``, ``--batch`` and ``--bands``, shared by the step benchmarks."""
    parser.add_argument("--stamp", type=int, default=stamp)
    parser.add_argument("--width", type=float, default=width)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--bands", default="ugrizyjhk")


def network_config(label: str, args, **kwargs) -> ModelConfig:
    """The ``NETWORKS[label]`` network for the parsed ``args`` (400 bins up to z = 4
    unless ``kwargs`` say otherwise)."""
    return make_config(args.bands, modality_size=NETWORKS[label], fusion="early",
                       width=args.width, **{"n_bins": 400, "z_max": 4.0, **kwargs})


class StepRunner:
    """One configuration's compiled train step, its state and a random batch."""

    def __init__(self, config, batch_size: int, stamp: int, steps: int, warmup: int, mesh,
                 flops_only: bool = False):
        tc = TrainConfig(batch_size=batch_size, n_steps=10 * steps)
        rng = np.random.default_rng(0)
        n = config.n_bands
        self.batch = train.shard_batch({
            "image": (rng.normal(size=(batch_size, stamp, stamp, n)) * 10).astype(np.float32),
            "ebv": rng.uniform(0, 0.1, batch_size).astype(np.float32),
            "z_spec": rng.uniform(0, config.z_max, batch_size).astype(np.float32),
            "band_mask": np.ones((batch_size, n), np.float32)}, mesh)
        self.state = train.create_train_state(jax.random.key(0), config, tc,
                                              preprocess.BandStats.identity(n), stamp, mesh)
        t0 = time.perf_counter()
        lowered = train.make_train_step(config, tc, mesh).lower(
            self.state, self.batch, jax.random.key(1))
        # FLOPs of the step as written (XLA's analysis of the HLO before the backend's
        # passes), the same on every platform: the compiled step's analysis on GPU leaves
        # out the convolutions it hands to cuDNN (BENCHMARKS.md, "On an accelerator").
        cost = lowered.cost_analysis()
        self.flops = (cost[0] if isinstance(cost, list) else cost).get("flops", float("nan"))
        self.params = count_params(config, stamp)
        if flops_only:
            return
        self.step = lowered.compile()
        self.compile_s = time.perf_counter() - t0
        if warmup:  # compilation is already done; this touches buffers and caches
            self.run(warmup)

    def run(self, steps: int) -> float:
        """Seconds per step over ``steps`` steps."""
        t0 = time.perf_counter()
        for _ in range(steps):
            self.state, metrics = self.step(self.state, self.batch, jax.random.key(1))
        jax.block_until_ready(metrics)
        return (time.perf_counter() - t0) / steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_network_arguments(parser, stamp=64, width=1.0)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--devices", type=int, default=None, help="default: all local devices")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="the device's measured peak (benchmarks/matmul_peak.py): prints MFU")
    parser.add_argument("--branch-width", default=ModelConfig.branch_width,
                        choices=sorted(BRANCH_WIDTHS))
    parser.add_argument("--flops-only", action="store_true",
                        help="print each step's FLOPs and parameters; compile and time nothing")
    args = parser.parse_args(argv)
    devices = jax.local_devices()[: args.devices] if args.devices else jax.local_devices()
    mesh = train.make_mesh(devices)
    runners = {}
    for label in NETWORKS:
        config = network_config(label, args, dtype=args.dtype, branch_width=args.branch_width)
        runners[label] = StepRunner(config, args.batch, args.stamp, args.steps, args.warmup,
                                    mesh, args.flops_only)
    if args.flops_only:
        for label, runner in runners.items():
            print(f"{label:20s} params {runner.params / 1e6:6.2f}M  "
                  f"{runner.flops / 1e9:8.1f} GFLOP/step  (batch {args.batch}, {args.dtype})")
        print(f"multimodal/baseline FLOP ratio "
              f"{runners['early_2band_order1'].flops / runners['baseline'].flops:.2f}")
        return
    times = {label: [] for label in runners}
    for _ in range(args.rounds):
        for label, runner in runners.items():
            times[label].append(runner.run(args.steps))
    results = {}
    for label, runner in runners.items():
        seconds = float(np.median(times[label]))
        results[label] = {"params": runner.params, "step_s": seconds,
                          "step_s_rounds": times[label], "step_gflop": runner.flops / 1e9,
                          "galaxies_per_s": args.batch / seconds, "compile_s": runner.compile_s}
        r = results[label]
        mfu = ""
        if args.peak_tflops:  # XLA's count of the step's flops over time, against the peak
            r["mfu"] = r["step_gflop"] / 1e3 / seconds / args.peak_tflops
            mfu = f"  MFU {r['mfu']:.1%}"
        print(f"{label:20s} params {r['params'] / 1e6:6.2f}M  {r['step_gflop']:8.1f} GFLOP/step  "
              f"step {r['step_s'] * 1e3:8.1f} ms  "
              f"{r['galaxies_per_s']:9.1f} galaxies/s  (compile {r['compile_s']:.1f} s){mfu}")
    ratio = results["early_2band_order1"]["step_s"] / results["baseline"]["step_s"]
    flop_ratio = results["early_2band_order1"]["step_gflop"] / results["baseline"]["step_gflop"]
    per_round = [m / b for m, b in zip(times["early_2band_order1"], times["baseline"])]
    print(f"multimodal/baseline FLOP ratio {flop_ratio:.2f}, time ratio {ratio:.2f} "
          f"(per round: {', '.join(f'{r:.2f}' for r in per_round)})")
    print(json.dumps({"device": str(devices[0].device_kind), "n_devices": len(devices),
                      **vars(args), "results": results, "ratio": ratio,
                      "flop_ratio": flop_ratio}))


if __name__ == "__main__":
    main()
