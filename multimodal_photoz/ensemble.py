"""k-fold cross-validated ensembles: train every member, then predict every
object once with the members that never saw it (``predict``), averaging the
seeds of its fold (Sect. 3.4), and write the run's outputs.

Workdir layout (BUILD.md, "Run directory"):
  config.json                      the RunConfig + data fingerprint
  train.lock                       held by the training command running in it
  stats/fold<f>.json               per-band statistics of fold f's training objects
  members/fold<f>_seed<s>/         checkpoints/ (orbax, FINISHED marker)
  log.jsonl, tensorboard/          training curves
  predictions.h5, metrics.json, report.md, figures/
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable

import jax
import numpy as np

from multimodal_photoz import (distributed, files, logs, photometric, predictions, preprocess,
                               report, train)
from multimodal_photoz.checkpoints import read_finished
from multimodal_photoz.config import RunConfig, claim_workdir, data_fingerprint, lock_workdir
from multimodal_photoz.data import fold_of, open_dataset
from multimodal_photoz.data.pipeline import band_channels, band_statistics, iterate_batches, n_batches
from multimodal_photoz.predict import (Member, catalogue_columns, members_of, normalized,
                                       predictor_for)


@dataclasses.dataclass(frozen=True)
class Run:
    """What every member of a run shares: configuration, data, folds, mesh, files."""

    config: RunConfig
    workdir: str
    source: object
    fold: np.ndarray                       # (N,) fold of every object
    channels: np.ndarray | None            # the model's bands among the data set's
    mesh: jax.sharding.Mesh
    step_fn: Callable
    files: files.RunFiles
    labels: dict                           # training labels against the PDF grid

    @classmethod
    def open(cls, config: RunConfig, workdir: str, mesh=None) -> "Run":
        """Opens the data, claims the workdir and checks, before any member trains,
        everything that would otherwise fail after training (labels, fold sizes,
        the columns the evaluation needs). An unlabelled data set is refused before
        the workdir is claimed (``PhotozSource.check_labelled``)."""
        source = open_dataset(config.data.path)
        source.check_labelled()
        claim_workdir(workdir, config, data_fingerprint(source))
        catalogue = source.catalogue()
        fold = fold_of(catalogue["id"], config.ensemble.n_folds)
        labels = check_labels(catalogue, config)
        check_training_objects(fold, config)
        check_evaluation_columns(catalogue, config)
        mesh = mesh or train.make_mesh()
        return cls(config=config, workdir=workdir, source=source, labels=labels, fold=fold,
                   channels=band_channels(source.bands, config.model.bands, config.data.path),
                   mesh=mesh, step_fn=train.make_train_step(config.model, config.train, mesh),
                   files=files.RunFiles(workdir))

    def fold_coverage(self) -> dict[str, list[int]]:
        """{"predicted": folds whose every member has finished, in this or an earlier
        command; "missing": the others}, as process 0 sees them (the same on every
        process: ``distributed.agree``)."""
        finished = distributed.agree(
            [all(read_finished(os.path.join(m.directory(self.workdir), "checkpoints"))
                 is not None for m in members_of(self.config, [f]))
             for f in range(self.config.ensemble.n_folds)])
        return {"predicted": [f for f, done in enumerate(finished) if done],
                "missing": [f for f, done in enumerate(finished) if not done]}

    def stats(self, fold: int) -> preprocess.BandStats:
        """Band statistics of fold ``fold``'s training objects (cached in the workdir)."""
        rel = os.path.join("stats", f"fold{fold}.json")
        if os.path.exists(self.files.path(rel)):
            with open(self.files.path(rel)) as f:
                return preprocess.BandStats.from_dict(json.load(f))
        stats = band_statistics(self.source,
                                training_objects(self.fold, fold, self.config.train.fraction),
                                channels=self.channels)
        self.files.json(rel, stats.to_dict())
        return stats


