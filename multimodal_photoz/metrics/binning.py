"""Metrics in equal-count bins of any variable (Fig. 2), with the spread
between cross-validation folds as error bar."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from multimodal_photoz.metrics._checks import _as_1d, _redshift_pair, _same_length
from multimodal_photoz.metrics.residuals import _metric_dict

_RESERVED_KEYS = ("edges", "centers", "counts", "fold_counts", "folds", "per_fold")


def equal_count_edges(x: Any, n_bins: int = 8) -> np.ndarray:
    """Bin edges splitting ``x`` into ``n_bins`` bins of (nearly) equal counts.

    Inner edge ``i`` is the midpoint between the sorted values of rank
    round(i N / n_bins) - 1 and round(i N / n_bins); outer edges are min and max.
    With distinct values every bin gets round(i N/n) - round((i-1) N/n) objects;
    tied values on an edge all go to the upper bin. Returns (n_bins + 1,).
    """
    x = _as_1d("x", x)
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins: must be a positive integer, got {n_bins!r}")
    if len(x) < n_bins:
        raise ValueError(f"x: {len(x)} objects for {n_bins} bins")
    xs = np.sort(x)
    ranks = np.round(np.arange(1, n_bins) * len(x) / n_bins).astype(np.int64)
    inner = 0.5 * (xs[ranks - 1] + xs[ranks])
    return np.concatenate([[xs[0]], inner, [xs[-1]]])


def _bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each x: edges[i] <= x < edges[i+1]; values beyond the ends go to the end bins."""
    return np.searchsorted(edges[1:-1], x, side="right")


def _metric_or_nan(metric: Callable, z_phot: np.ndarray, z_spec: np.ndarray) -> float:
    return float(metric(z_phot, z_spec)) if len(z_phot) else np.nan


def _check_binned_inputs(x, z_phot, z_spec):
    x = _as_1d("x", x)
    z_phot, z_spec = _redshift_pair(z_phot, z_spec)
    _same_length(x=x, z_phot=z_phot, z_spec=z_spec)
    return x, z_phot, z_spec


def binned(x: Any, z_phot: Any, z_spec: Any, metrics: Any = "sigma_mad",
           n_bins: int = 8) -> dict[str, np.ndarray]:
    """Metrics in equal-count bins of ``x`` (i magnitude, z_spec, z_phot...), as in Fig. 2.

    Args:
      x, z_phot, z_spec: (N,) arrays.
      metrics: a registry name, a callable f(z_phot, z_spec), a list of those or
        a dict name -> callable.
      n_bins: number of bins (edges from ``equal_count_edges``).
    Returns:
      dict with 'edges' (n_bins+1,), 'centers' (n_bins,) = median of x in each bin
      (a plotting abscissa that follows the data), 'counts' (n_bins,) int, and one
      (n_bins,) float array per metric name (NaN in an empty bin).
    """
    x, z_phot, z_spec = _check_binned_inputs(x, z_phot, z_spec)
    metrics = _metric_dict(metrics)
    _check_reserved(metrics)
    edges = equal_count_edges(x, n_bins)
    which = _bin_index(x, edges)
    masks = [which == b for b in range(n_bins)]
    out: dict[str, np.ndarray] = {
        "edges": edges,
        "centers": np.array([np.median(x[m]) if m.any() else np.nan for m in masks]),
        "counts": np.array([m.sum() for m in masks], dtype=np.int64),
    }
    for name, metric in metrics.items():
        out[name] = np.array([_metric_or_nan(metric, z_phot[m], z_spec[m]) for m in masks])
    return out


def _check_reserved(metrics: Mapping[str, Callable]) -> None:
    clash = [n for n in metrics if n in _RESERVED_KEYS or n.endswith("_std")]
    if clash:
        raise ValueError(f"metrics: names {clash} clash with result keys {_RESERVED_KEYS} / *_std")


def binned_by_fold(x: Any, z_phot: Any, z_spec: Any, fold: Any, metrics: Any = "sigma_mad",
                   n_bins: int = 8, ddof: int = 0) -> dict[str, Any]:
    """Per-bin metrics averaged over cross-validation folds, with their spread.

    The paper's Fig. 2 error bars are the standard deviation between the 5 folds.
    Edges are equal-count edges of ``x`` over all objects, common to every fold.

    Args:
      x, z_phot, z_spec: (N,) arrays; fold: (N,) integer fold of each object.
      metrics, n_bins: as in ``binned``.
      ddof: delta degrees of freedom of the std across folds (0: population std).
    Returns:
      dict with 'edges', 'centers' (median of x per bin, all folds), 'counts'
      (n_bins,), 'folds' (n_folds,) the fold labels, 'fold_counts' (n_folds, n_bins),
      per metric name the (n_bins,) mean over folds and '<name>_std' the std
      across folds (both ignore folds with an empty bin), and 'per_fold':
      {name: (n_folds, n_bins)}.
    """
    x, z_phot, z_spec = _check_binned_inputs(x, z_phot, z_spec)
    fold = np.asarray(fold)
    if fold.ndim != 1 or not np.issubdtype(fold.dtype, np.integer):
        raise ValueError(f"fold: expected a 1-d integer array, got {fold.dtype} {fold.shape}")
    _same_length(x=x, fold=fold)
    metrics = _metric_dict(metrics)
    _check_reserved(metrics)
    edges = equal_count_edges(x, n_bins)
    which = _bin_index(x, edges)
    folds = np.unique(fold)
    out = binned(x, z_phot, z_spec, {}, n_bins)  # edges, centers and counts over all folds
    out["folds"] = folds
    out["fold_counts"] = np.array(
        [[np.sum((fold == f) & (which == b)) for b in range(n_bins)] for f in folds])
    out["per_fold"] = {}
    for name, metric in metrics.items():
        table = np.array([[_metric_or_nan(metric, z_phot[m], z_spec[m])
                           for m in ((fold == f) & (which == b) for b in range(n_bins))]
                          for f in folds])
        out["per_fold"][name] = table
        out[name], out[f"{name}_std"] = _nan_mean_std(table, ddof)
    return out


def _nan_mean_std(table: np.ndarray, ddof: int) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and std ignoring NaN; NaN (no warning) where too few values."""
    valid = ~np.isnan(table)
    n = valid.sum(axis=0)
    filled = np.where(valid, table, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, filled.sum(axis=0) / n, np.nan)
        sq = np.where(valid, (table - mean) ** 2, 0.0).sum(axis=0)
        std = np.where(n > ddof, np.sqrt(sq / (n - ddof)), np.nan)
    return mean, std
