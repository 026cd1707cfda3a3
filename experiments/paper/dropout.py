"""Fig. 10's test: a run evaluated with one modality dropped at a time (Sect. 7.4).

For each modality, the run's members predict its test folds with that
modality's features zeroed (``ensemble.assemble(run, drop_modalities=...)``);
the predictions are written under the experiment's output folder (never into the
run) and evaluated as the run's own metrics are (same selection, threshold and
point estimate). Each result is kept (``<cache>/<modality>/metrics.json``) with
the identity of the predictions it came from, so a re-run evaluates only what is
missing or stale.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from typing import Any

from multimodal_photoz import files, predictions, report


def _source(result) -> dict[str, Any]:
    """What a cached evaluation depends on: the run, its folds and its predictions file."""
    return {"workdir": os.path.abspath(result.workdir), "folds": list(result.folds),
            "predictions_mtime_ns": os.stat(result.predictions_path).st_mtime_ns}


def _cached(folder: str, source: dict[str, Any]) -> dict[str, Any] | None:
    path = os.path.join(folder, "metrics.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        metrics = json.load(f)
    return metrics if metrics.get("source") == source else None


def _open_run(result):
    """The run as ``ensemble.Run``, restricted to the folds its predictions cover."""
    from multimodal_photoz.ensemble import Run

    cfg = result.config
    cfg = dataclasses.replace(cfg, ensemble=dataclasses.replace(cfg.ensemble,
                                                                only_folds=result.folds))
    return Run.open(cfg, result.workdir)


def _evaluate_dropped(run, modality: str, folder: str, source: dict[str, Any]) -> dict[str, Any]:
    from multimodal_photoz.ensemble import assemble

    cfg = run.config
    os.makedirs(folder, exist_ok=True)
    pred = assemble(run, drop_modalities=(modality,))
    path = predictions.write_predictions(
        os.path.join(folder, "predictions.h5"), **pred, config=cfg.to_dict(),
        bands="".join(cfg.model.bands), n_members=len(cfg.ensemble.members()),
        attrs={"dropped_modality": modality})
    metrics = report.evaluate(predictions.read_predictions(path), cfg.evaluation.outlier_threshold,
                              mag_limit=cfg.evaluation.mag_limit,
                              point_estimate=cfg.scored_estimate(),
                              all_bands=cfg.evaluation.all_bands)
    files.write_json(os.path.join(folder, "metrics.json"),
                     {**metrics, "dropped_modality": modality, "source": source})
    with open(os.path.join(folder, "metrics.json")) as f:  # as stored: NaN -> null, lists
        return json.load(f)


def evaluate_dropped(result, modalities: Sequence[str], cache_dir: str) -> dict[str, dict]:
    """Metrics of the run ``result`` (``runner.RunResult``) with each of ``modalities``
    dropped in turn: modality name -> ``metrics.json``-style dict."""
    known = set(result.config.model.modality_names())
    unknown = [m for m in modalities if m not in known]
    if unknown:
        raise ValueError(f"{result.workdir}: no modality {unknown} in this run; its modalities "
                         f"are {sorted(known)}")
    source, run, out = _source(result), None, {}
    for k, modality in enumerate(modalities):
        folder = os.path.join(cache_dir, modality)
        out[modality] = _cached(folder, source)
        status = "cached"
        if out[modality] is None:
            run = run or _open_run(result)
            out[modality] = _evaluate_dropped(run, modality, folder, source)
            status = "evaluated"
        print(f"  {modality} dropped ({k + 1}/{len(modalities)}): {status}, sigma_MAD "
              f"{out[modality]['sigma_mad'] * 1e3:.2f}e-3", flush=True)
    return out


def ranking(dropped: dict[str, dict]) -> list[tuple[str, dict]]:
    """(modality, metrics) by decreasing σ_MAD of the whole test sample when dropped:
    the modality the network misses most comes first (the paper ranks Fig. 10's
    labels by their mean MAD, its horizontal lines)."""
    def key(item):
        sigma = item[1].get("sigma_mad")
        return (-(sigma if sigma is not None else float("inf")), item[0])

    return sorted(dropped.items(), key=key)
