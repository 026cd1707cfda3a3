"""A convolution that, vectorized over stacked branches, stays one convolution per branch.

``jax.vmap`` of ``lax.conv_general_dilated`` over stacked kernels becomes one
grouped convolution, which XLA's CPU backend runs 10-15x slower than the same
work as separate convolutions (``benchmarks/stacked_conv.py``, BENCHMARKS.md).
``split_conv`` computes exactly what ``lax.conv_general_dilated`` computes, but
its batching rule issues one ordinary convolution per stacked branch, forward
and backward (input and kernel gradients), so the branches stay stacked in one
parameter leaf and one vmapped module, and XLA sees G independent convolutions
it can run at full speed. Reverse-mode AD goes through a ``custom_vjp`` whose
forward and backward are themselves batched this way.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def _conv(x, kernel, padding: str):
    return jax.lax.conv_general_dilated(x, kernel, (1, 1), padding, dimension_numbers=DIMENSIONS)


def _conv_vjp(x, kernel, cotangent, padding: str):
    _, vjp = jax.vjp(functools.partial(_conv, padding=padding), x, kernel)
    return vjp(cotangent)


def _one_per_branch(fn):
    """``fn`` with a vmap rule that calls it once per index of the mapped axis
    (arguments without that axis are shared) and stacks the results."""
    wrapped = jax.custom_batching.custom_vmap(fn)

    @wrapped.def_vmap
    def _rule(axis_size, in_batched, *args):
        calls = [wrapped(*(a[i] if batched else a for a, batched in zip(args, in_batched)))
                 for i in range(axis_size)]
        out = jax.tree.map(lambda *parts: jnp.stack(parts), *calls)
        return out, jax.tree.map(lambda _: True, out)

    return wrapped


@functools.cache
def _split_conv(padding: str):
    forward = _one_per_branch(functools.partial(_conv, padding=padding))
    backward = _one_per_branch(functools.partial(_conv_vjp, padding=padding))

    @jax.custom_vjp
    def conv(x, kernel):
        return forward(x, kernel)

    def fwd(x, kernel):
        return forward(x, kernel), (x, kernel)

    def bwd(residuals, cotangent):
        x, kernel = residuals
        return backward(x, kernel, cotangent)

    conv.defvjp(fwd, bwd)
    return conv


def split_conv(x: jax.Array, kernel: jax.Array, padding: str = "SAME") -> jax.Array:
    """Stride-1 convolution, (B, H, W, C) x (kh, kw, C, F) -> (B, H', W', F), NHWC.

    Under ``vmap`` over stacked branches it issues one convolution per branch
    instead of a grouped one (module docstring). First-order gradients only.
    """
    return _split_conv(padding)(x, kernel)
