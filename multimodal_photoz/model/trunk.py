"""A run of backbone blocks (with their pools), and parallel branches of equal
size computed as one vectorized operation."""

from __future__ import annotations

from typing import Any

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from multimodal_photoz.model import layers
from multimodal_photoz.model.backbones import BACKBONES


class Trunk(nn.Module):
    """Blocks ``start .. stop-1`` of a backbone, pooling where the backbone does.

    With ``with_stem`` the stem comes first (a branch's first layers).
    (B, H, W, C) -> (B, H', W', C').
    """

    backbone: str
    start: int
    stop: int
    scale: float
    with_stem: bool = False
    dtype: Any = jnp.float32
    conv_impl: str = "lax"

    @nn.compact
    def __call__(self, x):
        spec = BACKBONES[self.backbone]
        if self.with_stem:
            x = layers.Stem(scale=self.scale, dtype=self.dtype, conv_impl=self.conv_impl,
                            name="stem")(x)
        for index in range(self.start, self.stop):
            if index in spec.pool_before:
                x = layers.avg_pool2(x)
            x = spec.make_block(index, self.scale, self.dtype, self.conv_impl)(x)
        return x


# Branches of one modality size share every shape, so their parameters are
# stacked on a leading axis and one vmapped computation (a grouped convolution
# for XLA) runs them all: (G, B, H, W, s) -> (G, B, H', W', C').
StackedBranches = nn.vmap(
    Trunk,
    variable_axes={"params": 0},
    split_rngs={"params": True},
    in_axes=0,
    out_axes=0,
)


def stacked_conv_impl(setting: str, n_stacked: int) -> str:
    """Convolution used inside ``n_stacked`` stacked branches: for ``auto``,
    ``matmul`` on CPU, where vmapped (grouped) convolutions are slow, and ``lax``
    (a plain convolution for one branch, grouped for several) otherwise."""
    if setting != "auto":
        return setting
    return "matmul" if n_stacked > 1 and jax.default_backend() == "cpu" else "lax"


def _sqrt_share(modality_size: int, n_bands: int) -> float:
    """Filters times sqrt(s / n): a branch holds s / n of the full layers' parameters."""
    return math.sqrt(modality_size / n_bands)


def _linear_share(modality_size: int, n_bands: int) -> float:
    """Filters times s / n: a branch costs (s / n)^2 of the full layers' FLOPs."""
    return modality_size / n_bands


# Branch width rules (BUILD.md, "Branch widths").
BRANCH_WIDTHS = {"sqrt": _sqrt_share, "linear": _linear_share}


def branch_scale(width: float, modality_size: int, n_bands: int, rule: str = "sqrt") -> float:
    """Filter multiplier of a branch of ``modality_size`` bands out of ``n_bands``.

    ``sqrt`` (default): a layer's parameters grow as the square of its filters,
    so a branch holds ``size / n_bands`` of the parameters of the same layers at
    full width; modalities that share out the bands (the single-band ones) hold
    together what the baseline holds. ``linear``: cheaper branches. Either way
    the baseline's single all-band branch is the full network.
    """
    return width * BRANCH_WIDTHS[rule](modality_size, n_bands)
