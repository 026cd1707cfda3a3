"""Training losses (paper eq. 1 and Table A.1), as a registry.

Each loss maps the network outputs and ``z_spec`` (B,) to a per-object loss
(B,); the train step averages it with per-object weights.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax


def bin_index(z_spec: jax.Array, bin_edges: jax.Array) -> jax.Array:
    """Index of the redshift bin holding each z_spec; values outside the grid
    go to the first or last bin. (B,) -> (B,) int32."""
    n_bins = bin_edges.shape[0] - 1
    # compare_all: one (B, n_bins + 1) comparison, where the default binary search is a
    # sequential while loop (2% of a quick-scale train step on CPU); same result.
    index = jnp.searchsorted(bin_edges, z_spec, side="right", method="compare_all")
    return jnp.clip(index - 1, 0, n_bins - 1)


def cross_entropy(outputs, z_spec, bin_edges):
    """Softmax cross-entropy against the bin holding z_spec."""
    return optax.softmax_cross_entropy_with_integer_labels(
        outputs["logits"], bin_index(z_spec, bin_edges))


def absolute_error(outputs, z_spec, bin_edges):
    """|z_regression - z_spec| (its batch mean is the MAE)."""
    return jnp.abs(outputs["z_regression"] - z_spec)


def squared_error(outputs, z_spec, bin_edges):
    """(z_regression - z_spec)^2; ``reduce`` of ``rmse`` takes the root of the mean."""
    return jnp.square(outputs["z_regression"] - z_spec)


def normalized_absolute_error(outputs, z_spec, bin_edges):
    """|z_regression - z_spec| / (1 + z_spec) (NMAE, Table A.1)."""
    return jnp.abs(outputs["z_regression"] - z_spec) / (1.0 + z_spec)


def cross_entropy_and_mae(outputs, z_spec, bin_edges):
    """Paper eq. (1): cross-entropy plus the absolute error of the regression head."""
    return cross_entropy(outputs, z_spec, bin_edges) + absolute_error(outputs, z_spec, bin_edges)


# name -> (per-object loss, reduction of the weighted mean); RMSE is the root of the mean.
LOSSES: dict[str, tuple[Callable, Callable]] = {
    "ce_mae": (cross_entropy_and_mae, lambda m: m),
    "ce": (cross_entropy, lambda m: m),
    "mae": (absolute_error, lambda m: m),
    "rmse": (squared_error, jnp.sqrt),
    "nmae": (normalized_absolute_error, lambda m: m),
}


# Losses of Table A.1 that train only the regression head: their PDF is untrained,
# so they are scored on z_regression, as the paper did.
REGRESSION_ONLY = ("mae", "rmse", "nmae")


def point_estimate_for(name: str) -> str:
    """The z_phot column a network trained with loss ``name`` is scored on."""
    return "z_regression" if name in REGRESSION_ONLY else "z_median"


def weighted_loss(name: str, outputs, z_spec, bin_edges, weight) -> jax.Array:
    """The batch loss: weighted mean of the per-object loss (padding rows weigh 0)."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; known: {sorted(LOSSES)}")
    per_object, reduce = LOSSES[name]
    values = per_object(outputs, z_spec, bin_edges)
    return reduce(jnp.sum(values * weight) / jnp.maximum(jnp.sum(weight), 1.0))
