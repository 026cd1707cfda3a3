"""Input preprocessing: dynamic-range compression, per-band standardization and
on-device augmentation (paper Sect. 3.1 and 3.4).

Images are ``(B, H, W, C)`` float32 in the data set's flux units (background
subtracted), bands in wavelength order. The host only reads and batches; every
function here that takes ``jax`` arrays runs on device inside the compiled step.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def compress(images: Any) -> Any:
    """P19's dynamic-range compression ``sign(x) * (sqrt(|x| + 1) - 1)``.

    Works on numpy and jax arrays alike; odd in ``x`` and monotonic.
    """
    xp = jnp if isinstance(images, jax.Array) else np
    return xp.sign(images) * (xp.sqrt(xp.abs(images) + 1.0) - 1.0)


@dataclasses.dataclass(frozen=True)
class BandStats:
    """Per-band mean and standard deviation of compressed training pixels.

    Attributes:
      mean: (C,) float32, mean of ``compress(x)`` over training objects' pixels.
      std: (C,) float32, its standard deviation (floored at 1e-6).
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def identity(cls, n_bands: int) -> "BandStats":
        """Statistics that leave compressed images unchanged."""
        return cls(mean=(0.0,) * n_bands, std=(1.0,) * n_bands)

    @classmethod
    def from_moments(cls, moments: "BandMoments") -> "BandStats":
        """Mean and std from accumulated sums; a band never present gets (0, 1)."""
        count = np.maximum(moments.count, 1.0)
        mean = moments.total / count
        var = np.maximum(moments.total_sq / count - mean**2, 0.0)
        std = np.where(moments.count > 0, np.maximum(np.sqrt(var), 1e-6), 1.0)
        mean = np.where(moments.count > 0, mean, 0.0)
        return cls(mean=tuple(float(m) for m in mean), std=tuple(float(s) for s in std))

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BandStats":
        return cls(mean=tuple(float(x) for x in d["mean"]), std=tuple(float(x) for x in d["std"]))


@dataclasses.dataclass
class BandMoments:
    """Running per-band sums of compressed pixels, float64, exact to merge.

    Reduced as (sum, count) pairs so that hosts and batches combine exactly.
    """

    total: np.ndarray      # (C,) sum of compressed pixel values
    total_sq: np.ndarray   # (C,) sum of their squares
    count: np.ndarray      # (C,) number of pixels summed

    @classmethod
    def zeros(cls, n_bands: int) -> "BandMoments":
        z = np.zeros(n_bands, np.float64)
        return cls(z.copy(), z.copy(), z.copy())

    def add(self, images: np.ndarray, band_mask: np.ndarray | None = None) -> "BandMoments":
        """Adds a batch. images: (B, H, W, C); band_mask: (B, C), True = band present.

        Absent (zero-padded) bands of an object are left out of its band's sums.
        """
        images = np.asarray(images, np.float64)
        c = compress(images)
        b, h, w, n = images.shape
        mask = np.ones((b, n), bool) if band_mask is None else np.asarray(band_mask, bool)
        weights = mask.astype(np.float64)                      # (B, C)
        self.total += np.einsum("bhwc,bc->c", c, weights)
        self.total_sq += np.einsum("bhwc,bc->c", c * c, weights)
        self.count += weights.sum(0) * h * w
        return self

    def merge(self, other: "BandMoments") -> "BandMoments":
        return BandMoments(self.total + other.total, self.total_sq + other.total_sq,
                           self.count + other.count)


def standardize(images: jax.Array, stats: BandStats | dict[str, jax.Array],
                band_mask: jax.Array | None = None) -> jax.Array:
    """Compresses and standardizes each band; absent bands stay exactly zero.

    Args:
      images: (B, H, W, C) float32 raw fluxes.
      stats: ``BandStats`` or a mapping with ``mean`` and ``std`` arrays (C,).
      band_mask: (B, C), 1 where the band is present; None = all present.
    Returns:
      (B, H, W, C) float32 network input.
    """
    mean = jnp.asarray(stats.mean if isinstance(stats, BandStats) else stats["mean"], jnp.float32)
    std = jnp.asarray(stats.std if isinstance(stats, BandStats) else stats["std"], jnp.float32)
    x = (compress(images.astype(jnp.float32)) - mean) / std
    if band_mask is not None:
        x = x * band_mask.astype(x.dtype)[:, None, None, :]
    return x


def _rot90(image: jax.Array, k: jax.Array) -> jax.Array:
    """Rotates one (H, W, C) square stamp by ``k`` quarter turns (k traced)."""
    return jax.lax.switch(k, [lambda x, n=n: jnp.rot90(x, n, axes=(0, 1)) for n in range(4)],
                          image)


def augment(rng: jax.Array, images: jax.Array) -> jax.Array:
    """Random rot90 (k = 0..3) and random horizontal flip per object, on device.

    The eight results are the dihedral group of the square, so every
    orientation is equally likely. Random numbers are drawn for the whole
    global batch, so the result does not depend on how the batch is sharded.

    Args:
      rng: PRNG key.
      images: (B, H, W, C) with H == W.
    Returns:
      (B, H, W, C) augmented images.
    """
    if images.shape[1] != images.shape[2]:
        raise ValueError(f"rotation augmentation needs square stamps, got {images.shape[1:3]}")
    k_rng, flip_rng = jax.random.split(rng)
    b = images.shape[0]
    k = jax.random.randint(k_rng, (b,), 0, 4)
    flip = jax.random.bernoulli(flip_rng, 0.5, (b,))
    rotated = jax.vmap(_rot90)(images, k)
    return jnp.where(flip[:, None, None, None], rotated[:, :, ::-1, :], rotated)
