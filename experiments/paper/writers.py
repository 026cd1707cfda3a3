"""One writer per kind of output, registered in ``WRITERS``: each takes the
experiment's ``runner.Context`` (and the experiment's options) and returns an
``outputs.WriterOutput`` after writing its figure(s) into ``ctx.out_dir``.

* ``binned``: Fig. 2-style overlay of several runs (Figs. 2-5, 9, B.4).
* ``gain``: baseline vs multimodal and G(M) against a setting (Figs. 6-8).
* ``table``: blocks of metrics rows, published rows beside ours (Tables 2, A.1).
* ``table3``: Table 3, paired bootstrap per data set (``report.write_comparison``).
* ``bootstrap``: Fig. D.1, the bootstrap figure of a Table 3 comparison.
* ``dropout``: Fig. 10, one modality dropped at a time.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from experiments.paper import dropout, figures, tables
from experiments.paper.outputs import WriterOutput
from experiments.paper.published import PUBLISHED, SOURCE
from multimodal_photoz import files, metrics, predictions, report

OVERALL = ("sigma_mad", "outlier_fraction", "bias", "n_objects", "point_estimate")
NOT_REPRODUCED_TABLE3 = ("The paper's blocks 'HSC-9b with 3DHST / PRIMUS / COSMOS2020 redshifts' "
                         "need those test samples; they are not reproduced here.")


def overall(m: Mapping[str, Any]) -> dict[str, Any]:
    """The whole-sample numbers of a metrics dict."""
    return {k: files.to_jsonable(m.get(k)) for k in OVERALL}


def _binnable(runs: Mapping[str, Mapping[str, Any]]) -> tuple[dict, list[str]]:
    """The runs binned in every variable the first one is (``plot_binned`` overlays
    them), and the labels left out (too few objects to bin)."""
    first = set((next(iter(runs.values())).get("binned") or {}))
    keep = {k: m for k, m in runs.items() if first and first <= set(m.get("binned") or {})}
    return keep, [k for k in runs if k not in keep]


def write_binned(ctx) -> WriterOutput:
    """Figs. 2-5, 9: σ_MAD, η and ⟨Δz⟩ against i and z_spec for each run, and a table."""
    runs = {label: r.metrics for label, r in ctx.runs.items()}
    drawn, left_out = _binnable(runs)
    fig = report.plot_binned(drawn, ctx.path(".png")) if drawn else None
    notes = [f"Not drawn (too few objects for {report.N_BINS} bins): {', '.join(left_out)}."
             ] if left_out else []
    notes.append("Error bars: standard deviation across the cross-validation folds; dashed "
                 "lines: the whole sample (the paper's horizontal lines).")
    return WriterOutput(numbers={"table": {k: overall(m) for k, m in runs.items()}},
                        markdown=tables.metrics_table({"": runs}),
                        figures=(fig,) if fig else (), notes=tuple(notes))


def write_table(ctx, blocks: Mapping[str, Sequence[str]], published: str | None = None
                ) -> WriterOutput:
    """Tables 2 and A.1: per block, our runs' rows (after the published rows, if any)."""
    rows_blocks, ours = {}, [label for labels in blocks.values() for label in labels]
    for k, (title, labels) in enumerate(blocks.items()):
        rows = dict(PUBLISHED[published]) if published and k == 0 else {}
        rows_blocks[title] = {**rows, **{label: ctx.runs[label].metrics for label in labels}}
    estimates = {ctx.runs[label].metrics.get("point_estimate") for label in ours}
    numbers = {"blocks": {t: {k: overall(m) for k, m in rows.items()}
                          for t, rows in rows_blocks.items()}}
    notes = ["Bold: the best of our runs in each block (smallest |value|)."]
    if published:
        notes.append(f"Rows marked 'published' are the numbers of {SOURCE}, not runs of this "
                     "code.")
        numbers["published_source"] = SOURCE
    if estimates - {"z_median"}:
        notes.append("z_phot: the point estimate each run is scored on (the PDF median; the "
                     "regression head for the regression-only losses).")
    table = tables.metrics_table(rows_blocks, bold=ours,
                                 point_estimate=bool(estimates - {"z_median"}))
    return WriterOutput(numbers=numbers, markdown=table, notes=tuple(notes))


def _selected_ids(result) -> np.ndarray:
    """(n,) ids of the objects a run's metrics were computed on."""
    pred = predictions.read_predictions(result.predictions_path)
    return pred["id"][report.selection_mask(pred, result.metrics["selection"])]


def _scored(result, ids: np.ndarray) -> dict[str, Any]:
    """A run's predictions on the objects ``ids`` (n,), without ``bands_missing``: the
    comparison or evaluation then scores exactly those objects (another run's selection,
    for Fig. 6), whatever this run's ``evaluation.all_bands``."""
    pred = predictions.read_predictions(result.predictions_path)
    keep = np.isin(pred["id"], ids)
    return {k: (v[keep] if k in report.PER_OBJECT else v) for k, v in pred.items()
            if k != "bands_missing"}


def _evaluate_on(result, ids: np.ndarray) -> dict[str, Any]:
    """A run's metrics on the objects ``ids`` (n,) only, with its own evaluation settings."""
    ev = result.config.evaluation
    return files.to_jsonable(report.evaluate(
        _scored(result, ids), ev.outlier_threshold, mag_limit=ev.mag_limit,
        point_estimate=result.config.scored_estimate(), all_bands=ev.all_bands))


