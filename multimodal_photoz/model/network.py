"""PhotoZNet: parallel modality branches, fusion, common trunk, PDF and
regression heads (paper Fig. 1)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from multimodal_photoz.model import layers
from multimodal_photoz.model.backbones import BACKBONES
from multimodal_photoz.model.config import ModelConfig
from multimodal_photoz.model.fusion import FUSIONS
from multimodal_photoz.model.initializers import init_from_shapes
from multimodal_photoz.model.trunk import (StackedBranches, Trunk, branch_scale, branch_stem_scale,
                                           stacked_conv_impl, trunk_scale)

DENSE_UNITS = 1024
MIN_STAMP = 8


class PhotoZNet(nn.Module):
    """The multimodal photo-z network; the baseline is its one-modality case.

    ``apply(variables, images, ebv, train=False, drop_modalities=(), band_mask=None, rngs=...)``:
      images: (B, H, W, C) float32, standardized, bands in ``config.bands`` order,
        square stamps of at least 8 pixels.
      ebv: (B,) float32 Galactic E(B-V) in magnitudes.
      train: enables modality dropout (needs ``rngs={"modality_dropout": key}``
        when ``config.modality_dropout > 0``).
      drop_modalities: names (``"u_g"``) or indices of modalities whose branch
        outputs are zeroed at evaluation (Sect. 7.4).
      band_mask: (B, C), 1 where the band is present (None: all); read only when
        ``config.band_mask_input``, which appends it to the latent with E(B-V).
    Returns a dict: ``pdf`` (B, n_bins) softmax over redshift bins, ``logits``
    (B, n_bins), ``z_regression`` (B,) and ``latent`` (B, 96 * width).
    Intermediates are sown in the ``intermediates`` collection (``fused``).
    """

    config: ModelConfig

    def _check_inputs(self, images, ebv):
        cfg = self.config
        if images.ndim != 4 or images.shape[-1] != cfg.n_bands:
            raise ValueError(
                f"images must be (B, H, W, {cfg.n_bands}) for bands {''.join(cfg.bands)!r}, "
                f"got shape {images.shape}")
        if images.shape[1] != images.shape[2] or images.shape[1] < MIN_STAMP:
            raise ValueError(f"stamps must be square and at least {MIN_STAMP} pixels, "
                             f"got {images.shape[1]}x{images.shape[2]}")
        if ebv.shape != images.shape[:1]:
            raise ValueError(f"ebv must be (B,) = {images.shape[:1]}, got {ebv.shape}")

    def _keep_mask(self, train: bool, drop_modalities: Sequence[str | int]) -> jax.Array:
        """(M,) float mask, 0 for the modalities dropped in this batch."""
        cfg = self.config
        names = cfg.modality_names()
        keep = np.ones(len(names), np.float32)
        for item in drop_modalities:
            if isinstance(item, str):
                if item not in names:
                    raise ValueError(f"cannot drop unknown modality {item!r}; modalities: {names}")
                item = names.index(item)
            keep[item] = 0.0
        keep = jnp.asarray(keep)
        if train and cfg.modality_dropout > 0:
            rng = self.make_rng("modality_dropout")
            count_rng, order_rng = jax.random.split(rng)
            n_drop = jax.random.randint(count_rng, (), 0, cfg.modality_dropout + 1)
            rank = jnp.argsort(jax.random.permutation(order_rng, len(names)))
            keep = keep * (rank >= n_drop).astype(jnp.float32)
        return keep

    def _branches(self, x: jax.Array, keep: jax.Array, depth: int) -> list[jax.Array]:
        """Runs every modality's branch, grouped by modality size."""
        cfg = self.config
        mods = cfg.resolved_modalities()
        by_size: dict[int, list[int]] = defaultdict(list)
        for i, m in enumerate(mods):
            by_size[len(m)].append(i)
        features: list[jax.Array | None] = [None] * len(mods)
        for size, members in sorted(by_size.items()):
            channels = np.array([[cfg.bands.index(b) for b in mods[i]] for i in members])
            stacked = jnp.moveaxis(x[..., channels], -2, 0)  # (G, B, H, W, size)
            out = StackedBranches(backbone=cfg.backbone, start=0, stop=depth,
                                  scale=branch_scale(cfg.width, size, cfg.n_bands,
                                                     cfg.branch_width),
                                  stem_scale=branch_stem_scale(cfg.width, size, cfg.n_bands,
                                                               cfg.branch_width),
                                  with_stem=True, dtype=x.dtype,
                                  conv_impl=stacked_conv_impl(cfg.branch_conv, len(members)),
                                  name=f"branches_size{size}")(stacked)
            out = out * keep[np.array(members)].astype(out.dtype)[:, None, None, None, None]
            # One transpose then a split along channels: indexing out[j] per branch would
            # make the backward pass pad every branch's gradient to the whole stack.
            g, b, h, w, c = out.shape
            side_by_side = jnp.moveaxis(out, 0, -2).reshape(b, h, w, g * c)
            for i, part in zip(members, jnp.split(side_by_side, g, axis=-1)):
                features[i] = part
        return features

    @nn.compact
    def __call__(self, images, ebv, train: bool = False, drop_modalities=(), band_mask=None):
        cfg = self.config
        self._check_inputs(images, ebv)
        dtype = jnp.dtype(cfg.dtype)
        spec = BACKBONES[cfg.backbone]
        depth = spec.fusion_depth[cfg.fusion]
        keep = self._keep_mask(train, drop_modalities)
        fusion = FUSIONS[cfg.fusion_type]
        features = self._branches(images.astype(dtype), keep, depth - fusion.blocks_taken)
        scales = tuple(branch_scale(cfg.width, len(m), cfg.n_bands, cfg.branch_width)
                       for m in cfg.resolved_modalities())
        fused, next_block = fusion(
            backbone=cfg.backbone, depth=depth, modality_scales=scales, dtype=dtype,
            conv_impl=stacked_conv_impl(cfg.branch_conv, len(features)),
            name="fusion")(features, keep)
        self.sow("intermediates", "fused", fused)
        x = Trunk(backbone=cfg.backbone, start=next_block, stop=spec.n_blocks,
                  scale=trunk_scale(cfg.width, cfg.branch_width), dtype=dtype,
                  name="common")(fused)
        latent = layers.HeadConvs(n_convs=spec.head_convs, scale=cfg.width, dtype=dtype,
                                  name="head")(x)
        head_inputs = [latent, ebv.astype(dtype)[:, None]]
        if cfg.band_mask_input:  # which bands are absent: a zero input is not "no data"
            present = (jnp.ones((images.shape[0], cfg.n_bands)) if band_mask is None
                       else band_mask)
            head_inputs.append(present.astype(dtype))
        h = jnp.concatenate(head_inputs, axis=-1)
        units = layers.scaled(DENSE_UNITS, cfg.width)
        h = nn.relu(nn.Dense(units, dtype=dtype, name="fc1")(h))
        h = nn.relu(nn.Dense(units, dtype=dtype, name="fc2")(h))
        logits = nn.Dense(cfg.n_bins, dtype=dtype, name="pdf_head")(h).astype(jnp.float32)
        z_regression = nn.Dense(1, dtype=dtype, name="regression_head")(h)[:, 0]
        return {
            "pdf": jax.nn.softmax(logits, axis=-1),
            "logits": logits,
            "z_regression": z_regression.astype(jnp.float32),
            "latent": latent.astype(jnp.float32),
        }


def abstract_params(config: ModelConfig, stamp: int = 64):
    """The parameter tree's shapes and dtypes for (1, stamp, stamp, C) inputs."""
    model = PhotoZNet(config)
    images = jax.ShapeDtypeStruct((1, stamp, stamp, config.n_bands), jnp.float32)
    ebv = jax.ShapeDtypeStruct((1,), jnp.float32)
    return jax.eval_shape(model.init, jax.random.key(0), images, ebv)["params"]


def init_params(config: ModelConfig, rng: jax.Array, stamp: int = 64):
    """Initial parameter pytree (see ``initializers``: one draw, Flax's defaults)."""
    shapes = abstract_params(config, stamp)
    return jax.jit(lambda key: init_from_shapes(shapes, key))(rng)


def count_params(config: ModelConfig, stamp: int = 64) -> int:
    """Number of trainable parameters (shape inference only, nothing allocated)."""
    return int(sum(np.prod(leaf.shape) for leaf in jax.tree.leaves(abstract_params(config, stamp))))