def check_labels(catalogue: dict, config: RunConfig) -> dict:
    """The training labels against the PDF grid: ``{"grid", "n_outside", "policy"}``.

    With ``train.labels_outside_grid = "error"`` (the default) a z_spec outside the
    grid [model.z_min, model.z_max] is refused (it would silently land in an end
    bin), naming how many, the first and the largest z_spec and their objects.
    """
    z, ids, path = np.asarray(catalogue["z_spec"], np.float64), catalogue["id"], config.data.path
    lo, hi = config.model.z_min, config.model.z_max
    outside = np.flatnonzero((z < lo) | (z > hi))
    out = {"grid": [lo, hi], "n_outside": int(len(outside)),
           "policy": config.train.labels_outside_grid}
    if len(outside) and out["policy"] == "error":
        i, j = int(outside[0]), int(np.argmax(z))
        raise ValueError(
            f"{path}: object id {ids[i]} (row {i}): field 'z_spec' = {z[i]:g} is "
            f"outside the PDF grid [{lo:g}, {hi:g}] ({len(outside)} objects are): the largest "
            f"z_spec is {z[j]:g} (object id {ids[j]}, row {j}); widen the grid (--z-max, "
            "model.z_max; left unset it covers the sample) or train them in the end bins "
            "with --set train.labels_outside_grid=clip")
    return out


def check_training_objects(fold_of_object: np.ndarray, config: RunConfig) -> None:
    """Every fold trained now must leave its members at least one batch of training objects."""
    cfg = config.train
    for fold in config.ensemble.folds():
        n = len(training_objects(fold_of_object, fold, cfg.fraction))
        if n < cfg.batch_size:
            names = ", ".join(m.name for m in members_of(config, [fold]))
            raise ValueError(
                f"{config.data.path}: fold {fold} (members {names}) leaves {n} training objects "
                f"of the data set's {len(fold_of_object)}, fewer than one batch of "
                f"{cfg.batch_size}; use a data set with more objects, a smaller --batch-size "
                "or fewer --folds")


def check_evaluation_columns(catalogue: dict, config: RunConfig) -> None:
    """The catalogue must hold what the evaluation needs (checked before training)."""
    limit = config.evaluation.mag_limit
    if limit is not None and "mag_i" not in catalogue:
        raise ValueError(
            f"{config.data.path}: evaluation.mag_limit = {limit:g} (--mag-limit) selects objects "
            "by i magnitude, but the data set has no field 'mag_i'; ingest the i magnitudes "
            "(--mag-cols) or leave out --mag-limit")


def label_notes(labels: dict) -> list[str]:
    """The report's lines about ``check_labels``' result (none when every label fits)."""
    if not labels["n_outside"]:
        return []
    lo, hi = labels["grid"]
    return [f"- {labels['n_outside']} training labels outside the PDF grid [{lo:g}, {hi:g}] "
            "were trained in its end bins (train.labels_outside_grid=clip)"]


def training_objects(fold_of_object: np.ndarray, fold: int, fraction: float) -> np.ndarray:
    """Indices of fold ``fold``'s training objects: every other fold, or a fixed
    random ``fraction`` of them (drawn from the fold number, the same for every seed)."""
    train_idx = np.flatnonzero(fold_of_object != fold)
    if fraction >= 1:
        return train_idx
    keep = np.random.default_rng([2024, fold]).permutation(len(train_idx))
    return np.sort(train_idx[keep[:max(1, round(fraction * len(train_idx)))]])


def validation_objects(fold_of_object: np.ndarray, fold: int, n: int) -> np.ndarray:
    """Indices of up to ``n`` objects of the held-out fold ``fold`` whose loss is
    logged during training (a fixed random subset, the same for every seed)."""
    held_out = np.flatnonzero(fold_of_object == fold)
    keep = np.random.default_rng([2025, fold]).permutation(len(held_out))[:n]
    return np.sort(held_out[keep])


def validation_loss(run: Run, state, rows: np.ndarray) -> float:
    """Mean training loss (no augmentation or dropout) of objects ``rows``."""
    loss_fn = train.make_eval_loss_fn(run.config.model, run.config.train, run.mesh)
    total, weight = 0.0, 0.0
    for batch in iterate_batches(run.source, rows, batch_size=run.config.evaluation.batch_size,
                                 seed=0, epoch=0, shuffle=False, drop_remainder=False,
                                 mesh=run.mesh, channels=run.channels, read_threads=0):
        batch.pop("id")
        value, count = jax.device_get(loss_fn(state.params, state.norm, batch))
        total, weight = total + float(value), weight + float(count)
    return total / max(weight, 1.0)


