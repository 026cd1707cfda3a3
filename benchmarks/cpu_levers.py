"""What each CPU lever gives the train step, measured side by side in one run.

Usage:
  python benchmarks/cpu_levers.py --stamp 32 --width 0.25 --batch 32 [--steps 3] [--rounds 3]

For the baseline and for early fusion of the eight 2-band first-order
modalities, compiles the train step in each variant below, then times them in
turns (``--rounds`` times ``--steps`` steps, median per step):
  - ``matmul, XLA default``: stacked branches as patches times a batched matrix
    (``branch_conv="matmul"``), XLA's own CPU options (the step before this change);
  - ``split, XLA default``: one ordinary convolution per branch (``split_conv``);
  - ``split, project options``: the same with ``xla_options.CPU_OPTIONS`` (the default).
The baseline has no stacked branches, so only the XLA options change it.
"""

from __future__ import annotations

import argparse
import os
import sys
from unittest import mock

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step import NETWORKS, StepRunner, add_network_arguments, network_config  # noqa: E402

from multimodal_photoz import train, xla_options  # noqa: E402

VARIANTS = {  # label -> (branch_conv, project XLA options)
    "matmul, XLA default": ("matmul", False),
    "split, XLA default": ("split", False),
    "split, project options": ("split", True),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_network_arguments(parser, stamp=32, width=0.25)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    mesh = train.make_mesh(jax.local_devices()[:1])
    runners = {}
    for net, size in NETWORKS.items():
        for label, (impl, project) in VARIANTS.items():
            if size is None and impl == "matmul":
                continue  # one branch: the branch convolution does not apply
            config = network_config(net, args, branch_conv=impl)
            options = xla_options.CPU_OPTIONS if project else {}
            with mock.patch.dict(xla_options.CPU_OPTIONS, options, clear=True):
                runners[net, label] = StepRunner(config, args.batch, args.stamp, args.steps, 1,
                                                 mesh)
    times = {key: [] for key in runners}
    for _ in range(args.rounds):
        for key, runner in runners.items():
            times[key].append(runner.run(args.steps))
    for net in NETWORKS:
        first = None
        for label in VARIANTS:
            if (net, label) not in times:
                continue
            ms = float(np.median(times[net, label])) * 1e3
            first = first or ms
            print(f"{net:20s} {label:24s} {ms:8.1f} ms  x{ms / first:.2f} of the first")


if __name__ == "__main__":
    main()
