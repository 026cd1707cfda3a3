"""Metrics, figures and Markdown reports of one run, and the baseline-vs-multimodal
comparison of the paper's Table 3 (with Appendix D's paired bootstrap test).

* :func:`evaluate` -> the content of ``metrics.json`` (point estimate z_phot = PDF
  median, Sect. 5.1; optional i <= 24 selection as in Sect. 3.4).
* :func:`write_report` -> ``metrics.json``, ``report.md`` and ``figures/*.png``.
* :func:`compare` / :func:`format_table3` / :func:`write_comparison` ->
  ``comparison.json``, ``comparison.md`` and the Fig. D.1 / Fig. 2 style figures.

Figures use matplotlib's object API (``Figure``, Agg canvas): no pyplot state and
no change of the caller's backend.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from multimodal_photoz import logs, metrics

METRIC_NAMES = ("sigma_mad", "outlier_fraction", "bias")
POINT_ESTIMATES = ("z_median", "z_mean", "z_mode", "z_regression")
PER_OBJECT = ("id", "fold", "pdf", "z_spec", "mag_i", "ebv") + POINT_ESTIMATES
N_BINS = 8  # equal-count bins of Fig. 2
PIT_BINS = 20
PIT_EXTREME = 1e-4  # PIT < 1e-4 or > 1 - 1e-4: the truth is far outside the PDF (RAIL's PIT outliers)
NZ_MAX_BINS = 60  # coarser grid for n(z): readable plot, small JSON
FIGURE_DIR = "figures"
# display scale and label of each metric (Table 3 units)
DISPLAY = {"sigma_mad": (1e3, r"$\sigma_{\rm MAD}$ [$10^{-3}$]"),
           "outlier_fraction": (1e2, r"$\eta$ [%]"),
           "bias": (1e3, r"$\langle\Delta z\rangle$ [$10^{-3}$]")}
X_LABELS = {"mag_i": "i magnitude", "z_spec": r"$z_{\rm spec}$"}


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------

def to_jsonable(obj: Any) -> Any:
    """numpy arrays/scalars -> lists/numbers, NaN/inf -> None, dict keys -> str."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _write_json(path: str, payload: Any) -> str:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(to_jsonable(payload), f, indent=1, allow_nan=False)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------
# Selection and evaluation
# ---------------------------------------------------------------------------

def _mag_i(pred: Mapping[str, Any], mag_i: Any) -> np.ndarray | None:
    """(N,) float64 i magnitudes from the argument, else from the predictions, else None."""
    values = mag_i if mag_i is not None else pred.get("mag_i")
    if values is None:
        return None
    values = np.asarray(values, dtype=np.float64)
    if values.shape != np.shape(pred["id"]):
        raise ValueError(f"mag_i: expected shape {np.shape(pred['id'])} (one per object), got {values.shape}")
    return values


def select(pred: Mapping[str, Any], mag_i: Any = None, mag_limit: float | None = None
           ) -> tuple[np.ndarray, dict[str, Any]]:
    """Objects entering the metrics: known z_spec and, if ``mag_limit``, mag_i <= limit.

    Returns:
      (mask (N,) bool, selection dict for metrics.json).
    """
    if "z_spec" not in pred:
        raise ValueError("predictions have no 'z_spec' field: metrics need spectroscopic redshifts")
    mask = np.isfinite(np.asarray(pred["z_spec"], dtype=np.float64))
    selection: dict[str, Any] = {"n_total": int(mask.size), "n_without_z_spec": int((~mask).sum())}
    if mag_limit is not None:
        mag = _mag_i(pred, mag_i)
        if mag is None:
            raise ValueError(f"mag_limit={mag_limit} needs i magnitudes: pass mag_i or store 'mag_i'")
        keep = np.isfinite(mag) & (mag <= mag_limit)
        selection.update(mag_i_max=float(mag_limit), n_fainter_or_unknown_mag=int((mask & ~keep).sum()))
        mask &= keep
    selection["n_selected"] = int(mask.sum())
    selection["description"] = (f"i <= {mag_limit:g}" if mag_limit is not None else "all") + " objects with z_spec"
    if not mask.any():
        raise ValueError(f"no object passes the selection ({selection['description']})")
    return mask, selection


