"""The paper's Table 3 as Markdown: a ``compare`` result (or one per data set)
in the paper's units, and the p-value format and test names that Fig. D.1 shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from multimodal_photoz.metrics.bootstrap import NO_DIFFERENCE


def format_p(p: float) -> str:
    """p-value with at most 4 decimals (K = 1e4 resamples resolve 1e-4): 0.0, 0.0575, 0.15."""
    text = f"{p:.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


# what each p-value tests (``PairedBootstrap.tested``): words, and the mark of its Table 3 cell
TESTED_WORDS = {"multimodal_better": "H1: multimodal better", "baseline_better": "H1: baseline better",
                "two-sided": "two-sided", NO_DIFFERENCE: "equal on the test set, p = 1"}
TESTED_MARKS = {"baseline_better": "†", NO_DIFFERENCE: "‡"}
SIDES = {"observed": "one-sided in the observed direction", "multimodal_better": "one-sided",
         "baseline_better": "one-sided",
         "two-sided": "two-sided (2 × the one-sided p in the observed direction, at most 1)"}


def describe_test(alternative: str, tested: str) -> str:
    """The test of one p-value in words: 'one-sided, H1: baseline better (observed direction)'."""
    if tested not in ("multimodal_better", "baseline_better"):
        return TESTED_WORDS[tested]
    where = " (observed direction)" if alternative == "observed" else ""
    return f"one-sided, {TESTED_WORDS[tested]}{where}"


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
        mark = TESTED_MARKS.get(entry.get("tested"), "")
        cells["p_value"].append("–" if p is None else
                                (f"**{format_p(p)}**" if p < alpha else format_p(p)) + mark)
    for method in (comparison.get("catalogue_baseline") or {}).values():  # no images at all
        cells[f"{method['label']} (no images)"] = [
            fmt.format(method[name] * scale) for name, _, scale, fmt in TABLE3_COLUMNS]
    return [f"| {label} | " + " | ".join(row) + " |" for label, row in cells.items()]


def _p_value_note(blocks: Mapping[str, Mapping[str, Any]], alpha: float) -> str | None:
    """'p-values: one-sided in the observed direction; H1: multimodal better, † H1:
    baseline better; bold: p < 0.05.', or None for results that do not say."""
    alternatives = dict.fromkeys(c.get("settings", {}).get("alternative") for c in blocks.values())
    tested = dict.fromkeys(c[name].get("tested") for c in blocks.values()
                           for name, *_ in TABLE3_COLUMNS if name != "count")
    if None in alternatives or None in tested:
        return None
    hypotheses = [(TESTED_MARKS.get(t, "") + " " + TESTED_WORDS[t]).strip()
                  for t in ("multimodal_better", "baseline_better", NO_DIFFERENCE) if t in tested]
    return "p-values: " + "; ".join([*(SIDES[a] for a in alternatives),
                                     *([", ".join(hypotheses)] if hypotheses else []),
                                     f"bold: p < {alpha:g}."])


def format_table3(comparison: Mapping[str, Any], labels: tuple[str, str] = ("Baseline", "Multimodal"),
                  alpha: float = 0.05) -> str:
    """The paper's Table 3 as a Markdown table.

    σ_MAD and ⟨Δz⟩ in 10⁻³, η in %, count in 10³, G(M) in %; bold marks the better
    model (smaller |M|) and p-values below ``alpha``; rows of the classical
    photometric baseline (``catalogue_baseline``) follow; † marks a p-value that tests
    "baseline better", ‡ one of a tie, and a note under the table says which test
    (for results that record ``settings.alternative`` and each ``tested``).
    ``comparison`` is one ``compare`` result or a mapping data-set name -> result
    (one block each).
    """
    blocks = {"": comparison} if "sigma_mad" in comparison else dict(comparison)
    header = "| Experiment | " + " | ".join(h for _, h, _, _ in TABLE3_COLUMNS) + " |"
    lines = [header, "|---" * (len(TABLE3_COLUMNS) + 1) + "|"]
    for name, comp in blocks.items():
        if name:
            lines.append(f"| **{name}** |" + " |" * len(TABLE3_COLUMNS))
        lines += _table3_rows(comp, labels, alpha)
    note = _p_value_note(blocks, alpha)
    return "\n".join(lines + ([] if note is None else ["", note])) + "\n"
