"""Seconds to initialize the network's parameters: Flax's ``init`` against ``init_params``.

Usage: python benchmarks/init.py [--width 0.2] [--stamp 16] [--bands ugriz]

Both are jit-compiled and run once (compilation dominates); early fusion of
2-band first-order modalities.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

from multimodal_photoz.model import PhotoZNet, init_params, make_config


def timed(fn):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=float, default=0.2)
    p.add_argument("--stamp", type=int, default=16)
    p.add_argument("--bands", default="ugriz")
    a = p.parse_args(argv)
    config = make_config(a.bands, modality_size=2, width=a.width, n_bins=100)
    images = jnp.zeros((1, a.stamp, a.stamp, config.n_bands))
    ebv = jnp.zeros(1)
    flax_s = timed(lambda: jax.jit(PhotoZNet(config).init)(jax.random.key(0), images, ebv))
    ours_s = timed(lambda: init_params(config, jax.random.key(0), a.stamp))
    print(f"flax init (one PRNG call per parameter): {flax_s:6.1f} s")
    print(f"init_params (one draw for all):          {ours_s:6.1f} s")


if __name__ == "__main__":
    main()
