"""The report of one run: ``metrics.json``, ``figures/*.png`` and ``report.md``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from multimodal_photoz import files, logs
from multimodal_photoz.report import convergence, evaluation, figures

FIGURE_CAPTIONS = {
    "zphot_zspec": "z_phot (PDF median) against z_spec",
    "binned": "Metrics in 8 equal-count bins, this run and the catalogue baseline "
              "(error bars: std across folds; dashed: overall)",
    "pit": "PIT histogram",
    "n_of_z": "Redshift distribution: z_spec against the sum of the PDFs",
    "training_curves": "Training curves (loss: training batches; val_loss: held-out objects)",
}


def _fmt(value: Any, scale: float = 1.0, digits: int = 2) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value * scale:.{digits}f}"


def _metrics_table(ev: Mapping[str, Any]) -> list[str]:
    head = ["| | σ_MAD (1e-3) | η (%) | ⟨Δz⟩ (1e-3) | objects |", "|---|---|---|---|---|"]
    rows = [("all (" + ev["point_estimate"] + ")", ev)]
    rows += [(f"point estimate {k}", v | {"n_objects": ev["n_objects"]}) for k, v in ev["point_estimates"].items()
             if k != ev["point_estimate"]]
    rows += [(c["label"], c | {"n_objects": ev["n_objects"]})
             for c in (ev.get("catalogue_baseline") or {}).values()]
    rows += [(f"fold {k}", v) for k, v in ev["per_fold"].items()]
    rows += [("std across folds", ev["fold_std"] | {"n_objects": None})]
    return head + [f"| {label} | {_fmt(r['sigma_mad'], 1e3)} | {_fmt(r['outlier_fraction'], 1e2)} | "
                   f"{_fmt(r['bias'], 1e3)} | {r['n_objects'] if r['n_objects'] is not None else '–'} |"
                   for label, r in rows]


def _run_figures(fig_dir: str, pred: Mapping[str, Any], ev: Mapping[str, Any], mask: np.ndarray,
                 log_path: str) -> dict[str, str]:
    """Write the figures of one run into ``fig_dir``; returns name -> path."""
    os.makedirs(fig_dir, exist_ok=True)
    z_spec = np.asarray(pred["z_spec"], np.float64)[mask]
    z_phot = np.asarray(pred[ev["point_estimate"]], np.float64)[mask]
    paths = {
        "zphot_zspec": figures.plot_zphot_zspec(z_spec, z_phot, ev["outlier_threshold"],
                                                os.path.join(fig_dir, "zphot_zspec.png")),
        "binned": figures.plot_binned(
            {"this run": ev, **{c["label"]: evaluation.binned_summary(
                pred, mask, ev["outlier_threshold"], point_estimate=column)
                for column, c in (ev.get("catalogue_baseline") or {}).items()}},
            os.path.join(fig_dir, "binned_metrics.png")),
        "pit": figures.plot_pit(ev["pit"], os.path.join(fig_dir, "pit.png")),
        "n_of_z": figures.plot_n_of_z(ev["n_of_z"], os.path.join(fig_dir, "n_of_z.png")),
    }
    if os.path.exists(log_path):
        paths["training_curves"] = figures.plot_training_curves(
            log_path, os.path.join(fig_dir, "training_curves.png"))
    return {name: path for name, path in paths.items() if path}


def images_line(ev: Mapping[str, Any]) -> list[str]:
    """One line: what the images add over the best catalogue method (by sigma_MAD)."""
    methods = ev.get("catalogue_baseline") or {}
    if not methods:
        return []
    best = min(methods.values(), key=lambda c: c["sigma_mad"])
    gain = best["images_gain"]
    verdict = ("better than" if gain["sigma_mad"] > 0 and gain["outlier_fraction"] > 0 else
               "worse than" if gain["sigma_mad"] < 0 and gain["outlier_fraction"] < 0 else
               "mixed against")
    return [f"**What the images add:** this network is {verdict} the best catalogue method "
            f"({best['label']}, photometry of the same stamps): σ_MAD {_fmt(ev['sigma_mad'], 1e3)} "
            f"vs {_fmt(best['sigma_mad'], 1e3)} (1e-3, gain {_fmt(gain['sigma_mad'], 1e2, 1)}%), "
            f"η {_fmt(ev['outlier_fraction'], 1e2)}% vs {_fmt(best['outlier_fraction'], 1e2)}% "
            f"(gain {_fmt(gain['outlier_fraction'], 1e2, 1)}%).", ""]


def _left_out(sel: Mapping[str, Any]) -> list[str]:
    """One line per reason objects are not evaluated, with its count."""
    reasons = {"n_without_z_spec": "without a spectroscopic redshift",
               "n_fainter_or_unknown_mag": "fainter than the magnitude limit or without i",
               "n_missing_bands": "missing a band the model reads (not evaluated with "
                                  "zero-filled bands; the paper's HSC-9b selection)"}
    lines = [f"- left out: {sel[key]} objects {text}" for key, text in reasons.items()
             if sel.get(key)]
    return lines + [""] if lines else []


def _report_text(ev: Mapping[str, Any], figs: Mapping[str, str], run_dir: str, config: Any,
                 title: str | None) -> str:
    sel = ev["selection"]
    lines = [f"# {title or 'Photometric redshift report'}", "",
             f"Selection: {sel['description']} — {ev['n_objects']} of {sel['n_total']} objects. "
             f"Outliers: |Δz| ≥ {ev['outlier_threshold']:g}. Point estimate: {ev['point_estimate']}.", "",
             *_left_out(sel), *(list(ev.get("notes") or ()) + [""] if ev.get("notes") else []),
             *images_line(ev), *_metrics_table(ev), "",
             f"Mean CRPS: {ev['crps']:.5f}. PIT: KS distance to uniform {ev['pit']['ks_statistic']:.4f}, "
             f"extreme fraction {100 * ev['pit']['extreme_fraction']:.3f}%.", ""]
    for name, path in figs.items():
        rel = os.path.relpath(path, run_dir)  # relative links: the folder can move
        lines += [f"## {FIGURE_CAPTIONS[name]}", "", f"![{name}]({rel})", ""]
    lines += ["## Configuration", "", "```json",
              json.dumps(files.to_jsonable(config), indent=1, sort_keys=True), "```", ""]
    return "\n".join(lines)


def write_report(run_dir: str, pred: Mapping[str, Any], metrics_: Mapping[str, Any], *,
                 mag_i: Any = None, config: Any = None, log_path: str | None = None,
                 title: str | None = None, mask: np.ndarray | None = None) -> dict[str, str]:
    """Write ``metrics.json``, ``figures/*.png`` and ``report.md`` into ``run_dir``.

    Args:
      pred: predictions dict; metrics_: its ``evaluate`` output.
      mag_i: as given to ``evaluate``; config: run configuration (default:
        pred['attrs']['config']); log_path: a ``log.jsonl`` for training curves
        (default: ``run_dir/log.jsonl`` if present); title: report heading.
      mask: (N,) bool selection of ``metrics_`` (``evaluate_with_mask``); default:
        rebuilt from ``metrics_['selection']``.
    Returns:
      name -> path of every file written.
    """
    run_dir = os.fspath(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    if mask is None:
        mask = evaluation.selection_mask(pred, metrics_["selection"], mag_i)
    elif int(np.sum(mask)) != metrics_["n_objects"]:
        raise ValueError(f"mask selects {int(np.sum(mask))} objects, the metrics {metrics_['n_objects']}")
    log_path = log_path or os.path.join(run_dir, logs.LOG_FILE)
    figs = _run_figures(os.path.join(run_dir, figures.FIGURE_DIR), pred, metrics_, mask, log_path)
    config = config if config is not None else pred.get("attrs", {}).get("config", {})
    text = _report_text(metrics_, figs, run_dir, config, title)
    paths = {"metrics": files.write_json(os.path.join(run_dir, "metrics.json"), metrics_),
             "report": files.write_text(os.path.join(run_dir, "report.md"), text)}
    return paths | figs


def write_run_report(run_dir: str, pred: Mapping[str, Any], *, outlier_threshold: float,
                     mag_limit: float | None = None, config: Any = None, log_path: str | None = None,
                     title: str | None = None, point_estimate: str = "z_median",
                     all_bands: bool = True, extra: Mapping[str, Any] | None = None
                     ) -> dict[str, Any]:
    """Evaluate a run once and write its ``metrics.json``, figures and ``report.md``.

    Args:
      run_dir: the run's folder; pred: predictions dict (needs 'z_spec').
      outlier_threshold, mag_limit: as in ``evaluate`` (i magnitudes from pred['mag_i']).
      config, log_path, title: as in :func:`write_report`.
      point_estimate, all_bands: as in ``evaluate``.
      extra: more entries for ``metrics.json``; a ``notes`` list is also printed
        in report.md. With a training log, ``convergence`` (``report.convergence.check``)
        is added and members still learning at the end are noted.
    Returns:
      the metrics dict (the content of ``metrics.json``).
    """
    metrics_, mask = evaluation.evaluate_with_mask(pred, outlier_threshold, mag_limit=mag_limit,
                                                   point_estimate=point_estimate,
                                                   all_bands=all_bands)
    metrics_.update(extra or {})
    log_path = log_path or os.path.join(os.fspath(run_dir), logs.LOG_FILE)
    if os.path.exists(log_path):  # a training run: did every member finish learning?
        metrics_["convergence"] = convergence.check(logs.read_log(log_path))
        metrics_["notes"] = (list(metrics_.get("notes") or [])
                             + convergence.notes(metrics_["convergence"]))
    write_report(run_dir, pred, metrics_, config=config, log_path=log_path, title=title, mask=mask)
    return metrics_
