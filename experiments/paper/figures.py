"""The figures of the paper that are not Fig. 2-style overlays (those are
``multimodal_photoz.report.plot_binned``): the gain of multimodality against a
setting (Figs. 6-8) and the modality-dropout ranking (Fig. 10).

matplotlib's object API (``Figure``); each function writes one PNG atomically
and returns its path. Metrics come as fractions (``metrics.json``) and are drawn
in the paper's units (σ_MAD 10⁻³, η %).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from multimodal_photoz import files
from multimodal_photoz.report.figures import DISPLAY

# Fig. 10's reference lines: dash-dot cyan (baseline), black (multimodal), dark red (no drop)
REFERENCE_COLORS = ("c", "k", "darkred")
SINGLE_BAND_COLOR = "0.6"


def _save(fig: Figure, path: str) -> str:
    with files.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    return path


def plot_gain(points: Sequence[Mapping[str, Any]], names: Sequence[str], x_name: str,
              path: str) -> str:
    """Figs. 6-8: per metric (columns), the baseline and multimodal values (top,
    grouped bars) and the gain G(M) = (|M_B| - |M_M|)/|M_B| in % (bottom) per x.

    Args:
      points: ``{"x": label, "baseline": metrics, "multimodal": metrics,
        "gain": {metric: G}}`` in x order.
      names: metrics to draw (``sigma_mad``, ``outlier_fraction``).
      x_name: the x axis (``bands``, ``backbone``, ``training set``).
    """
    x = np.arange(len(points))
    labels = [str(p["x"]) for p in points]
    fig = Figure(figsize=(max(4.5, 1.1 * len(points) + 2) * len(names), 6.4))
    axes = fig.subplots(2, len(names), squeeze=False, sharex=True)
    for col, name in enumerate(names):
        scale, label = DISPLAY[name]
        top, bottom = axes[0, col], axes[1, col]
        for k, side in enumerate(("baseline", "multimodal")):
            values = [np.nan if p[side].get(name) is None else p[side][name] * scale
                      for p in points]
            top.bar(x + (k - 0.5) * 0.38, values, width=0.38, color=f"C{k}", label=side)
        gains = [np.nan if p["gain"].get(name) is None else 100 * p["gain"][name] for p in points]
        bottom.bar(x, gains, width=0.5, color=["C2" if g >= 0 else "C3" for g in gains])
        bottom.axhline(0, color="k", lw=0.8)
        top.set(ylabel=label)
        bottom.set(ylabel=f"G({label.split(' [')[0]}) [%]", xlabel=x_name)
        bottom.set_xticks(x, labels, rotation=20 if len(points) > 4 else 0)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _binned_sigma(metrics: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """(centers, sigma_MAD) of the z_spec bins, None if the run had too few objects."""
    b = (metrics.get("binned") or {}).get("z_spec")
    if not b:
        return None
    return np.asarray(b["centers"], float), np.asarray(b["sigma_mad"], float)


def _z_distribution(ax, lines: Mapping[str, Mapping[str, Any]]) -> None:
    """Grey histogram of the test sample's z_spec on a twin axis (first binned run)."""
    for metrics in lines.values():
        b = (metrics.get("binned") or {}).get("z_spec")
        if b and b.get("distribution"):
            twin = ax.twinx()
            d = b["distribution"]
            twin.stairs(d["counts"], d["edges"], fill=True, color="0.88", zorder=0)
            twin.set_yticks([])
            ax.set_zorder(twin.get_zorder() + 1)
            ax.patch.set_visible(False)
            return


def plot_dropout(references: Mapping[str, Mapping[str, Any]],
                 ranked: Sequence[tuple[str, Mapping[str, Any]]], path: str) -> str:
    """Fig. 10: σ_MAD against z_spec (left) and overall σ_MAD (right, one horizontal
    line per experiment) with one modality dropped at a time.

    Args:
      references: label -> metrics of the reference runs (baseline, multimodal,
        dropout model with nothing dropped), drawn dash-dot.
      ranked: (dropped modality, metrics), ranked by σ_MAD; single-band
        modalities (no ``_`` in the name) in grey, the others in colour.
    """
    scale, label = DISPLAY["sigma_mad"]
    styles = {name: dict(color=REFERENCE_COLORS[k % 3], ls="-.")
              for k, name in enumerate(references)}
    colors = iter(f"C{k % 10}" for k in range(len(ranked)))
    for name, _ in ranked:
        color = SINGLE_BAND_COLOR if "_" not in name else next(colors)
        styles[f"{name} dropped"] = dict(color=color, ls="-")
    lines = {**references, **{f"{name} dropped": m for name, m in ranked}}
    fig = Figure(figsize=(11, 5.5))
    left, right = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 1]})
    _z_distribution(left, lines)
    shift = 0.004 * np.arange(len(lines)) - 0.002 * (len(lines) - 1)  # spread the points
    for k, (name, metrics) in enumerate(lines.items()):
        binned = _binned_sigma(metrics)
        if binned is not None:
            centers, sigma = binned
            left.plot(centers * (1 + shift[k]), sigma * scale, marker="o", ms=3, lw=1,
                      label=name, **styles[name])
        right.axhline(metrics["sigma_mad"] * scale, lw=1.5, **styles[name])
        right.text(1.02, metrics["sigma_mad"] * scale, name, fontsize=6, va="center",
                   transform=right.get_yaxis_transform(), color=styles[name]["color"])
    left.set(xlabel=r"$z_{\rm spec}$", ylabel=label)
    left.legend(fontsize=7, ncol=2)
    right.set(xticks=[], title="whole sample")
    fig.tight_layout()
    return _save(fig, path)
