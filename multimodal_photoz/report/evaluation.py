"""Evaluation of one run: the object selection and the content of ``metrics.json``.

The point estimate is the PDF median (Sect. 5.1); the selection keeps objects with
a spectroscopic redshift and, optionally, i <= 24 (Sect. 3.4). Redshifts are
dimensionless; magnitudes are AB.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from multimodal_photoz import metrics

METRIC_NAMES = ("sigma_mad", "outlier_fraction", "bias")
POINT_ESTIMATES = ("z_median", "z_mean", "z_mode", "z_regression")
# The classical photometric baseline's columns (``multimodal_photoz.photometric``).
CATALOGUE_BASELINE = {"z_knn": "catalogue kNN", "z_gbt": "catalogue boosted trees"}
PER_OBJECT = ("id", "fold", "pdf", "z_spec", "mag_i", "ebv", "bands_missing") + POINT_ESTIMATES
N_BINS = 8  # equal-count bins of Fig. 2
PIT_BINS = 20
PIT_EXTREME = 1e-4  # PIT < 1e-4 or > 1 - 1e-4: the truth is far outside the PDF (RAIL's PIT outliers)
NZ_MAX_BINS = 60  # coarser grid for n(z): readable plot, small JSON


# ---------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------

def mag_i_values(pred: Mapping[str, Any], mag_i: Any = None) -> np.ndarray | None:
    """(N,) float64 i magnitudes from ``mag_i``, else from pred['mag_i'], else None."""
    values = mag_i if mag_i is not None else pred.get("mag_i")
    if values is None:
        return None
    values = np.asarray(values, dtype=np.float64)
    if values.shape != np.shape(pred["id"]):
        raise ValueError(f"mag_i: expected shape {np.shape(pred['id'])} (one per object), got {values.shape}")
    return values


def _bright(pred: Mapping[str, Any], mag_i: Any, mag_limit: float) -> np.ndarray:
    """(N,) bool: known i magnitude <= ``mag_limit``."""
    mag = mag_i_values(pred, mag_i)
    if mag is None:
        raise ValueError(f"mag_limit={mag_limit} needs i magnitudes: pass mag_i or store 'mag_i'")
    return np.isfinite(mag) & (mag <= mag_limit)


def _has_z_spec(pred: Mapping[str, Any]) -> np.ndarray:
    if "z_spec" not in pred:
        raise ValueError("predictions have no 'z_spec' field: metrics need spectroscopic redshifts")
    return np.isfinite(np.asarray(pred["z_spec"], dtype=np.float64))


def _complete(pred: Mapping[str, Any]) -> np.ndarray | None:
    """(N,) bool: the object has every band the model reads (None: not recorded)."""
    missing = pred.get("bands_missing")
    return None if missing is None else np.asarray(missing) == 0


def select(pred: Mapping[str, Any], mag_i: Any = None, mag_limit: float | None = None,
           all_bands: bool = True) -> tuple[np.ndarray, dict[str, Any]]:
    """Objects entering the metrics: known z_spec, if ``mag_limit`` mag_i <= limit,
    and if ``all_bands`` every band the model reads (the paper's HSC-9b: objects
    without NIR images are not evaluated with zero-filled bands).

    Args:
      pred: predictions dict with (N,) 'z_spec' (NaN: unknown) and optional (N,)
        'bands_missing' (number of the model's bands absent from the object).
      mag_i: (N,) i magnitudes (default: pred['mag_i']); needed only with ``mag_limit``.
    Returns:
      (mask (N,) bool, selection dict for metrics.json).
    """
    mask = _has_z_spec(pred)
    selection: dict[str, Any] = {"n_total": int(mask.size), "n_without_z_spec": int((~mask).sum())}
    if mag_limit is not None:
        keep = _bright(pred, mag_i, mag_limit)
        selection.update(mag_i_max=float(mag_limit), n_fainter_or_unknown_mag=int((mask & ~keep).sum()))
        mask &= keep
    complete = _complete(pred)
    if all_bands and complete is not None:
        selection.update(all_bands=True, n_missing_bands=int((mask & ~complete).sum()))
        mask &= complete
    selection["n_selected"] = int(mask.sum())
    selection["description"] = ((f"i <= {mag_limit:g}" if mag_limit is not None else "all")
                                + " objects with z_spec"
                                + (" and every band of the model" if selection.get("all_bands")
                                   else ""))
    if not mask.any():
        raise ValueError(f"no object passes the selection ({selection['description']})")
    return mask, selection


def selection_mask(pred: Mapping[str, Any], selection: Mapping[str, Any], mag_i: Any = None) -> np.ndarray:
    """(N,) bool mask of a selection already made (``metrics['selection']``), without
    redoing its bookkeeping; ValueError if ``pred`` does not give the same count."""
    mask = _has_z_spec(pred)
    if selection.get("mag_i_max") is not None:
        mask &= _bright(pred, mag_i, selection["mag_i_max"])
    if selection.get("all_bands"):
        mask &= _complete(pred)
    if int(mask.sum()) != selection["n_selected"]:
        raise ValueError(f"these predictions select {int(mask.sum())} objects, the metrics "
                         f"{selection['n_selected']} ({selection['description']}): not the same run")
    return mask


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------

def _scores(fns: Mapping[str, Any], z_phot: np.ndarray, z_spec: np.ndarray) -> dict[str, float]:
    return {name: float(fn(z_phot, z_spec)) for name, fn in fns.items()}


def _columns(pred: Mapping[str, Any], mask: np.ndarray, point_estimate: str
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Selected (n,) z_spec, z_phot (float64) and fold."""
    z_spec = np.asarray(pred["z_spec"], dtype=np.float64)[mask]
    z_phot = np.asarray(pred[point_estimate], dtype=np.float64)[mask]
    return z_spec, z_phot, np.asarray(pred["fold"])[mask]


def _distribution(x: np.ndarray, n: int = 30) -> dict[str, Any]:
    counts, edges = np.histogram(x, bins=n)
    return {"edges": edges, "counts": counts}


def _binned(x, z_phot, z_spec, fold, fns, n_bins) -> dict[str, Any] | None:
    """Fig. 2 bins: value on all objects of the bin, spread (std) across folds."""
    finite = np.isfinite(x)
    x, z_phot, z_spec, fold = x[finite], z_phot[finite], z_spec[finite], fold[finite]
    if len(x) < n_bins:
        return None
    everyone = metrics.binned(x, z_phot, z_spec, dict(fns), n_bins)
    by_fold = metrics.binned_by_fold(x, z_phot, z_spec, fold, dict(fns), n_bins)
    out = {k: everyone[k] for k in ("edges", "centers", "counts")}
    for name in fns:
        out[name], out[f"{name}_std"] = everyone[name], by_fold[f"{name}_std"]
    out["n_objects"] = int(len(x))
    out["distribution"] = _distribution(x)
    return out


def _binned_variables(pred, mask, mag_i, z_phot, z_spec, fold, fns, n_bins) -> dict[str, Any]:
    """{'z_spec': ..., 'mag_i': ...}: the variables with enough objects to bin."""
    mag = mag_i_values(pred, mag_i)
    binned = {"z_spec": _binned(z_spec, z_phot, z_spec, fold, fns, n_bins)}
    if mag is not None:
        binned["mag_i"] = _binned(mag[mask], z_phot, z_spec, fold, fns, n_bins)
    return {k: v for k, v in binned.items() if v is not None}


def binned_summary(pred: Mapping[str, Any], mask: np.ndarray, outlier_threshold: float,
                   mag_i: Any = None, n_bins: int = N_BINS, point_estimate: str = "z_median"
                   ) -> dict[str, Any]:
    """What Fig. 2 needs of one run: the overall metrics and 'binned', equal to the
    same keys of :func:`evaluate` for the selection ``mask`` (N,) bool."""
    fns = metrics.metric_functions(outlier_threshold)
    z_spec, z_phot, fold = _columns(pred, mask, point_estimate)
    return {**_scores(fns, z_phot, z_spec),
            "binned": _binned_variables(pred, mask, mag_i, z_phot, z_spec, fold, fns, n_bins)}


def pit_summary(pit: np.ndarray, n_bins: int = PIT_BINS) -> dict[str, Any]:
    """Histogram and uniformity statistics of PIT values (N,) in [0, 1].

    Returns counts in ``n_bins`` equal bins of [0, 1], mean and std (0.5 and 0.2887
    if uniform), the Kolmogorov-Smirnov distance to the uniform law and the
    fraction of extreme values (PIT < 1e-4 or > 1 - 1e-4).
    """
    p = np.sort(np.asarray(pit, dtype=np.float64))
    n = len(p)
    ranks = np.arange(1, n + 1) / n
    ks = float(max(np.max(ranks - p), np.max(p - (ranks - 1.0 / n))))
    counts, _ = np.histogram(p, bins=n_bins, range=(0.0, 1.0))
    extreme = float(np.mean((p < PIT_EXTREME) | (p > 1.0 - PIT_EXTREME)))
    return {"n_bins": n_bins, "counts": counts, "mean": float(p.mean()), "std": float(p.std()),
            "ks_statistic": ks, "extreme_fraction": extreme}


def n_of_z(pdf: np.ndarray, bin_edges: np.ndarray, z_spec: np.ndarray) -> dict[str, Any]:
    """True (z_spec histogram) and estimated (sum of PDFs) redshift distributions.

    Args:
      pdf: (N, B) probabilities per redshift bin; bin_edges: (B + 1,); z_spec: (N,).
    Returns:
      {'edges', 'true', 'estimated'}: both densities (integral 1 over the grid) on
      the PDF grid merged into at most 60 bins.
    """
    factor = max(1, math.ceil((len(bin_edges) - 1) / NZ_MAX_BINS))
    idx = np.unique(np.append(np.arange(0, len(bin_edges), factor), len(bin_edges) - 1))
    edges = np.asarray(bin_edges, dtype=np.float64)[idx]
    mass = np.add.reduceat(np.asarray(pdf, dtype=np.float64).sum(axis=0), idx[:-1])
    width = np.diff(edges)
    counts, _ = np.histogram(np.clip(z_spec, edges[0], edges[-1]), bins=edges)
    return {"edges": edges, "true": counts / counts.sum() / width, "estimated": mass / mass.sum() / width}


def images_gain(network: Mapping[str, float], catalogue: Mapping[str, float]) -> dict[str, float]:
    """What the images add: the paper's eq. 2 gain (``metrics.gain``) of the network
    over a catalogue method, per metric (positive = the network is better)."""
    return {name: metrics.gain(catalogue[name], network[name]) for name in METRIC_NAMES}


def catalogue_scores(pred: Mapping[str, Any], mask: np.ndarray, fns) -> dict[str, Any]:
    """The classical photometric baseline's metrics on the objects ``mask`` (N,) bool:
    column -> {label, sigma_mad, outlier_fraction, bias}; {} without its columns."""
    z_spec = np.asarray(pred["z_spec"], np.float64)[mask]
    return {column: {"label": label,
                     **_scores(fns, np.asarray(pred[column], np.float64)[mask], z_spec)}
            for column, label in CATALOGUE_BASELINE.items() if column in pred}


def catalogue_baseline(pred: Mapping[str, Any], mask: np.ndarray, fns,
                       network: Mapping[str, Any]) -> dict[str, Any]:
    """``catalogue_scores`` with, per column, per_fold, fold_std and images_gain
    (of ``network``'s metrics over this method)."""
    z_spec, fold = np.asarray(pred["z_spec"], np.float64)[mask], np.asarray(pred["fold"])[mask]
    out = catalogue_scores(pred, mask, fns)
    for column, scores in out.items():
        per_fold = _per_fold(fns, np.asarray(pred[column], np.float64)[mask], z_spec, fold)
        scores.update(per_fold=per_fold, fold_std=_fold_std(per_fold, fns),
                      images_gain=images_gain(network, scores))
    return out


def _fold_std(per_fold: Mapping[str, Any], fns) -> dict[str, float]:
    """Each metric's standard deviation across the folds of ``_per_fold``."""
    return {m: float(np.std([f[m] for f in per_fold.values()])) for m in fns}


def _per_fold(fns, z_phot, z_spec, fold) -> dict[str, Any]:
    return {str(int(f)): {"n_objects": int((fold == f).sum()),
                          **_scores(fns, z_phot[fold == f], z_spec[fold == f])}
            for f in np.unique(fold)}


def evaluate_with_mask(pred: Mapping[str, Any], outlier_threshold: float, mag_i: Any = None,
                       mag_limit: float | None = None, n_bins: int = N_BINS,
                       point_estimate: str = "z_median", all_bands: bool = True
                       ) -> tuple[dict[str, Any], np.ndarray]:
    """:func:`evaluate` and the (N,) bool selection it used, for callers that go on
    to draw the selected objects (the run report) without selecting again."""
    if point_estimate not in pred:
        raise ValueError(f"point estimate {point_estimate!r} is not a column of the predictions; "
                         f"known: {[c for c in POINT_ESTIMATES if c in pred]}")
    mask, selection = select(pred, mag_i, mag_limit, all_bands)
    fns = metrics.metric_functions(outlier_threshold)
    z_spec, z_phot, fold = _columns(pred, mask, point_estimate)
    pdf = pred["pdf"] if mask.all() else pred["pdf"][mask]  # avoid copying (N, B) when all are kept
    out: dict[str, Any] = {"n_objects": int(mask.sum()), **_scores(fns, z_phot, z_spec),
                           "outlier_threshold": float(outlier_threshold),
                           "point_estimate": point_estimate, "selection": selection}
    out["point_estimates"] = {c: _scores(fns, np.asarray(pred[c], dtype=np.float64)[mask], z_spec)
                              for c in POINT_ESTIMATES if c in pred}
    out["per_fold"] = _per_fold(fns, z_phot, z_spec, fold)
    out["fold_std"] = _fold_std(out["per_fold"], fns)
    out["catalogue_baseline"] = catalogue_baseline(pred, mask, fns, out)
    out["binned"] = _binned_variables(pred, mask, mag_i, z_phot, z_spec, fold, fns, n_bins)
    out["pit"] = pit_summary(metrics.pit(pdf, pred["bin_edges"], z_spec))
    out["crps"] = float(np.mean(metrics.crps(pdf, pred["bin_edges"], z_spec)))
    out["n_of_z"] = n_of_z(pdf, pred["bin_edges"], z_spec)
    return out, mask


def evaluate(pred: Mapping[str, Any], outlier_threshold: float, mag_i: Any = None,
             mag_limit: float | None = None, n_bins: int = N_BINS,
             point_estimate: str = "z_median", all_bands: bool = True) -> dict[str, Any]:
    """Metrics of one run: the content of ``metrics.json``.

    Args:
      pred: predictions dict (``read_predictions``); needs 'z_spec'.
      outlier_threshold: |dz| threshold of outliers (0.05 SDSS, 0.15 otherwise).
      mag_i: (N,) i magnitudes in the row order of ``pred`` (default: pred['mag_i']).
      mag_limit: keep only objects with mag_i <= mag_limit (the paper: 24).
      n_bins: equal-count bins of the binned metrics (Fig. 2: 8).
      point_estimate: z_phot column (the paper: the PDF median; for the
        regression-only losses of Table A.1, z_regression).
      all_bands: leave out objects missing a band the model reads (``select``).
    Returns:
      dict: sigma_mad, outlier_fraction (fraction, not %), bias, n_objects,
      outlier_threshold, point_estimate, selection, point_estimates {column:
      metrics}, per_fold {fold: metrics}, fold_std {metric: std across folds},
      binned {'z_spec': ..., 'mag_i': ...} (edges, centers, counts, value and
      '<metric>_std' per bin, distribution), pit (summary), crps (mean, redshift
      units), n_of_z and catalogue_baseline {column: metrics of the classical
      photometric baseline on the same objects, with images_gain}.
    """
    return evaluate_with_mask(pred, outlier_threshold, mag_i, mag_limit, n_bins, point_estimate,
                              all_bands)[0]
