"""Markdown tables in the paper's units (those of Table 3: σ_MAD and ⟨Δz⟩ in 10⁻³,
η in %, counts in 10³), from metrics dicts (``metrics.json`` content: fractions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from multimodal_photoz.report import TABLE3_COLUMNS

METRICS = tuple(c for c in TABLE3_COLUMNS if c[0] != "count")  # (name, header, scale, format)
GAIN_HEADERS = {"sigma_mad": "σ", "outlier_fraction": "η", "bias": "⟨Δz⟩"}


def cell(metrics: Mapping[str, Any], name: str) -> str:
    """One metric in the paper's units; ``–`` where unknown."""
    _, _, scale, fmt = next(c for c in TABLE3_COLUMNS if c[0] == name)
    value = metrics.get(name)
    return "–" if value is None or not np.isfinite(value) else fmt.format(value * scale)


def _best(rows: Mapping[str, Mapping[str, Any]], name: str, eligible: set[str]) -> set[str]:
    """Labels with the smallest |value| of ``name`` among ``eligible`` rows (the paper's bold)."""
    values = {k: abs(r[name]) for k, r in rows.items()
              if k in eligible and r.get(name) is not None and np.isfinite(r[name])}
    if len(set(values.values())) < 2:  # one row, or a tie of every row: nothing stands out
        return set()
    low = min(values.values())
    return {k for k, v in values.items() if v == low}


def metrics_table(blocks: Mapping[str, Mapping[str, Mapping[str, Any]]],
                  bold: Sequence[str] | None = None, point_estimate: bool = False) -> str:
    """Blocks of rows ``label -> metrics`` as the paper's Tables 2, A.1.

    Args:
      blocks: block title (a sub-heading row; "" for none) -> label -> metrics
        (``sigma_mad``, ``outlier_fraction``, ``bias`` as fractions, optional
        ``n_objects``, ``point_estimate``).
      bold: labels that compete for the bold best value (default: every row).
      point_estimate: add the z_phot column scored (Table A.1's regression rows).
    """
    header = ["Experiment", *(h for _, h, _, _ in METRICS), "Count (10³)"]
    header += ["z_phot"] if point_estimate else []
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for title, rows in blocks.items():
        if title:
            lines.append(f"| **{title}** |" + " |" * (len(header) - 1))
        eligible = set(rows) if bold is None else set(bold) & set(rows)
        best = {name: _best(rows, name, eligible) for name, *_ in METRICS}
        for label, m in rows.items():
            cells = [f"**{cell(m, n)}**" if label in best[n] else cell(m, n) for n, *_ in METRICS]
            count = m.get("n_objects")
            cells.append("–" if count is None else f"{count * 1e-3:.1f}")
            cells += [str(m.get("point_estimate", "–"))] if point_estimate else []
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def gain_table(x_name: str, points: Sequence[Mapping[str, Any]], names: Sequence[str]) -> str:
    """One row per x: baseline, multimodal and G(M) (eq. 2, %) of each metric.

    points: ``{"x", "baseline": metrics, "multimodal": metrics, "gain": {name: G}}``.
    """
    header = [x_name]
    for n in names:
        header += [f"{GAIN_HEADERS[n]} baseline", f"{GAIN_HEADERS[n]} multimodal",
                   f"G({GAIN_HEADERS[n]})"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for p in points:
        cells = [str(p["x"])]
        for n in names:
            g = p["gain"].get(n)
            cells += [cell(p["baseline"], n), cell(p["multimodal"], n),
                      "–" if g is None or not np.isfinite(g) else f"{100 * g:.2f}%"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
