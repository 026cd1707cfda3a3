"""Figures of a run and of a comparison: one function per figure, each writing one
PNG atomically and returning its path.

matplotlib's object API (``Figure``, Agg canvas): no pyplot state and no change of
the caller's backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from multimodal_photoz import files, logs
from multimodal_photoz.report.evaluation import METRIC_NAMES
from multimodal_photoz.report.table3 import describe_test, format_p

FIGURE_DIR = "figures"  # folder of the PNGs inside a run's or a comparison's folder
# display scale and label of each metric (Table 3 units)
DISPLAY = {"sigma_mad": (1e3, r"$\sigma_{\rm MAD}$ [$10^{-3}$]"),
           "outlier_fraction": (1e2, r"$\eta$ [%]"),
           "bias": (1e3, r"$\langle\Delta z\rangle$ [$10^{-3}$]")}
X_LABELS = {"mag_i": "i magnitude", "z_spec": r"$z_{\rm spec}$"}


def _save(fig: Figure, path: str) -> str:
    with files.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    return path


def plot_zphot_zspec(z_spec: np.ndarray, z_phot: np.ndarray, outlier_threshold: float, path: str) -> str:
    """z_phot against z_spec (2-D histogram above 5000 objects), with the 1:1 line
    and the outlier limits |dz| = threshold, i.e. z_phot = z_spec +- t (1 + z_spec).

    z_spec, z_phot: (n,) redshifts of the selected objects.
    """
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
      runs: label -> ``evaluate`` or ``binned_summary`` dict (overall metrics and
        'binned'); several labels overlay runs, the first one's x distribution shown.
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


def plot_bootstrap(boots: Mapping[str, Any], path: str) -> str:
    """Fig. D.1: per metric, the bootstrapped delta distribution (green), the same
    shifted by -delta to satisfy H0 (red), and the observed delta (blue line);
    the title gives the p-value and the H1 it tests (``boot.tested``).

    Args:
      boots: metric name -> ``metrics.paired_bootstrap`` result (deltas in redshift units).
    """
    fig = Figure(figsize=(4.6 * len(boots), 3.6))
    axes = fig.subplots(1, len(boots), squeeze=False)[0]
    for ax, (name, boot) in zip(axes, boots.items()):
        scale, label = DISPLAY[name]
        both = np.concatenate([boot.delta_boot, boot.delta_null]) * scale
        bins = np.linspace(both.min(), both.max(), 60) if np.ptp(both) > 0 else 10
        ax.hist(boot.delta_boot * scale, bins=bins, color="green", alpha=0.5, label="bootstrapped")
        ax.hist(boot.delta_null * scale, bins=bins, color="red", alpha=0.5, label="shifted (H0)")
        ax.axvline(boot.delta_test * scale, color="blue", lw=1.5, label="observed")
        ax.set(xlabel=r"$|M_B| - |M_M|$ of " + label + "\n(> 0: multimodal better)", ylabel="resamples",
               title=f"p = {format_p(boot.p_value)}\n{describe_test(boot.alternative, boot.tested)}")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)
