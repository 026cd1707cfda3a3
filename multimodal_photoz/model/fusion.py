"""Fusion registry: how the branches' feature maps are joined (Sect. 4.3).

A fusion takes the modality feature maps (each (B, h, w, c_m), in modality
order, dropped ones already zeroed) and the (M,) keep mask (0 for a dropped
modality), and returns the fused map (B, h', w', C) and the index of the first
backbone block the common trunk runs (``depth``). A fusion may run the
branches' last ``blocks_taken`` blocks itself: the branches then stop
``blocks_taken`` blocks early.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from multimodal_photoz.model.trunk import Trunk


class Fusion(nn.Module):
    """What every fusion is told: the backbone, the fusion depth (blocks before
    the common trunk), each modality's branch filter multiplier, and how stacked
    convolutions are computed."""

    backbone: str
    depth: int
    modality_scales: tuple[float, ...]
    dtype: Any = jnp.float32
    conv_impl: str = "lax"

    blocks_taken = 0  # class constant, not a field: branch blocks this fusion runs itself


class ConcatFusion(Fusion):
    """Simple concatenation along channels: (B, h, w, sum of c_m)."""

    @nn.compact
    def __call__(self, features: list[jax.Array], keep: jax.Array) -> tuple[jax.Array, int]:
        return jnp.concatenate(features, axis=-1), self.depth


class CrossFusion(Fusion):
    """Cross fusion after Hong et al. 2020 (their code: danfenghong/IEEE_TGRS_MDL-RS,
    ``MDL-RS_CNNs/Cross_fusion_CNNs.py``; BUILD.md, "Cross-fusion").

    The branches' last block (index ``depth - 1``, one per modality: the "set
    of parallel inception blocks") runs here, and every one of the M blocks is
    applied to every modality's features ("one by one, hence cross"). Block k's
    cross-fused map is the mean over modalities m of block_k(x_m), a dropped
    modality counting as zero (no rescaling). The M maps pass through one
    common 1x1 convolution + ReLU (the same weights for all) and are then
    concatenated in block order: (B, h', w', M * c'), the shape concatenation
    gives, so the common trunk still starts at block ``depth`` and the network
    keeps its depth. The blocks are the branches' own; what cross fusion adds to
    concatenation is the common convolution, whatever M.

    features: M maps (B, h, w, c) of one shape; keep: (M,) ->
    ((B, h', w', M * c'), depth).
    """

    blocks_taken = 1

    @nn.compact
    def __call__(self, features: list[jax.Array], keep: jax.Array) -> tuple[jax.Array, int]:
        if self.depth < 1:
            raise ValueError("cross fusion cross-applies the branches' last block; at fusion "
                             "depth 0 (after the stem) the branches have none")
        if len(set(self.modality_scales)) != 1 or len({f.shape for f in features}) != 1:
            raise ValueError("cross fusion needs modalities of one size: every modality's block "
                             "is applied to every modality's features, so their widths must agree")
        n_mod = len(features)
        batch = features[0].shape[0]
        every_modality = jnp.concatenate(features, axis=0)  # (M * B, h, w, c)
        blocks = nn.vmap(Trunk, variable_axes={"params": 0}, split_rngs={"params": True},
                         in_axes=None, out_axes=0, axis_size=n_mod)
        crossed = blocks(backbone=self.backbone, start=self.depth - 1, stop=self.depth,
                         scale=self.modality_scales[0], dtype=self.dtype,
                         conv_impl=self.conv_impl, name="cross_blocks")(every_modality)
        # (block k, modality m, B, h', w', c'): block k applied to modality m
        crossed = crossed.reshape(n_mod, n_mod, batch, *crossed.shape[2:])
        blended = jnp.einsum("kmbhwc,m->kbhwc", crossed, keep.astype(crossed.dtype) / n_mod)
        common = nn.Conv(crossed.shape[-1], (1, 1), dtype=self.dtype, name="common_conv1x1")
        fused = nn.relu(common(blended))  # the same weights for every block's map
        fused = jnp.moveaxis(fused, 0, -2).reshape(*fused.shape[1:-1], n_mod * fused.shape[-1])
        return fused, self.depth


FUSIONS: dict[str, type[Fusion]] = {
    "concat": ConcatFusion,
    "cross": CrossFusion,
}