def _train_steps(run: Run, state, ckpt, key, member: Member, logger: logs.RunLogger,
                 index: int):
    """Runs the optimizer from ``state.step`` to ``n_steps``, checkpointing on the way."""
    cfg = run.config.train
    train_idx = training_objects(run.fold, member.fold, cfg.fraction)
    held_out = validation_objects(run.fold, member.fold, cfg.validation_objects)
    per_epoch = n_batches(len(train_idx), cfg.batch_size)  # >= 1: check_training_objects
    step = int(state.step)
    bar = logs.progress(total=cfg.n_steps, initial=step, desc=member.name)
    try:
        while step < cfg.n_steps:
            epoch, skip = divmod(step, per_epoch)
            # the same (seed, fold, epoch) always gives the same batches, so a resumed
            # member replays exactly the batches it would have seen
            batches = iterate_batches(run.source, train_idx, batch_size=cfg.batch_size,
                                      seed=member.seed * 1000 + member.fold, epoch=epoch,
                                      mesh=run.mesh, start=skip, channels=run.channels)
            for batch in batches:
                batch.pop("id")
                state, metrics = run.step_fn(state, batch, key)
                step += 1
                bar.update(1)
                if step % cfg.log_every == 0 or step == cfg.n_steps:  # one explicit copy to host
                    logger.scalars(step, jax.device_get(metrics), member=index)
                if cfg.validate_every and len(held_out) and (
                        step % cfg.validate_every == 0 or step == cfg.n_steps):
                    logger.scalars(step, {"val_loss": validation_loss(run, state, held_out)},
                                   member=index)
                if step % cfg.checkpoint_every == 0 or step == cfg.n_steps:
                    ckpt.save(step, state, {"fold": member.fold, "seed": member.seed, "epoch": epoch},
                              force=step == cfg.n_steps)
                if step >= cfg.n_steps:
                    break
    finally:
        bar.close()
    return state


def train_member(run: Run, member: Member, logger: logs.RunLogger, index: int) -> str:
    """Trains (or resumes) one member; returns ``"skipped"`` (finished before),
    ``"finished"``, or ``"finished (resumed at step N)"`` when it went on from a
    checkpoint of an earlier, interrupted command."""
    ckpt = member.checkpoints(run.workdir, save_interval_steps=run.config.train.checkpoint_every)
    try:
        if distributed.agree(ckpt.is_finished()):  # every process skips, or none
            return "skipped"
        init_key, step_key = jax.random.split(
            jax.random.fold_in(jax.random.key(member.seed), member.fold))
        state = train.create_train_state(init_key, run.config.model, run.config.train,
                                         run.stats(member.fold), run.source.stamp_size, run.mesh)
        resumed = None
        if distributed.agree(ckpt.latest_step() is not None):
            resumed, state, _ = ckpt.restore(state)
            state = jax.device_put(state, train.replicated(run.mesh))
        state = _train_steps(run, state, ckpt, step_key, member, logger, index)
        ckpt.wait()
        run.files.write(os.path.relpath(ckpt.finished_path, run.workdir),
                        lambda _: ckpt.mark_finished({"fold": member.fold, "seed": member.seed,
                                                      "n_steps": int(state.step)}))
        distributed.barrier(f"photoz train: {member.name} finished")
        return "finished" if resumed is None else f"finished (resumed at step {int(resumed)})"
    finally:
        ckpt.close()


def assemble(run: Run, drop_modalities: tuple[str, ...] = (),
             folds=None) -> dict[str, np.ndarray]:
    """The ensemble's predictions: each object's PDF is the mean over the seeds
    of the members of its fold. Objects of other folds than ``folds`` (default:
    the folds of the configuration) are left out.
    ``drop_modalities`` (names such as ``"g_r"``) are zeroed at evaluation (Fig. 10)."""
    cfg = run.config
    catalogue = run.source.catalogue()
    rows, pdfs, z_reg = [], [], []
    for fold in cfg.ensemble.folds() if folds is None else folds:
        test = np.flatnonzero(run.fold == fold)
        predictor = predictor_for(run.workdir, cfg, members_of(cfg, [fold]),
                                  run.source.stamp_size, run.mesh, drop_modalities)
        out = predictor.predict(run.source, test, cfg.data.path)
        if not np.array_equal(out["id"], catalogue["id"][test]):
            raise RuntimeError(f"{run.workdir}: predictions of fold {fold} do not cover its "
                               "objects")
        rows.append(test)
        pdfs.append(out["pdf"])
        z_reg.append(out["z_regression"])
    order = np.argsort(np.concatenate(rows), kind="stable")
    rows = np.concatenate(rows)[order]
    return {"ids": catalogue["id"][rows], "fold": run.fold[rows],
            "pdf": normalized(np.concatenate(pdfs)[order]), "bin_edges": cfg.model.bin_edges(),
            "z_regression": np.concatenate(z_reg)[order].astype(np.float32),
            **catalogue_columns(catalogue, rows, run.source.bands, cfg.model.bands)}


