"""Backbone registry: which blocks a network stacks, where it pools, and how
many blocks go in the parallel branches at each fusion stage."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import flax.linen as nn

from multimodal_photoz.model import layers


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """A backbone: stem, ``n_blocks`` blocks, head.

    Attributes:
      n_blocks: number of blocks after the stem.
      make_block: (block index, scale, dtype, conv_impl) -> Flax module.
      pool_before: indices of blocks preceded by 2x2 average pooling.
      fusion_depth: fusion stage name -> number of blocks inside the branches.
      head_convs: 3x3 convs of the head before the global average pool.
    """

    n_blocks: int
    make_block: Callable[..., nn.Module]
    pool_before: frozenset[int]
    fusion_depth: dict[str, int]
    head_convs: int


def _inception_block(index, scale, dtype, conv_impl):
    return layers.InceptionBlock(scale=scale, dtype=dtype, conv_impl=conv_impl,
                                 name=f"block{index + 1}")


def _cnn_block(filters, index, scale, dtype, conv_impl):
    return layers.ConvBlock(filters=filters[index], scale=scale, dtype=dtype, conv_impl=conv_impl,
                            name=f"block{index + 1}")


def _cnn(n_layers: int, pool_before: tuple[int, ...], fusion_depth: dict[str, int]) -> BackboneSpec:
    """A plain CNN of ``n_layers`` conv layers: the 2-layer stem plus 3x3 blocks
    whose filters double (64, 128, 256) at each pooling. Its head is the global
    average pool alone, so the layer count is the name's."""
    n_blocks = n_layers - 2
    filters, f = [], 32
    for i in range(n_blocks):
        if i in pool_before:
            f *= 2
        filters.append(f)
    return BackboneSpec(n_blocks=n_blocks,
                        make_block=functools.partial(_cnn_block, tuple(filters)),
                        pool_before=frozenset(pool_before), fusion_depth=fusion_depth,
                        head_convs=0)


BACKBONES: dict[str, BackboneSpec] = {
    # Paper Sect. 4.2: 8 inception blocks, pools before blocks 1, 4 and 6.
    "inception": BackboneSpec(
        n_blocks=8, make_block=_inception_block, pool_before=frozenset({0, 3, 5}),
        fusion_depth={"extremely_early": 0, "very_early": 1, "early": 2, "middle": 4, "late": 6},
        head_convs=3),
    "cnn5": _cnn(5, (0, 1, 2), {"extremely_early": 0, "early": 1, "middle": 2}),
    "cnn10": _cnn(10, (0, 3, 5), {"extremely_early": 0, "very_early": 1, "early": 2,
                                 "middle": 4, "late": 6}),
    "cnn21": _cnn(21, (0, 7, 12), {"extremely_early": 0, "very_early": 2, "early": 5,
                                  "middle": 10, "late": 14}),
}
