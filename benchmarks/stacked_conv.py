"""One convolution layer of G stacked branches, forward + backward, several ways.

Usage: python benchmarks/stacked_conv.py --branches 8 --batch 32 --size 32 --c-in 2 --c-out 6 --kernel 5

- vmap: ``jax.vmap`` of ``lax.conv`` over stacked kernels (XLA lowers it to a
  grouped convolution);
- matmul: what ``MatmulConv`` does under vmap (patches times a batched matrix);
- blockdiag: one dense convolution with a block-diagonal kernel (G x the FLOPs);
- split: ``split_conv`` under vmap (one convolution per branch; the CPU default);
- taps: a sum over kernel taps of batched matrix products (no patch tensor);
- loop: a Python loop of G separate convolutions, for reference only.
All compute the same thing (checked); printed: milliseconds per call, compiled
with the project's XLA options (``xla_options``), as the train step is.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from multimodal_photoz.model.layers import MatmulConv
from multimodal_photoz.model.split_conv import split_conv
from multimodal_photoz.xla_options import compiler_options

DN = ("NHWC", "HWIO", "NHWC")


def conv(x, w):
    return jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=DN)


def variants(g, k, c_in, c_out):
    matmul = MatmulConv(c_out, (k, k))

    def blockdiag(x, w):
        b, h, wd = x.shape[1:4]
        stacked = jnp.moveaxis(x, 0, 3).reshape(b, h, wd, g * c_in)
        full = jnp.einsum("ghwio,gk->hwgiko", w, jnp.eye(g, dtype=w.dtype))
        y = conv(stacked, full.reshape(k, k, g * c_in, g * c_out))
        return jnp.moveaxis(y.reshape(b, h, wd, g, c_out), 3, 0)

    def taps(x, w):
        h, wd = x.shape[2:4]
        lo, hi = (k - 1) // 2, k // 2
        xp = jnp.pad(x, ((0, 0), (0, 0), (lo, hi), (lo, hi), (0, 0)))
        return sum(jnp.einsum("gbhwc,gcf->gbhwf", xp[:, :, dy:dy + h, dx:dx + wd], w[:, dy, dx])
                   for dy in range(k) for dx in range(k))

    return {
        "vmap": jax.vmap(conv),
        "taps": taps,
        "matmul": jax.vmap(lambda x, w: matmul.apply(
            {"params": {"kernel": w, "bias": jnp.zeros(c_out)}}, x)),
        "blockdiag": blockdiag,
        "split": jax.vmap(split_conv),
        "loop": lambda x, w: jnp.stack([conv(x[i], w[i]) for i in range(g)]),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--branches", type=int, default=8)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--c-in", type=int, default=2)
    p.add_argument("--c-out", type=int, default=6)
    p.add_argument("--kernel", type=int, default=5)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", default="", help="comma-separated variants (default: all)")
    a = p.parse_args(argv)
    x = jax.random.normal(jax.random.key(0), (a.branches, a.batch, a.size, a.size, a.c_in))
    w = jax.random.normal(jax.random.key(1), (a.branches, a.kernel, a.kernel, a.c_in, a.c_out))
    reference = None
    for name, fn in variants(a.branches, a.kernel, a.c_in, a.c_out).items():
        if a.only and name not in a.only.split(","):
            continue
        step = jax.jit(jax.value_and_grad(lambda x, w: jnp.mean(fn(x, w) ** 2), argnums=(0, 1)),
                       compiler_options=compiler_options())  # as the project's steps
        value, _ = jax.block_until_ready(step(x, w))
        reference = value if reference is None else reference
        np.testing.assert_allclose(value, reference, rtol=1e-2)  # a float32 mean of ~10^8 terms
        start = time.perf_counter()
        for _ in range(a.repeats):
            out = step(x, w)
        jax.block_until_ready(out)
        print(f"{name:10s} {(time.perf_counter() - start) / a.repeats * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
