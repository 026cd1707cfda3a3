"""Baseline against multimodal on the same objects: the paper's Table 3 with
Appendix D's paired bootstrap test, written as ``comparison.json``,
``comparison.md`` and the Fig. D.1 / Fig. 2 style figures.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from multimodal_photoz import files, metrics
from multimodal_photoz.data.format import ids as id_kinds
from multimodal_photoz.report import evaluation, figures
from multimodal_photoz.report.table3 import SIDES, format_p, format_table3  # noqa: F401  (format_p: re-export)


def align_by_id(pred_a: Mapping[str, Any], pred_b: Mapping[str, Any],
                names: tuple[str, str] = ("baseline", "multimodal")) -> tuple[np.ndarray, np.ndarray]:
    """(N,) row orders sorting both runs by id; ValueError if they cover different objects
    (or one has integer ids and the other text ids)."""
    ids_a, ids_b = np.asarray(pred_a["id"]), np.asarray(pred_b["id"])
    kinds = id_kinds.kind_of(ids_a), id_kinds.kind_of(ids_b)
    if kinds[0] != kinds[1]:
        raise ValueError(f"the {names[0]} run has {kinds[0]} ids, the {names[1]} run {kinds[1]} "
                         "ids: they cover different objects; compare runs on the same data set")
    only_a, only_b = np.setdiff1d(ids_a, ids_b), np.setdiff1d(ids_b, ids_a)
    if len(ids_a) != len(ids_b) or only_a.size or only_b.size:
        raise ValueError(
            f"the {names[0]} run ({len(ids_a)} objects) and the {names[1]} run ({len(ids_b)} objects) "
            f"cover different object ids: {only_a.size} only in {names[0]} (e.g. {only_a[:5].tolist()}), "
            f"{only_b.size} only in {names[1]} (e.g. {only_b[:5].tolist()}); compare runs on the same data set")
    order_a, order_b = np.argsort(ids_a, kind="stable"), np.argsort(ids_b, kind="stable")
    if not np.array_equal(ids_a[order_a], ids_b[order_b]):
        raise ValueError(f"duplicate ids in the {names[0]} or {names[1]} run")
    return order_a, order_b


def _take(pred: Mapping[str, Any], order: np.ndarray) -> dict[str, Any]:
    """Per-object columns reordered (other entries, e.g. bin_edges, kept)."""
    return {k: (np.asarray(v)[order] if k in evaluation.PER_OBJECT else v) for k, v in pred.items()}


def _aligned(pred_baseline, pred_multimodal, mag_i):
    """Both runs sorted by id and checked for equal z_spec, and the i magnitudes in that order."""
    order_b, order_m = align_by_id(pred_baseline, pred_multimodal)
    base, multi = _take(pred_baseline, order_b), _take(pred_multimodal, order_m)
    if "z_spec" not in base or "z_spec" not in multi:
        raise ValueError("both runs need 'z_spec' to be compared")
    z_b, z_m = np.asarray(base["z_spec"], np.float64), np.asarray(multi["z_spec"], np.float64)
    differ = ~np.isclose(z_b, z_m, rtol=0, atol=1e-6, equal_nan=True)
    if differ.any():
        i = int(np.argmax(differ))
        obj = id_kinds.canonical(base["id"][i])
        raise ValueError(f"z_spec differs between the runs for id {obj}: {z_b[i]} vs {z_m[i]}")
    mag = evaluation.mag_i_values(pred_baseline, mag_i)
    return base, multi, (None if mag is None else mag[order_b])


def _compare(pred_baseline, pred_multimodal, outlier_threshold, n_resamples, seed, mag_limit, mag_i,
             alternative, point_estimates=("z_median", "z_median"), all_bands=True):
    """The comparison dict, the bootstrap results and (base, multi, mag, mask): the
    aligned runs and their common selection, for the figures."""
    base, multi, mag = _aligned(pred_baseline, pred_multimodal, mag_i)
    # one selection for both runs: their z_spec agree (NaN included) and mag_i is the baseline's
    mask, selection = evaluation.select(base, mag, mag_limit, all_bands)
    z_spec = np.asarray(base["z_spec"], np.float64)[mask]
    z_b = np.asarray(base[point_estimates[0]], np.float64)[mask]
    z_m = np.asarray(multi[point_estimates[1]], np.float64)[mask]
    comparison: dict[str, Any] = {}
    boots = {}
    for name, fn in metrics.metric_functions(outlier_threshold).items():
        boot = metrics.paired_bootstrap(fn, z_spec, z_b, z_m, n_resamples=n_resamples, seed=seed,
                                        alternative=alternative)
        boots[name] = boot
        comparison[name] = {
            "baseline": boot.m_baseline, "multimodal": boot.m_multimodal,
            "gain": metrics.gain(boot.m_baseline, boot.m_multimodal), "p_value": boot.p_value,
            "tested": boot.tested, "delta": boot.delta_test,
            "delta_boot_quantiles": dict(zip(("q02.5", "q50", "q97.5"),
                                             np.quantile(boot.delta_boot, [0.025, 0.5, 0.975]).tolist())),
        }
    n = int(mask.sum())
    comparison["count"] = {"baseline": n, "multimodal": n, "gain": None, "p_value": None}
    comparison["catalogue_baseline"] = {
        column: {**scores, "count": n} for column, scores in evaluation.catalogue_scores(
            base, mask, metrics.metric_functions(outlier_threshold)).items()}
    comparison["settings"] = {
        "outlier_threshold": float(outlier_threshold), "n_resamples": int(n_resamples), "seed": int(seed),
        "point_estimate": dict(zip(("baseline", "multimodal"), point_estimates)),
        "selection": selection, "alternative": alternative,
        "test": "paired bootstrap (Appendix D): delta = |M_B| - |M_M| (> 0: multimodal better), "
                "null = delta_boot - delta; p = Freq(null >= delta) for H1 multimodal better (eq. D.3), "
                "Freq(null <= delta) for H1 baseline better; 'observed': the H1 of the sign of delta "
                "(p = 1 if delta = 0); 'two-sided': min(1, 2 p_observed)",
    }
    return comparison, boots, (base, multi, mag, mask)


def compare(pred_baseline: Mapping[str, Any], pred_multimodal: Mapping[str, Any],
            outlier_threshold: float, n_resamples: int = metrics.N_RESAMPLES, seed: int = 0,
            mag_limit: float | None = None, mag_i: Any = None,
            alternative: str = "observed",
            point_estimates: tuple[str, str] = ("z_median", "z_median"),
            all_bands: bool = True) -> dict[str, Any]:
    """Table 3 comparison of two runs on the same objects (aligned by id).

    Args:
      pred_baseline, pred_multimodal: predictions dicts with the same set of ids
        (any row order) and the same z_spec; ValueError otherwise.
      outlier_threshold: |dz| threshold (0.05 SDSS, 0.15 otherwise).
      n_resamples, seed: paired bootstrap (K = 1e4 in the paper).
      mag_limit, mag_i: selection i <= mag_limit; mag_i (N,) in the row order of
        ``pred_baseline`` (default: pred_baseline['mag_i']).
      alternative: H1 of the test, one of ``metrics.ALTERNATIVES`` (default: the
        direction observed on the test set, as in Table 3).
      point_estimates: the z_phot column of each run (each run's own: the PDF
        median, or z_regression for the regression-only losses of Table A.1).
      all_bands: leave out objects missing a band the models read (``select``).
    Returns:
      {'sigma_mad' | 'outlier_fraction' | 'bias': {'baseline', 'multimodal',
      'gain' (eq. 2, > 0: multimodal better), 'p_value', 'tested' (the H1 of the
      p-value: 'multimodal_better', 'baseline_better', 'two-sided' or 'none'),
      'delta' (|M_B| - |M_M|), 'delta_boot_quantiles'}, 'count': {'baseline',
      'multimodal', 'gain': None, 'p_value': None}, 'catalogue_baseline': {column:
      {label, sigma_mad, outlier_fraction, bias, count}} (the classical photometric
      baseline on the same objects), 'settings': {..., 'alternative'}}.
    """
    return _compare(pred_baseline, pred_multimodal, outlier_threshold, n_resamples, seed, mag_limit, mag_i,
                    alternative, point_estimates, all_bands)[0]


def write_comparison(out_dir: str, pred_baseline: Mapping[str, Any], pred_multimodal: Mapping[str, Any],
                     outlier_threshold: float, *, n_resamples: int = metrics.N_RESAMPLES, seed: int = 0,
                     mag_limit: float | None = None, mag_i: Any = None, alternative: str = "observed",
                     labels: tuple[str, str] = ("Baseline", "Multimodal"), title: str | None = None,
                     point_estimates: tuple[str, str] = ("z_median", "z_median"),
                     all_bands: bool = True) -> dict[str, Any]:
    """Write ``comparison.json``, ``comparison.md`` (Table 3), ``figures/bootstrap.png``
    (Fig. D.1) and ``figures/binned_overlay.png`` (Fig. 2 with both runs).

    Arguments as in :func:`compare`; returns the comparison dict.
    """
    out_dir = os.fspath(out_dir)
    fig_dir = os.path.join(out_dir, figures.FIGURE_DIR)
    os.makedirs(fig_dir, exist_ok=True)
    comparison, boots, (base, multi, mag, mask) = _compare(pred_baseline, pred_multimodal, outlier_threshold,
                                                            n_resamples, seed, mag_limit, mag_i,
                                                            alternative, point_estimates,
                                                            all_bands)
    # the overlay needs only the overall and binned metrics of each run, on the selection above
    runs = {label: evaluation.binned_summary(p, mask, outlier_threshold, mag, point_estimate=pe)
            for label, p, pe in zip(labels, (base, multi), point_estimates)}
    runs |= {c["label"]: evaluation.binned_summary(base, mask, outlier_threshold, mag,
                                                   point_estimate=column)
             for column, c in comparison["catalogue_baseline"].items()}
    figs = {"bootstrap": figures.plot_bootstrap(boots, os.path.join(fig_dir, "bootstrap.png")),
            "binned_overlay": figures.plot_binned(runs, os.path.join(fig_dir, "binned_overlay.png"))}
    files.write_json(os.path.join(out_dir, "comparison.json"), comparison)
    sel = comparison["settings"]["selection"]
    text = [f"# {title or 'Baseline against multimodal'}", "",
            f"{sel['description']}: {comparison['count']['baseline']} objects; outliers |Δz| ≥ "
            f"{outlier_threshold:g}; paired bootstrap with {n_resamples} resamples (seed {seed}), "
            f"p-values {SIDES[alternative]}.", "",
            format_table3(comparison, labels), ""]
    text += [f"![{name}]({os.path.relpath(p, out_dir)})\n" for name, p in figs.items() if p]
    files.write_text(os.path.join(out_dir, "comparison.md"), "\n".join(text))
    return comparison
