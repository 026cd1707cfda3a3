"""Building blocks: the stem, the Treyer-style inception block, a plain conv
block and the head convolutions. Every filter count is multiplied by ``scale``
(the config's width times the width rule's multiplier, ``trunk.BRANCH_WIDTHS``)."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

# Net_T's filter counts (prior-networks.md: Treyer et al. 2024), which the width
# rules multiply (the default, table_c1, gives other counts: trunk.TABLE_C1_WIDTHS).
STEM_FILTERS = 96
INCEPTION_K = 156
HEAD_FILTERS = 96


class MatmulConv(nn.Module):
    """A SAME/VALID convolution written as patch extraction + one matrix product.

    Same parameters as ``nn.Conv`` (``kernel`` (kh, kw, C, F), ``bias`` (F,)).
    Under ``vmap`` over stacked branches the product becomes one batched matrix
    multiply, which XLA's CPU backend runs ~15x faster than the grouped
    convolution that ``vmap`` of ``lax.conv`` produces (BUILD.md).
    """

    features: int
    kernel_size: tuple[int, int]
    padding: str = "SAME"
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        kh, kw = self.kernel_size
        c = x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (kh, kw, c, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        if self.padding == "SAME":
            x = jnp.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
        h, w = x.shape[1] - kh + 1, x.shape[2] - kw + 1
        patches = x if kh == kw == 1 else jnp.concatenate(
            [x[:, dy:dy + h, dx:dx + w, :] for dy in range(kh) for dx in range(kw)], axis=-1)
        kernel = kernel.reshape(kh * kw * c, self.features).astype(self.dtype)
        out = jnp.einsum("bhwk,kf->bhwf", patches.astype(self.dtype), kernel)
        return out + bias.astype(self.dtype)


CONV_IMPLS = {"lax": nn.Conv, "matmul": MatmulConv}


def make_conv(impl: str, features: int, size: int, padding: str, dtype, name: str) -> nn.Module:
    """A square convolution of the chosen implementation (``CONV_IMPLS``)."""
    return CONV_IMPLS[impl](features, (size, size), padding=padding, dtype=dtype, name=name)


def scaled(n: int | float, scale: float) -> int:
    """A filter count times ``scale``, rounded, at least 1."""
    return max(1, int(round(n * scale)))


def avg_pool2(x: jax.Array) -> jax.Array:
    """2x2 average pooling with stride 2 (the pools before blocks 1, 4, 6)."""
    return nn.avg_pool(x, (2, 2), strides=(2, 2), padding="VALID")


class Stem(nn.Module):
    """Conv 5x5 + PReLU then conv 3x3 + tanh (paper Sect. 3.2).

    (B, H, W, C) -> (B, H, W, 96 * scale).
    """

    scale: float
    dtype: Any = jnp.float32
    conv_impl: str = "lax"

    @nn.compact
    def __call__(self, x):
        f = scaled(STEM_FILTERS, self.scale)
        x = make_conv(self.conv_impl, f, 5, "SAME", self.dtype, "conv5x5")(x)
        x = nn.PReLU(name="prelu")(x)
        x = make_conv(self.conv_impl, f, 3, "SAME", self.dtype, "conv3x3")(x)
        return jnp.tanh(x)


class InceptionBlock(nn.Module):
    """Treyer-style inception block (prior-networks.md), ReLU, SAME padding.

    Four branches on k = 156 * scale filters, concatenated:
    1x1(0.65k)->5x5(k); 1x1(0.65k)->3x3(k); 1x1(0.65k)->avg-pool 2x2 stride 1;
    1x1(0.7k). (B, H, W, C) -> (B, H, W, 2k + 0.65k + 0.7k), 522 at scale 1.
    """

    scale: float
    dtype: Any = jnp.float32
    conv_impl: str = "lax"

    @nn.compact
    def __call__(self, x):
        k = scaled(INCEPTION_K, self.scale)
        reduce = max(1, int(0.65 * k))
        conv = lambda f, size, name: make_conv(self.conv_impl, f, size, "SAME", self.dtype, name)
        b5 = nn.relu(conv(k, 5, "b5_conv5x5")(nn.relu(conv(reduce, 1, "b5_reduce")(x))))
        b3 = nn.relu(conv(k, 3, "b3_conv3x3")(nn.relu(conv(reduce, 1, "b3_reduce")(x))))
        bp = nn.relu(conv(reduce, 1, "bp_reduce")(x))
        # P19's pooling does not count the padding.
        bp = nn.avg_pool(bp, (2, 2), strides=(1, 1), padding="SAME", count_include_pad=False)
        b1 = nn.relu(conv(max(1, int(0.7 * k)), 1, "b1_conv1x1")(x))
        return jnp.concatenate([b5, b3, bp, b1], axis=-1)


class ConvBlock(nn.Module):
    """One plain 3x3 convolution + ReLU, for the cnnN backbones (Sect. 7.1)."""

    filters: int
    scale: float
    dtype: Any = jnp.float32
    conv_impl: str = "lax"

    @nn.compact
    def __call__(self, x):
        f = scaled(self.filters, self.scale)
        return nn.relu(make_conv(self.conv_impl, f, 3, "SAME", self.dtype, "conv3x3")(x))


class HeadConvs(nn.Module):
    """Up to ``n_convs`` 3x3 convs of 96 * scale filters, then a global average pool.

    The paper's head (Sect. 3.2) is three VALID 3x3 convs (8 -> 6 -> 4 -> 2 at
    64x64 input) and a last pooling to 96 one-by-one maps. To accept any stamp
    size, a conv uses VALID padding while the map is at least 3 pixels wide and
    SAME below that, and the last pooling averages whatever map remains; at 64x64
    this is exactly the paper's head. (B, h, w, C) -> (B, 96 * scale).
    """

    n_convs: int
    scale: float
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        for i in range(self.n_convs):
            padding = "VALID" if min(x.shape[1], x.shape[2]) >= 3 else "SAME"
            x = nn.Conv(scaled(HEAD_FILTERS, self.scale), (3, 3), padding=padding,
                        dtype=self.dtype, name=f"conv{i}")(x)
            x = nn.relu(x)
        return jnp.mean(x, axis=(1, 2))
