"""The device's measured matrix-multiply peak, the denominator of a step's MFU.

Usage:
  python benchmarks/matmul_peak.py [--size 8192] [--dtype bfloat16] [--repeats 20]

Times ``--repeats`` products of two (size, size) matrices in ``--dtype`` after a
warm-up and prints TFLOP/s (2 size^3 flops each). ``benchmarks/train_step.py
--peak-tflops X`` then prints each step's model FLOPs utilization against X.
"""

from __future__ import annotations

import argparse
import time

import jax


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    keys = jax.random.split(jax.random.key(0))
    a, b = (jax.random.normal(k, (args.size, args.size), args.dtype) for k in keys)
    product = jax.jit(lambda x, y: x @ y)
    product(a, b).block_until_ready()
    start = time.perf_counter()
    for _ in range(args.repeats):
        out = product(a, b)
    out.block_until_ready()
    seconds = (time.perf_counter() - start) / args.repeats
    tflops = 2 * args.size ** 3 / seconds / 1e12
    print(f"{jax.devices()[0].device_kind}: {args.dtype} matmul {args.size}^2: "
          f"{seconds * 1e3:.2f} ms, {tflops:.1f} TFLOP/s")


if __name__ == "__main__":
    main()