def write_gain(ctx, pairs: Sequence[tuple[str, str, str]], x_name: str, metrics: Sequence[str],
               common_objects: str | None = None) -> WriterOutput:
    """Figs. 6-8: per x, baseline and multimodal metrics and the gain G(M) (eq. 2).

    ``common_objects``: a run label; every run is then scored on the objects that
    run is scored on (Fig. 6: the nine-band objects), not on its own selection.
    """
    scored = {label: r.metrics for label, r in ctx.runs.items()}
    notes = ["G(M) = (|M_B| - |M_M|)/|M_B| (eq. 2): positive when the multimodal run is better."]
    if common_objects:
        ids = _selected_ids(ctx.runs[common_objects])
        scored = {label: _evaluate_on(r, ids) for label, r in ctx.runs.items()}
        notes.append(f"Every run is scored on the {len(ids)} objects that {common_objects!r} is "
                     "scored on (Fig. 6: the objects with all nine bands, as the paper's "
                     "nine-band subset); each run was trained on every object with its bands.")
    points = [{"x": x, "baseline": overall(scored[b]), "multimodal": overall(scored[m]),
               "gain": {n: files.to_jsonable(metrics_gain(scored[b][n], scored[m][n]))
                        for n in metrics}} for x, b, m in pairs]
    fig = figures.plot_gain(points, metrics, x_name, ctx.path(".png"))
    return WriterOutput(numbers={"x_name": x_name, "points": points,
                                 "common_objects": common_objects},
                        markdown=tables.gain_table(x_name, points, metrics), figures=(fig,),
                        notes=tuple(notes))


def metrics_gain(m_baseline: float | None, m_multimodal: float | None) -> float | None:
    """G(M) of eq. 2, None where a value is unknown."""
    if m_baseline is None or m_multimodal is None:
        return None
    return float(metrics.gain(m_baseline, m_multimodal))


def _folder(block: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", block).strip("_").lower()


def _comparisons(ctx, blocks: Mapping[str, tuple[str, str]]) -> dict[str, dict]:
    """Block -> ``report.write_comparison`` of its two runs on the objects the baseline's
    metrics were computed on, written into ``<out>/<block>/``."""
    out = {}
    for name, (base_label, multi_label) in blocks.items():
        base, multi = ctx.runs[base_label], ctx.runs[multi_label]
        ids, ev = _selected_ids(base), base.config.evaluation
        out[name] = report.write_comparison(
            os.path.join(ctx.out_dir, _folder(name)), _scored(base, ids), _scored(multi, ids),
            ev.outlier_threshold, n_resamples=ctx.resamples, seed=0, mag_limit=ev.mag_limit,
            point_estimates=(base.config.scored_estimate(), multi.config.scored_estimate()),
            title=f"{name}: our baseline against our multimodal run")
    return out


def write_table3(ctx, blocks: Mapping[str, tuple[str, str]]) -> WriterOutput:
    """Table 3: one block per data set, baseline vs multimodal with p-values."""
    comparisons = _comparisons(ctx, blocks)
    notes = (f"Each block's comparison.json, comparison.md and figures (Fig. D.1, Fig. 2 "
             f"overlay) are in {', '.join(_folder(n) + '/' for n in blocks)}; "
             f"{ctx.resamples} bootstrap resamples.", NOT_REPRODUCED_TABLE3)
    return WriterOutput(numbers={"blocks": files.to_jsonable(comparisons)},
                        markdown=report.format_table3(comparisons), notes=notes)


def write_bootstrap(ctx, blocks: Mapping[str, tuple[str, str]]) -> WriterOutput:
    """Fig. D.1: the paired-bootstrap figure of each block (one block: ``<name>.png``)."""
    comparisons = _comparisons(ctx, blocks)
    figs = []
    for name in blocks:
        source = os.path.join(ctx.out_dir, _folder(name), report.FIGURE_DIR, "bootstrap.png")
        target = ctx.path(".png" if len(blocks) == 1 else f"_{_folder(name)}.png")
        with files.atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
        figs.append(target)
    notes = ("Green: bootstrapped |M_B| - |M_M|; red: shifted to satisfy H0; blue: observed on "
             f"the test set ({ctx.resamples} resamples).",)
    return WriterOutput(numbers={"blocks": files.to_jsonable(comparisons)},
                        markdown=report.format_table3(comparisons), figures=tuple(figs),
                        notes=notes)


def write_dropout(ctx, dropout_run: str, references: Sequence[str], drop: Sequence[str]
                  ) -> WriterOutput:
    """Fig. 10: the dropout run tested with each modality of ``drop`` dropped in turn."""
    result = ctx.runs[dropout_run]
    dropped = dropout.evaluate_dropped(result, drop, os.path.join(ctx.out_dir, "dropped"))
    ranked = dropout.ranking(dropped)
    refs = {label: ctx.runs[label].metrics for label in references}
    refs[f"{dropout_run}, nothing dropped"] = result.metrics
    fig = figures.plot_dropout(refs, ranked, ctx.path(".png"))
    ranked_rows = {f"{k + 1}. {name} dropped": m for k, (name, m) in enumerate(ranked)}
    numbers = {"ranking": [{"rank": k + 1, "dropped": name, **overall(m),
                            "binned_z_spec": (m.get("binned") or {}).get("z_spec")}
                           for k, (name, m) in enumerate(ranked)],
               "references": {k: overall(m) for k, m in refs.items()}}
    notes = ("Ranked by σ_MAD of the whole test sample with the modality dropped, largest "
             "(the modality missed most) first; grey lines: single-band modalities.",
             "Dropped predictions and their metrics: dropped/<modality>/ beside this page.")
    return WriterOutput(numbers=numbers, figures=(fig,), notes=notes,
                        markdown=tables.metrics_table(
                            {"References": refs, "One modality dropped in the test": ranked_rows},
                            bold=[]))


WRITERS = {"binned": write_binned, "gain": write_gain, "table": write_table,
           "table3": write_table3, "bootstrap": write_bootstrap, "dropout": write_dropout}
