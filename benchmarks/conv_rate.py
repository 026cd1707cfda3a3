"""GFLOP/s of one convolution, forward and each gradient, with and without the
project's XLA options (``xla_options.CPU_OPTIONS``).

Usage:
  python benchmarks/conv_rate.py [--size 32] [--channels 112] [--kernel 3] [--batch 32]

Times a SAME convolution (batch, size, size, channels) -> channels, its input
gradient and its kernel gradient, each compiled once with XLA's own CPU options
and once with the project's, and prints milliseconds and GFLOP/s
(2 x batch x size^2 x kernel^2 x channels^2 flops each).
"""

from __future__ import annotations

import argparse
import time

import jax

from multimodal_photoz.xla_options import compiler_options

DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=112)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    a = parser.parse_args(argv)
    keys = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(keys[0], (a.batch, a.size, a.size, a.channels))
    w = jax.random.normal(keys[1], (a.kernel, a.kernel, a.channels, a.channels)) * 0.01
    dy = jax.random.normal(keys[2], (a.batch, a.size, a.size, a.channels))

    def conv(x, w):
        return jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=DIMENSIONS)

    parts = {"forward": lambda x, w, dy: conv(x, w),
             "input gradient": lambda x, w, dy: jax.vjp(lambda v: conv(v, w), x)[1](dy)[0],
             "kernel gradient": lambda x, w, dy: jax.vjp(lambda k: conv(x, k), w)[1](dy)[0]}
    flops = 2 * a.batch * a.size ** 2 * a.kernel ** 2 * a.channels ** 2
    for name, fn in parts.items():
        for label, options in (("XLA default", None), ("project", compiler_options("cpu"))):
            compiled = jax.jit(fn, compiler_options=options).lower(x, w, dy).compile()
            compiled(x, w, dy).block_until_ready()
            start = time.perf_counter()
            for _ in range(a.repeats):
                out = compiled(x, w, dy)
            out.block_until_ready()
            seconds = (time.perf_counter() - start) / a.repeats
            print(f"{name:16s} {label:12s} {seconds * 1e3:7.1f} ms  {flops / seconds / 1e9:6.1f} GFLOP/s")


if __name__ == "__main__":
    main()
