"""Building blocks: the stem, the Treyer-style inception block, a plain conv
block and the head convolutions. Every filter count is multiplied by ``scale``
(the config's width times the width rule's multiplier, ``trunk.BRANCH_WIDTHS``)."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from multimodal_photoz.model.split_conv import split_conv

# Net_T's filter counts (prior-networks.md: Treyer et al. 2024), which the width
# rules multiply (the default, table_c1, gives other counts: trunk.TABLE_C1_WIDTHS).
STEM_FILTERS = 96
INCEPTION_K = 156
HEAD_FILTERS = 96


def conv_params(module: nn.Module, kernel_size: tuple[int, int], c_in: int,
                features: int) -> tuple[jax.Array, jax.Array]:
    """Declares on ``module`` the parameters ``nn.Conv`` would: ``kernel``
    (kh, kw, C, F), LeCun normal, and ``bias`` (F,), zeros."""
    kernel = module.param("kernel", nn.initializers.lecun_normal(),
                          (*kernel_size, c_in, features))
    return kernel, module.param("bias", nn.initializers.zeros, (features,))


class _ConvFields(nn.Module):
    """The fields of ``nn.Conv`` that its replacements below take (and ``CONV_IMPLS``
    passes to each): F output channels, (kh, kw), 'SAME' or 'VALID', compute dtype."""

    features: int
    kernel_size: tuple[int, int]
    padding: str = "SAME"
    dtype: Any = jnp.float32


class MatmulConv(_ConvFields):
    """A SAME/VALID convolution written as patch extraction + one matrix product.

    Same parameters as ``nn.Conv`` (``kernel`` (kh, kw, C, F), ``bias`` (F,)).
    Under ``vmap`` over stacked branches the product becomes one batched matrix
    multiply, which XLA's CPU backend runs ~15x faster than the grouped
    convolution that ``vmap`` of ``lax.conv`` produces (BUILD.md).
    """

    @nn.compact
    def __call__(self, x):
        kh, kw = self.kernel_size
        c = x.shape[-1]
        kernel, bias = conv_params(self, self.kernel_size, c, self.features)
        if self.padding == "SAME":
            x = jnp.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
        h, w = x.shape[1] - kh + 1, x.shape[2] - kw + 1
        patches = x if kh == kw == 1 else jnp.concatenate(
            [x[:, dy:dy + h, dx:dx + w, :] for dy in range(kh) for dx in range(kw)], axis=-1)
        kernel = kernel.reshape(kh * kw * c, self.features).astype(self.dtype)
        out = jnp.einsum("bhwk,kf->bhwf", patches.astype(self.dtype), kernel)
        return out + bias.astype(self.dtype)


class SplitConv(_ConvFields):
    """A SAME/VALID convolution that stays one convolution per branch under
    ``vmap`` over stacked branches (``split_conv``), where ``nn.Conv`` becomes
    one grouped convolution. Same parameters and results as ``nn.Conv``."""

    @nn.compact
    def __call__(self, x):
        kernel, bias = conv_params(self, self.kernel_size, x.shape[-1], self.features)
        out = split_conv(x.astype(self.dtype), kernel.astype(self.dtype), self.padding)
        return out + bias.astype(self.dtype)


CONV_IMPLS = {"lax": nn.Conv, "matmul": MatmulConv, "split": SplitConv}


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


class ConvParams(nn.Module):
    """The parameters of a convolution, as ``nn.Conv`` names them (``kernel``
    (kh, kw, C, F), ``bias`` (F,)), for a layer that computes it with others."""

    features: int
    size: int = 1

    @nn.compact
    def __call__(self, c_in: int) -> tuple[jax.Array, jax.Array]:
        return conv_params(self, (self.size, self.size), c_in, self.features)


def pointwise_convs(x: jax.Array, convs: list[tuple[jax.Array, jax.Array]], dtype) -> list[jax.Array]:
    """Several 1x1 convolutions of one input as one matrix product: the kernels
    (1, 1, C, F_i) are concatenated along F, so the input is read once and the
    product is as wide as all of them; the result is split back per convolution.
    (B, H, W, C) -> [(B, H, W, F_i)]. Same numbers as separate convolutions."""
    kernel = jnp.concatenate([k[0, 0] for k, _ in convs], axis=-1).astype(dtype)
    bias = jnp.concatenate([b for _, b in convs]).astype(dtype)
    out = jnp.einsum("bhwc,cf->bhwf", x.astype(dtype), kernel) + bias
    splits = np.cumsum([b.shape[0] for _, b in convs])[:-1]
    return jnp.split(out, splits, axis=-1)


class InceptionBlock(nn.Module):
    """Treyer-style inception block (prior-networks.md), ReLU, SAME padding.

    Four branches on k = 156 * scale filters, concatenated:
    1x1(0.65k)->5x5(k); 1x1(0.65k)->3x3(k); 1x1(0.65k)->avg-pool 2x2 stride 1;
    1x1(0.7k). (B, H, W, C) -> (B, H, W, 2k + 0.65k + 0.7k), 522 at scale 1.
    The four 1x1 convolutions read the same input and run as one product
    (``pointwise_convs``); their parameters are stored as four ``nn.Conv``s.
    """

    scale: float
    dtype: Any = jnp.float32
    conv_impl: str = "lax"

    @nn.compact
    def __call__(self, x):
        k = scaled(INCEPTION_K, self.scale)
        reduce = max(1, int(0.65 * k))
        conv = lambda f, size, name: make_conv(self.conv_impl, f, size, "SAME", self.dtype, name)
        c = x.shape[-1]
        pointwise = [ConvParams(f, name=name)(c) for f, name in (
            (reduce, "b5_reduce"), (reduce, "b3_reduce"), (reduce, "bp_reduce"),
            (max(1, int(0.7 * k)), "b1_conv1x1"))]
        r5, r3, rp, b1 = (nn.relu(y) for y in pointwise_convs(x, pointwise, self.dtype))
        b5 = nn.relu(conv(k, 5, "b5_conv5x5")(r5))
        b3 = nn.relu(conv(k, 3, "b3_conv3x3")(r3))
        # P19's pooling does not count the padding.
        bp = nn.avg_pool(rp, (2, 2), strides=(1, 1), padding="SAME", count_include_pad=False)
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
