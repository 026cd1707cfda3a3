"""Fusion registry: how the branches' feature maps are joined (Sect. 4.3).

A fusion takes the list of modality feature maps (each (B, h, w, c_m), in
modality order, dropped ones already zeroed) and returns the fused map plus the
index of the first backbone block still to run.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from multimodal_photoz.model import layers
from multimodal_photoz.model.backbones import BACKBONES
from multimodal_photoz.model.trunk import StackedBranches


class Fusion(nn.Module):
    """What every fusion is told: the backbone, the fusion depth (blocks already
    run in the branches), the width of a block over a pair of modalities, and
    how stacked convolutions are computed."""

    backbone: str
    depth: int
    pair_scale: float
    dtype: Any = jnp.float32
    conv_impl: str = "lax"


class ConcatFusion(Fusion):
    """Simple concatenation along channels; the common trunk goes on from block ``depth``."""

    @nn.compact
    def __call__(self, features: list[jax.Array]) -> tuple[jax.Array, int]:
        return jnp.concatenate(features, axis=-1), self.depth


class CrossFusion(Fusion):
    """Cross-fusion after Hong et al. 2020, as we read Sect. 4.3.

    Reading: the fusion module is a set of parallel inception blocks that
    "process modalities one by one": block m takes the pair of neighbouring
    modalities (m, m+1) concatenated, so every block crosses two modalities.
    Each block's output then passes through one *common* 1x1 convolution
    (weights shared by all pairs), and the results are concatenated. The pair
    blocks stand in place of the first common block, so the network keeps its
    depth of eight blocks; the pool before that block, if any, comes first.
    Pair blocks have the width of a branch over both modalities' bands.
    """

    @nn.compact
    def __call__(self, features: list[jax.Array]) -> tuple[jax.Array, int]:
        spec = BACKBONES[self.backbone]
        if self.depth >= spec.n_blocks:
            raise ValueError("cross fusion needs a block after the fusion stage")
        pairs = jnp.stack([jnp.concatenate([a, b], axis=-1)
                           for a, b in zip(features[:-1], features[1:])])  # (P, B, h, w, 2c)
        if self.depth in spec.pool_before:
            pairs = jax.vmap(layers.avg_pool2)(pairs)
        crossed = StackedBranches(backbone=self.backbone, start=self.depth, stop=self.depth + 1,
                                  scale=self.pair_scale, dtype=self.dtype,
                                  conv_impl=self.conv_impl, name="pair_blocks")(pairs)
        shared = nn.Conv(crossed.shape[-1], (1, 1), dtype=self.dtype, name="shared_conv1x1")
        crossed = nn.relu(shared(crossed))  # the same weights for every pair
        return jnp.concatenate(list(crossed), axis=-1), self.depth + 1


FUSIONS: dict[str, type[Fusion]] = {
    "concat": ConcatFusion,
    "cross": CrossFusion,
}
