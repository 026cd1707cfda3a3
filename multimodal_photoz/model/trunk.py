"""A run of backbone blocks (with their pools), and parallel branches of equal
size computed as one vectorized operation."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from multimodal_photoz.model import layers
from multimodal_photoz.model.backbones import BACKBONES


class Trunk(nn.Module):
    """Blocks ``start .. stop-1`` of a backbone, pooling where the backbone does.

    With ``with_stem`` the stem comes first (a branch's first layers), its
    filters times ``stem_scale`` (None: ``scale``); the blocks' times ``scale``.
    (B, H, W, C) -> (B, H', W', C').
    """

    backbone: str
    start: int
    stop: int
    scale: float
    with_stem: bool = False
    stem_scale: float | None = None
    dtype: Any = jnp.float32
    conv_impl: str = "lax"

    @nn.compact
    def __call__(self, x):
        spec = BACKBONES[self.backbone]
        if self.with_stem:
            stem_scale = self.scale if self.stem_scale is None else self.stem_scale
            x = layers.Stem(scale=stem_scale, dtype=self.dtype, conv_impl=self.conv_impl,
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
    ``split`` on CPU, where vmapped (grouped) convolutions are slow, and ``lax``
    (a plain convolution for one branch, grouped for several) otherwise."""
    if setting != "auto":
        return setting
    return "split" if n_stacked > 1 and jax.default_backend() == "cpu" else "lax"


def _sqrt_share(modality_size: int, n_bands: int) -> float:
    """Filters times sqrt(s / n): a branch holds s / n of the full layers' parameters."""
    return math.sqrt(modality_size / n_bands)


def _linear_share(modality_size: int, n_bands: int) -> float:
    """Filters times s / n: a branch costs (s / n)^2 of the full layers' FLOPs."""
    return modality_size / n_bands


@dataclasses.dataclass(frozen=True)
class TableC1Widths:
    """Filter counts at width 1 fitted to the paper's Table C.1
    (``python benchmarks/fit_table_c1.py``; BUILD.md, "Branch widths"): a branch
    of s bands has ``stem_per_band * s`` stem filters and inception blocks of
    k = ``k_per_band * s``; the common trunk's blocks have k = ``trunk_k``."""

    stem_per_band: int = 50
    k_per_band: int = 46
    trunk_k: int = 155


TABLE_C1_WIDTHS = TableC1Widths()


@dataclasses.dataclass(frozen=True)
class WidthRule:
    """Filter multipliers at width 1, relative to the backbone's own counts
    (for the inception backbone Net_T's: stem 96, k = 156).

    Attributes:
      stem: (modality size s, number of bands n) -> multiplier of a branch's stem.
      blocks: (s, n) -> multiplier of a branch's blocks (and of cross-fusion blocks).
      trunk: multiplier of the common trunk's blocks.
    """

    stem: Callable[[int, int], float]
    blocks: Callable[[int, int], float]
    trunk: float = 1.0


# Branch width rules (BUILD.md, "Branch widths"). ``table_c1``: filters in
# proportion to s, which reproduces the paper's parameter counts; ``sqrt`` and
# ``linear``: the full Net_T trunk, branches holding s / n of its parameters
# (sqrt) or less (linear).
BRANCH_WIDTHS: dict[str, WidthRule] = {
    "table_c1": WidthRule(
        stem=lambda s, n: s * TABLE_C1_WIDTHS.stem_per_band / layers.STEM_FILTERS,
        blocks=lambda s, n: s * TABLE_C1_WIDTHS.k_per_band / layers.INCEPTION_K,
        trunk=TABLE_C1_WIDTHS.trunk_k / layers.INCEPTION_K),
    "sqrt": WidthRule(stem=_sqrt_share, blocks=_sqrt_share),
    "linear": WidthRule(stem=_linear_share, blocks=_linear_share),
}


def branch_scale(width: float, modality_size: int, n_bands: int, rule: str) -> float:
    """Filter multiplier of the blocks of a branch of ``modality_size`` bands
    out of ``n_bands`` (``BRANCH_WIDTHS[rule]``, times ``width``)."""
    return width * BRANCH_WIDTHS[rule].blocks(modality_size, n_bands)


def branch_stem_scale(width: float, modality_size: int, n_bands: int, rule: str) -> float:
    """Filter multiplier of the stem of a branch of ``modality_size`` bands."""
    return width * BRANCH_WIDTHS[rule].stem(modality_size, n_bands)


def trunk_scale(width: float, rule: str) -> float:
    """Filter multiplier of the common trunk's blocks (the head and FC layers
    take ``width`` alone)."""
    return width * BRANCH_WIDTHS[rule].trunk