def catalogue_baseline(run: Run, folds) -> dict[str, np.ndarray]:
    """Out-of-fold estimates of the classical photometric baseline (``photometric``):
    name -> (N,) float32 for every object, fitted on each fold's training objects
    (the CNN's) from aperture photometry of the bands the model reads; NaN outside
    ``folds``."""
    bands = run.config.model.bands
    features = photometric.source_features(run.source, run.channels, bands,
                                           (run.source.metadata or {}).get("zeropoint_ab"))
    return photometric.out_of_fold_estimates(
        features, run.source.catalogue()["z_spec"], run.fold,
        lambda f: training_objects(run.fold, f, run.config.train.fraction), folds)


def fold_notes(folds: dict) -> list[str]:
    """The report's line about folds not trained yet (none when every fold is)."""
    if not folds["missing"]:
        return []
    missing = ",".join(map(str, folds["missing"]))
    return [f"- predictions cover folds {', '.join(map(str, folds['predicted']))} of "
            f"{len(folds['predicted']) + len(folds['missing'])}; folds {missing} are not "
            f"trained yet (train them with --only-folds {missing})"]


def write_outputs(run: Run, pred: dict[str, np.ndarray], folds: dict[str, list[int]]) -> dict:
    """predictions.h5, metrics.json, report.md and figures in the workdir (process 0);
    ``pred`` covers the folds ``folds["predicted"]`` (``Run.fold_coverage``)."""
    cfg = run.config
    path = run.files.write("predictions.h5", lambda p: predictions.write_predictions(
        p, **pred, config=cfg.to_dict(), bands="".join(cfg.model.bands),
        n_members=len(folds["predicted"]) * len(cfg.ensemble.seeds)))
    stored = predictions.read_predictions(path)
    metrics = {}
    run.files.write(".", lambda root: metrics.update(report.write_run_report(
        root, stored, outlier_threshold=cfg.evaluation.outlier_threshold,
        mag_limit=cfg.evaluation.mag_limit, config=cfg.to_dict(),
        log_path=run.files.path(logs.LOG_FILE), title=f"{cfg.data.survey}: {cfg.describe()}",
        point_estimate=cfg.scored_estimate(), all_bands=cfg.evaluation.all_bands,
        extra={"labels": run.labels, "folds": folds,
               "notes": label_notes(run.labels) + fold_notes(folds)})))
    return metrics


def train_and_evaluate(config: RunConfig, workdir: str, mesh=None) -> dict:
    """Runs (or resumes) the whole ensemble and writes the run's outputs.

    Finished members are skipped, an unfinished one resumes from its latest
    checkpoint, and a workdir of another configuration or data, or one that
    another command is training in, is refused. The outputs cover every fold
    finished so far (``--only-folds`` may train them in several commands).
    Returns the content of metrics.json ({} on processes other than 0).
    """
    with lock_workdir(workdir, enabled=files.is_primary()):
        run = Run.open(config, workdir, mesh)
        members = members_of(config)
        with logs.RunLogger(workdir, name=os.path.basename(os.path.abspath(workdir)),
                            enabled=files.is_primary()) as logger:
            for k, member in enumerate(members):
                status = train_member(run, member, logger, index=k)
                print(f"member {member.name} ({k + 1}/{len(members)}): {status}", flush=True)
        folds = run.fold_coverage()
        if folds["missing"]:
            print(f"predictions cover folds {', '.join(map(str, folds['predicted']))}; not "
                  f"trained yet: {', '.join(map(str, folds['missing']))}", flush=True)
        pred = assemble(run, folds=folds["predicted"])
        try:  # the other processes wait here until process 0 has written the outputs
            if not files.is_primary():
                return {}
            rows = np.flatnonzero(np.isin(run.fold, folds["predicted"]))  # assemble's rows
            if not np.array_equal(pred["ids"], run.source.catalogue()["id"][rows]):
                raise RuntimeError(f"{workdir}: the catalogue baseline's rows are not the "
                                   "ensemble's")
            pred.update({name: values[rows] for name, values
                         in catalogue_baseline(run, folds["predicted"]).items()})
            return write_outputs(run, pred, folds)
        finally:
            distributed.barrier("photoz train: outputs written")
