"""The paper's Table 3 as Markdown: a ``compare`` result (or one per data set)
in the paper's units, and the p-value format that Fig. D.1 shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


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