def _scores(fns: Mapping[str, Any], z_phot: np.ndarray, z_spec: np.ndarray) -> dict[str, float]:
    return {name: float(fn(z_phot, z_spec)) for name, fn in fns.items()}


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

    Both are densities (integral 1 over the grid) on the PDF grid merged into at
    most 60 bins. Returns {'edges', 'true', 'estimated'}.
    """
    factor = max(1, math.ceil((len(bin_edges) - 1) / NZ_MAX_BINS))
    idx = np.unique(np.append(np.arange(0, len(bin_edges), factor), len(bin_edges) - 1))
    edges = np.asarray(bin_edges, dtype=np.float64)[idx]
    mass = np.add.reduceat(np.asarray(pdf, dtype=np.float64).sum(axis=0), idx[:-1])
    width = np.diff(edges)
    counts, _ = np.histogram(np.clip(z_spec, edges[0], edges[-1]), bins=edges)
    return {"edges": edges, "true": counts / counts.sum() / width, "estimated": mass / mass.sum() / width}


def _per_fold(fns, z_phot, z_spec, fold) -> dict[str, Any]:
    return {str(int(f)): {"n_objects": int((fold == f).sum()),
                          **_scores(fns, z_phot[fold == f], z_spec[fold == f])}
            for f in np.unique(fold)}


def evaluate(pred: Mapping[str, Any], outlier_threshold: float, mag_i: Any = None,
             mag_limit: float | None = None, n_bins: int = N_BINS,
             point_estimate: str = "z_median") -> dict[str, Any]:
    """Metrics of one run: the content of ``metrics.json``.

    Args:
      pred: predictions dict (``read_predictions``); needs 'z_spec'.
      outlier_threshold: |dz| threshold of outliers (0.05 SDSS, 0.15 otherwise).
      mag_i: (N,) i magnitudes in the row order of ``pred`` (default: pred['mag_i']).
      mag_limit: keep only objects with mag_i <= mag_limit (the paper: 24).
      n_bins: equal-count bins of the binned metrics (Fig. 2: 8).
      point_estimate: z_phot column (the paper: the PDF median).
    Returns:
      dict: sigma_mad, outlier_fraction (fraction, not %), bias, n_objects,
      outlier_threshold, point_estimate, selection, point_estimates {column:
      metrics}, per_fold {fold: metrics}, fold_std {metric: std across folds},
      binned {'z_spec': ..., 'mag_i': ...} (edges, centers, counts, value and
      '<metric>_std' per bin, distribution), pit (summary), crps (mean, redshift
      units) and n_of_z.
    """
    mask, selection = select(pred, mag_i, mag_limit)
    fns = metrics.metric_functions(outlier_threshold)
    z_spec = np.asarray(pred["z_spec"], dtype=np.float64)[mask]
    z_phot = np.asarray(pred[point_estimate], dtype=np.float64)[mask]
    fold = np.asarray(pred["fold"])[mask]
    pdf = pred["pdf"] if mask.all() else pred["pdf"][mask]
    out: dict[str, Any] = {"n_objects": int(mask.sum()), **_scores(fns, z_phot, z_spec),
                           "outlier_threshold": float(outlier_threshold),
                           "point_estimate": point_estimate, "selection": selection}
    out["point_estimates"] = {c: _scores(fns, np.asarray(pred[c], dtype=np.float64)[mask], z_spec)
                              for c in POINT_ESTIMATES if c in pred}
    out["per_fold"] = _per_fold(fns, z_phot, z_spec, fold)
    out["fold_std"] = {m: float(np.std([f[m] for f in out["per_fold"].values()])) for m in fns}
    mag = _mag_i(pred, mag_i)
    binned = {"z_spec": _binned(z_spec, z_phot, z_spec, fold, fns, n_bins)}
    if mag is not None:
        binned["mag_i"] = _binned(mag[mask], z_phot, z_spec, fold, fns, n_bins)
    out["binned"] = {k: v for k, v in binned.items() if v is not None}
    out["pit"] = pit_summary(metrics.pit(pdf, pred["bin_edges"], z_spec))
    out["crps"] = float(np.mean(metrics.crps(pdf, pred["bin_edges"], z_spec)))
    out["n_of_z"] = n_of_z(pdf, pred["bin_edges"], z_spec)
    return out


# ---------------------------------------------------------------------------
# Figures (one function per figure; each returns the PNG path)
# ---------------------------------------------------------------------------

def _save(fig: Figure, path: str) -> str:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def plot_zphot_zspec(z_spec: np.ndarray, z_phot: np.ndarray, outlier_threshold: float, path: str) -> str:
    """z_phot against z_spec (2-D histogram above 5000 objects), with the 1:1 line
    and the outlier limits |dz| = threshold, i.e. z_phot = z_spec +- t (1 + z_spec)."""
    fig = Figure(figsize=(5.2, 5))
    ax = fig.add_subplot()
    hi = float(max(np.max(z_spec), np.max(z_phot))) * 1.02
    if len(z_spec) > 5000:
        from matplotlib.colors import LogNorm  # noqa: PLC0415

        _, _, _, image = ax.hist2d(z_spec, z_phot, bins=150, range=[[0, hi], [0, hi]], norm=LogNorm(), cmap="viridis")
        fig.colorbar(image, ax=ax, label="objects")
    else:
        ax.scatter(z_spec, z_phot, s=3, alpha=0.5, lw=0)
    grid = np.linspace(0, hi, 100)
    ax.plot(grid, grid, "k-", lw=0.8)
    for sign in (-1, 1):
        ax.plot(grid, grid + sign * outlier_threshold * (1 + grid), "r--", lw=0.8)
    ax.set(xlim=(0, hi), ylim=(0, hi), xlabel=r"$z_{\rm spec}$", ylabel=r"$z_{\rm phot}$ (PDF median)",
           title=f"{len(z_spec)} objects; dashed: |dz| = {outlier_threshold:g}")
    return _save(fig, path)


def plot_binned(runs: Mapping[str, Mapping[str, Any]], path: str) -> str | None:
    """Fig. 2-style panels: each metric (rows) against i magnitude and z_spec
    (columns) in equal-count bins, fold std as error bars, the overall value as a
    dashed line, the x distribution as a grey histogram on a twin axis.

    Args:
      runs: label -> evaluation dict (``evaluate``); several labels overlay runs.
    Returns the path, or None when no variable could be binned (too few objects).
    """
    first = next(iter(runs.values()))
    xs = [x for x in ("mag_i", "z_spec") if first["binned"].get(x)]
    if not xs:
        return None
    fig = Figure(figsize=(5 * len(xs), 3.2 * len(METRIC_NAMES)))
    axes = fig.subplots(len(METRIC_NAMES), len(xs), squeeze=False)
    for col, x in enumerate(xs):
        for row, name in enumerate(METRIC_NAMES):
            ax, (scale, label) = axes[row, col], DISPLAY[name]
            dist = first["binned"][x]["distribution"]
            twin = ax.twinx()
            twin.stairs(dist["counts"], dist["edges"], fill=True, color="0.85", zorder=0)
            twin.set_yticks([])
            ax.set_zorder(twin.get_zorder() + 1)
            ax.patch.set_visible(False)
            for k, (run_label, ev) in enumerate(runs.items()):
                b, color = ev["binned"][x], f"C{k}"
                ax.errorbar(np.asarray(b["centers"], float), np.asarray(b[name], float) * scale,
                            yerr=np.nan_to_num(np.asarray(b[f"{name}_std"], float)) * scale,
                            fmt="o-", ms=4, capsize=3, color=color, label=run_label)
                ax.axhline(ev[name] * scale, color=color, ls="--", lw=0.8)
            ax.set(xlabel=X_LABELS[x], ylabel=label)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_pit(pit: Mapping[str, Any], path: str) -> str:
    """PIT histogram as a density (1 = calibrated), with the KS distance in the title."""
    counts = np.asarray(pit["counts"], dtype=np.float64)
    edges = np.linspace(0, 1, len(counts) + 1)
    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    ax.stairs(counts / counts.sum() * len(counts), edges, fill=True, alpha=0.6)
    ax.axhline(1.0, color="k", ls="--", lw=0.8)
    ax.set(xlabel="PIT", ylabel="density", xlim=(0, 1),
           title=f"KS = {pit['ks_statistic']:.3f}, extreme = {100 * pit['extreme_fraction']:.2f}%")
    return _save(fig, path)


def plot_n_of_z(nz: Mapping[str, Any], path: str) -> str:
    """n(z): z_spec histogram against the sum of the PDFs (both densities)."""
    fig = Figure(figsize=(5.5, 3.5))
    ax = fig.add_subplot()
    edges = np.asarray(nz["edges"], dtype=np.float64)
    ax.stairs(np.asarray(nz["true"], float), edges, fill=True, color="0.8", label=r"true ($z_{\rm spec}$)")
    ax.stairs(np.asarray(nz["estimated"], float), edges, color="C3", lw=1.5, label="estimated (sum of PDFs)")
    ax.set(xlabel="z", ylabel="n(z)", xlim=(edges[0], edges[-1]))
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_training_curves(log_path: str, path: str, keys: Sequence[str] | None = None) -> str | None:
    """Loss (every metric whose name contains 'loss', or ``keys``) against step, one
    line per ensemble member, from a ``log.jsonl``. None if the log has no such metric."""
    records = logs.read_log(log_path)
    keys = list(keys) if keys else sorted({k for r in records for k in r["metrics"] if "loss" in k})
    if not keys:
        return None
    fig = Figure(figsize=(5.5, 3.2 * len(keys)))
    axes = fig.subplots(len(keys), 1, squeeze=False)[:, 0]
    members = sorted({r["member"] for r in records}, key=lambda m: -1 if m is None else m)
    for ax, key in zip(axes, keys):
        for member in members:
            pts = [(r["step"], r["metrics"][key]) for r in records
                   if r["member"] == member and r["metrics"].get(key) is not None]
            if pts:
                steps, values = zip(*pts)
                ax.plot(steps, values, lw=1, label="run" if member is None else f"member {member}")
        ax.set(xlabel="step", ylabel=key)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


# ---------------------------------------------------------------------------
# Run report
# ---------------------------------------------------------------------------

def _fmt(value: Any, scale: float = 1.0, digits: int = 2) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value * scale:.{digits}f}"


def _metrics_table(ev: Mapping[str, Any]) -> list[str]:
    head = ["| | σ_MAD (1e-3) | η (%) | ⟨Δz⟩ (1e-3) | objects |", "|---|---|---|---|---|"]
    rows = [("all (" + ev["point_estimate"] + ")", ev)]
    rows += [(f"point estimate {k}", v | {"n_objects": ev["n_objects"]}) for k, v in ev["point_estimates"].items()
             if k != ev["point_estimate"]]
    rows += [(f"fold {k}", v) for k, v in ev["per_fold"].items()]
    rows += [("std across folds", ev["fold_std"] | {"n_objects": None})]
    return head + [f"| {label} | {_fmt(r['sigma_mad'], 1e3)} | {_fmt(r['outlier_fraction'], 1e2)} | "
                   f"{_fmt(r['bias'], 1e3)} | {r['n_objects'] if r['n_objects'] is not None else '–'} |"
                   for label, r in rows]


def run_figures(fig_dir: str, pred: Mapping[str, Any], ev: Mapping[str, Any], mag_i: Any = None,
                log_path: str | None = None) -> dict[str, str]:
    """Write the figures of one run into ``fig_dir``; returns name -> path."""
    os.makedirs(fig_dir, exist_ok=True)
    mask, _ = select(pred, mag_i, ev["selection"].get("mag_i_max"))
    z_spec = np.asarray(pred["z_spec"], np.float64)[mask]
    z_phot = np.asarray(pred[ev["point_estimate"]], np.float64)[mask]
    paths = {
        "zphot_zspec": plot_zphot_zspec(z_spec, z_phot, ev["outlier_threshold"], os.path.join(fig_dir, "zphot_zspec.png")),
        "binned": plot_binned({"this run": ev}, os.path.join(fig_dir, "binned_metrics.png")),
        "pit": plot_pit(ev["pit"], os.path.join(fig_dir, "pit.png")),
        "n_of_z": plot_n_of_z(ev["n_of_z"], os.path.join(fig_dir, "n_of_z.png")),
    }
    if log_path is not None and os.path.exists(log_path):
        paths["training_curves"] = plot_training_curves(
            log_path, os.path.join(fig_dir, "training_curves.png"))
    return {name: path for name, path in paths.items() if path}


FIGURE_CAPTIONS = {
    "zphot_zspec": "z_phot (PDF median) against z_spec",
    "binned": "Metrics in 8 equal-count bins (error bars: std across folds; dashed: overall)",
    "pit": "PIT histogram",
    "n_of_z": "Redshift distribution: z_spec against the sum of the PDFs",
    "training_curves": "Training curves",
}


def write_report(run_dir: str, pred: Mapping[str, Any], metrics_: Mapping[str, Any], *,
                 mag_i: Any = None, config: Any = None, log_path: str | None = None,
                 title: str | None = None) -> dict[str, str]:
    """Write ``metrics.json``, ``figures/*.png`` and ``report.md`` into ``run_dir``.

    Args:
      pred: predictions dict; metrics_: its ``evaluate`` output.
      mag_i: as given to ``evaluate``; config: run configuration (default:
        pred['attrs']['config']); log_path: a ``log.jsonl`` for training curves
        (default: ``run_dir/log.jsonl`` if present); title: report heading.
    Returns:
      name -> path of every file written.
    """
    run_dir = os.fspath(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    log_path = log_path or os.path.join(run_dir, logs.LOG_FILE)
    figs = run_figures(os.path.join(run_dir, FIGURE_DIR), pred, metrics_, mag_i, log_path)
    config = config if config is not None else pred.get("attrs", {}).get("config", {})
    ev, sel = metrics_, metrics_["selection"]
    lines = [f"# {title or 'Photometric redshift report'}", "",
             f"Selection: {sel['description']} — {ev['n_objects']} of {sel['n_total']} objects. "
             f"Outliers: |Δz| ≥ {ev['outlier_threshold']:g}. Point estimate: {ev['point_estimate']}.", "",
             *_metrics_table(ev), "",
             f"Mean CRPS: {ev['crps']:.5f}. PIT: KS distance to uniform {ev['pit']['ks_statistic']:.4f}, "
             f"extreme fraction {100 * ev['pit']['extreme_fraction']:.3f}%.", ""]
    for name, path in figs.items():
        rel = os.path.relpath(path, run_dir)
        lines += [f"## {FIGURE_CAPTIONS[name]}", "", f"![{name}]({rel})", ""]
    lines += ["## Configuration", "", "```json", json.dumps(to_jsonable(config), indent=1, sort_keys=True), "```", ""]
    paths = {"metrics": _write_json(os.path.join(run_dir, "metrics.json"), metrics_)}
    paths["report"] = os.path.join(run_dir, "report.md")
    with open(paths["report"], "w") as f:
        f.write("\n".join(lines))
    return paths | figs


# ---------------------------------------------------------------------------
# Baseline against multimodal (Table 3, Appendix D)
# ---------------------------------------------------------------------------

def align_by_id(pred_a: Mapping[str, Any], pred_b: Mapping[str, Any],
                names: tuple[str, str] = ("baseline", "multimodal")) -> tuple[np.ndarray, np.ndarray]:
    """Row orders sorting both runs by id; ValueError if they cover different objects."""
    ids_a, ids_b = np.asarray(pred_a["id"]), np.asarray(pred_b["id"])
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
    return {k: (np.asarray(v)[order] if k in PER_OBJECT else v) for k, v in pred.items()}


def _aligned(pred_baseline, pred_multimodal, mag_i):
    order_b, order_m = align_by_id(pred_baseline, pred_multimodal)
    base, multi = _take(pred_baseline, order_b), _take(pred_multimodal, order_m)
    if "z_spec" not in base or "z_spec" not in multi:
        raise ValueError("both runs need 'z_spec' to be compared")
    z_b, z_m = np.asarray(base["z_spec"], np.float64), np.asarray(multi["z_spec"], np.float64)
    differ = ~np.isclose(z_b, z_m, rtol=0, atol=1e-6, equal_nan=True)
    if differ.any():
        i = int(np.argmax(differ))
        raise ValueError(f"z_spec differs between the runs for id {int(base['id'][i])}: {z_b[i]} vs {z_m[i]}")
    mag = _mag_i(pred_baseline, mag_i)
    return base, multi, (None if mag is None else mag[order_b])


def _compare(pred_baseline, pred_multimodal, outlier_threshold, n_resamples, seed, mag_limit, mag_i):
    base, multi, mag = _aligned(pred_baseline, pred_multimodal, mag_i)
    mask, selection = select(base, mag, mag_limit)
    z_spec = np.asarray(base["z_spec"], np.float64)[mask]
    z_b = np.asarray(base["z_median"], np.float64)[mask]
    z_m = np.asarray(multi["z_median"], np.float64)[mask]
    comparison: dict[str, Any] = {}
    boots = {}
    for name, fn in metrics.metric_functions(outlier_threshold).items():
        boot = metrics.paired_bootstrap(fn, z_spec, z_b, z_m, n_resamples=n_resamples, seed=seed)
        boots[name] = boot
        comparison[name] = {
            "baseline": boot.m_baseline, "multimodal": boot.m_multimodal,
            "gain": metrics.gain(boot.m_baseline, boot.m_multimodal), "p_value": boot.p_value,
            "delta": boot.delta_test,
            "delta_boot_quantiles": dict(zip(("q02.5", "q50", "q97.5"),
                                             np.quantile(boot.delta_boot, [0.025, 0.5, 0.975]).tolist())),
        }
    n = int(mask.sum())
    comparison["count"] = {"baseline": n, "multimodal": n, "gain": None, "p_value": None}
    comparison["settings"] = {
        "outlier_threshold": float(outlier_threshold), "n_resamples": int(n_resamples), "seed": int(seed),
        "point_estimate": "z_median", "selection": selection,
        "test": "paired bootstrap (Appendix D): delta = |M_B| - |M_M| (> 0: multimodal better), "
                "p = Freq(delta_boot - delta >= delta)",
    }
    return comparison, boots, (base, multi, mag)


def compare(pred_baseline: Mapping[str, Any], pred_multimodal: Mapping[str, Any],
            outlier_threshold: float, n_resamples: int = 10_000, seed: int = 0,
            mag_limit: float | None = None, mag_i: Any = None) -> dict[str, Any]:
    """Table 3 comparison of two runs on the same objects (aligned by id).

    Args:
      pred_baseline, pred_multimodal: predictions dicts with the same set of ids
        (any row order) and the same z_spec; ValueError otherwise.
      outlier_threshold: |dz| threshold (0.05 SDSS, 0.15 otherwise).
      n_resamples, seed: paired bootstrap (K = 1e4 in the paper).
      mag_limit, mag_i: selection i <= mag_limit; mag_i (N,) in the row order of
        ``pred_baseline`` (default: pred_baseline['mag_i']).
    Returns:
      {'sigma_mad' | 'outlier_fraction' | 'bias': {'baseline', 'multimodal',
      'gain' (eq. 2, > 0: multimodal better), 'p_value', 'delta' (|M_B| - |M_M|),
      'delta_boot_quantiles'}, 'count': {'baseline', 'multimodal', 'gain': None,
      'p_value': None}, 'settings': {...}}.
    """
    return _compare(pred_baseline, pred_multimodal, outlier_threshold, n_resamples, seed, mag_limit, mag_i)[0]


def format_p(p: float) -> str:
    """p-value with at most 4 decimals (K = 1e4 resamples resolve 1e-4): 0.0, 0.0575, 0.15."""
    text = f"{p:.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


TABLE3_COLUMNS = (  # name, header, scale, format
    ("sigma_mad", "σ (10⁻³)", 1e3, "{:05.2f}"),
    ("outlier_fraction", "η (%)", 1e2, "{:.2f}"),
    ("bias", "⟨Δz⟩ (10⁻³)", 1e3, "{:.2f}"),
    ("count", "Count (10³)", 1e-3, "{:.1f}"),
)


def _table3_rows(comparison: Mapping[str, Any], labels: tuple[str, str], alpha: float) -> list[str]:
    cells = {label: [] for label in (*labels, "G(M)", "p_value")}
    for name, _, scale, fmt in TABLE3_COLUMNS:
        entry = comparison[name]
        values = {labels[0]: entry["baseline"], labels[1]: entry["multimodal"]}
        better = None
        if name != "count" and abs(values[labels[0]]) != abs(values[labels[1]]):
            better = min(values, key=lambda k: abs(values[k]))  # bold: smaller |M|, as in the paper
        for label, value in values.items():
            text = fmt.format(value * scale)
            cells[label].append(f"**{text}**" if label == better else text)
        gain, p = entry["gain"], entry["p_value"]
        cells["G(M)"].append("–" if gain is None or not np.isfinite(gain) else f"{100 * gain:.2f}%")
        cells["p_value"].append("–" if p is None else (f"**{format_p(p)}**" if p < alpha else format_p(p)))
    return [f"| {label} | " + " | ".join(row) + " |" for label, row in cells.items()]


def format_table3(comparison: Mapping[str, Any], labels: tuple[str, str] = ("Baseline", "Multimodal"),
                  alpha: float = 0.05) -> str:
    """The paper's Table 3 as a Markdown table.

    σ_MAD and ⟨Δz⟩ in 10⁻³, η in %, count in 10³, G(M) in %; bold marks the better
    model (smaller |M|) and p-values below ``alpha``. ``comparison`` is one
    ``compare`` result or a mapping data-set name -> result (one block each).
    """
    blocks = {"": comparison} if "sigma_mad" in comparison else dict(comparison)
    header = "| Experiment | " + " | ".join(h for _, h, _, _ in TABLE3_COLUMNS) + " |"
    lines = [header, "|---" * (len(TABLE3_COLUMNS) + 1) + "|"]
    for name, comp in blocks.items():
        if name:
            lines.append(f"| **{name}** |" + " |" * len(TABLE3_COLUMNS))
        lines += _table3_rows(comp, labels, alpha)
    return "\n".join(lines) + "\n"


def plot_bootstrap(boots: Mapping[str, Any], path: str) -> str:
    """Fig. D.1: per metric, the bootstrapped delta distribution (green), the same
    shifted by -delta to satisfy H0 (red), and the observed delta (blue line)."""
    fig = Figure(figsize=(4.6 * len(boots), 3.6))
    axes = fig.subplots(1, len(boots), squeeze=False)[0]
    for ax, (name, boot) in zip(axes, boots.items()):
        scale, label = DISPLAY[name]
        both = np.concatenate([boot.delta_boot, boot.delta_null]) * scale
        bins = np.linspace(both.min(), both.max(), 60) if np.ptp(both) > 0 else 10
        ax.hist(boot.delta_boot * scale, bins=bins, color="green", alpha=0.5, label="bootstrapped")
        ax.hist(boot.delta_null * scale, bins=bins, color="red", alpha=0.5, label="shifted (H0)")
        ax.axvline(boot.delta_test * scale, color="blue", lw=1.5, label="observed")
        ax.set(xlabel=r"$|M_B| - |M_M|$ of " + label, ylabel="resamples", title=f"p = {format_p(boot.p_value)}")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def write_comparison(out_dir: str, pred_baseline: Mapping[str, Any], pred_multimodal: Mapping[str, Any],
                     outlier_threshold: float, *, n_resamples: int = 10_000, seed: int = 0,
                     mag_limit: float | None = None, mag_i: Any = None,
                     labels: tuple[str, str] = ("Baseline", "Multimodal"), title: str | None = None
                     ) -> dict[str, Any]:
    """Write ``comparison.json``, ``comparison.md`` (Table 3), ``figures/bootstrap.png``
    (Fig. D.1) and ``figures/binned_overlay.png`` (Fig. 2 with both runs).

    Arguments as in :func:`compare`; returns the comparison dict.
    """
    out_dir = os.fspath(out_dir)
    fig_dir = os.path.join(out_dir, FIGURE_DIR)
    os.makedirs(fig_dir, exist_ok=True)
    comparison, boots, (base, multi, mag) = _compare(pred_baseline, pred_multimodal, outlier_threshold,
                                                      n_resamples, seed, mag_limit, mag_i)
    runs = {label: evaluate(p, outlier_threshold, mag, mag_limit) for label, p in zip(labels, (base, multi))}
    figs = {"bootstrap": plot_bootstrap(boots, os.path.join(fig_dir, "bootstrap.png")),
            "binned_overlay": plot_binned(runs, os.path.join(fig_dir, "binned_overlay.png"))}
    _write_json(os.path.join(out_dir, "comparison.json"), comparison)
    sel = comparison["settings"]["selection"]
    text = [f"# {title or 'Baseline against multimodal'}", "",
            f"{sel['description']}: {comparison['count']['baseline']} objects; outliers |Δz| ≥ "
            f"{outlier_threshold:g}; paired bootstrap with {n_resamples} resamples (seed {seed}).", "",
            format_table3(comparison, labels), ""]
    text += [f"![{name}]({os.path.relpath(p, out_dir)})\n" for name, p in figs.items() if p]
    with open(os.path.join(out_dir, "comparison.md"), "w") as f:
        f.write("\n".join(text))
    return comparison
