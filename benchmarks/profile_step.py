"""Where the train step's time goes: the JAX profiler's per-operation times, by layer.

Usage:
  python benchmarks/profile_step.py --stamp 32 --width 0.25 [--fusion none|early] \
      [--branch-conv auto|split|matmul|lax] [--steps 3] [--top 25]

Compiles the train step of one network (``--fusion none``: the baseline; otherwise
eight 2-band first-order modalities), traces ``--steps`` steps with the JAX
profiler (a Perfetto trace), and maps every XLA operation the trace names back to
the layer that made it (the ``op_name`` metadata of the compiled HLO). Prints the
milliseconds per step of each kind of XLA operation (``ynn_fusion``: YNNPACK;
``convolution``, ``*_fusion``: XLA's own) split into forward and backward, and of
each layer. Operations that XLA:CPU runs through Eigen on its own threads
(convolutions) are not always traced one by one; the total traced time is printed
beside the measured step time so the untraced share is visible.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import sys
import tempfile

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step import StepRunner, add_network_arguments, network_config  # noqa: E402

from multimodal_photoz import train  # noqa: E402

SKIP = ("ThunkExecutor", "$", "PjitFunction", "SlinkyThreadPool")


def layer_of(op_name: str) -> str:
    """'jit(step)/transpose(jvp(PhotoZNet))/common/block6/b5_conv5x5/conv_general_dilated'
    -> '/common/block6/b5_conv5x5/conv_general_dilated'."""
    op = op_name.replace("jit(step)/", "")
    return re.sub(r"(transpose\(|jvp\(|\)|PhotoZNet\.?|vmap\()", "", op)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_network_arguments(parser, stamp=32, width=0.25)
    parser.add_argument("--fusion", default="early", choices=["none", "early"])
    parser.add_argument("--branch-conv", default="auto")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    label = "baseline" if args.fusion == "none" else "early_2band_order1"
    config = network_config(label, args, branch_conv=args.branch_conv)
    runner = StepRunner(config, args.batch, args.stamp, args.steps, 1,
                        train.make_mesh(jax.local_devices()[:1]))
    step_ms = runner.run(args.steps) * 1e3
    with tempfile.TemporaryDirectory() as tmp:
        jax.profiler.start_trace(tmp, create_perfetto_trace=True)
        runner.run(args.steps)
        jax.profiler.stop_trace()
        (path,) = glob.glob(os.path.join(tmp, "**", "*perfetto_trace.json.gz"), recursive=True)
        with gzip.open(path) as f:
            trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    op_names = {}
    for line in runner.step.as_text().splitlines():
        m = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = \S+ .*?op_name=\"([^\"]+)\"", line)
        if m:
            op_names[m.group(1)] = m.group(2)
    by_kind, by_layer = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("ph") != "X" or e["name"].startswith(SKIP):
            continue
        op = op_names.get(e["name"], e["name"])
        direction = "backward" if "transpose(" in op else "forward"
        kind = re.sub(r"[._]\d+$", "", e["name"])
        by_kind[f"{kind} ({direction})"] += e["dur"] / args.steps
        by_layer[layer_of(op)] += e["dur"] / args.steps
    traced = sum(by_kind.values()) / 1e3
    print(f"step {step_ms:.1f} ms measured, {traced:.1f} ms traced operation by operation")
    print("by kind of operation:")
    for name, us in by_kind.most_common(12):
        print(f"  {us / 1e3:8.1f} ms  {name}")
    print("by layer:")
    for name, us in by_layer.most_common(args.top):
        print(f"  {us / 1e3:8.1f} ms  {name[:120]}")


if __name__ == "__main__":
    main()
