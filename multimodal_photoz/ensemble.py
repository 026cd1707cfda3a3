"""k-fold cross-validated ensembles: train every member, predict every object
once with the members that never saw it, average the seeds' PDFs (Sect. 3.4).

Workdir layout (BUILD.md, "Run directory"):
  config.json                      the resolved RunConfig + data fingerprint
  stats/fold<f>.json               per-band statistics of fold f's training objects
  members/fold<f>_seed<s>/         checkpoints/ (orbax), test_predictions.npz
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

from multimodal_photoz import logs, predictions, preprocess, report, train
from multimodal_photoz.checkpoints import MemberCheckpoints, write_json_atomic
from multimodal_photoz.data import fold_of, open_dataset
from multimodal_photoz.data.pipeline import band_statistics, iterate_batches, n_batches
from multimodal_photoz.run_config import RunConfig, claim_workdir, data_fingerprint

TEST_PREDICTIONS = "test_predictions.npz"


def member_name(fold: int, seed: int) -> str:
    return f"fold{fold}_seed{seed}"


def band_channels(data_bands, model_bands, data_path: str) -> np.ndarray | None:
    """Channels of the data set that the model reads (None: all, in order).

    Raises:
      ValueError: the model asks for a band the data set does not have.
    """
    missing = [b for b in model_bands if b not in data_bands]
    if missing:
        raise ValueError(f"{data_path}: the data set has bands {''.join(data_bands)!r}; "
                         f"the model asks for {''.join(missing)!r} too")
    channels = np.array([list(data_bands).index(b) for b in model_bands])
    return None if list(channels) == list(range(len(data_bands))) else channels


@dataclasses.dataclass
class Context:
    """What every member of a run shares: data, folds, mesh and compiled steps."""

    config: RunConfig
    workdir: str
    source: object
    fold: np.ndarray                       # (N,) fold of every object
    mesh: jax.sharding.Mesh
    channels: np.ndarray | None
    step_fn: Callable | None = None
    predict_fn: Callable | None = None

    @classmethod
    def create(cls, config: RunConfig, workdir: str, source=None, mesh=None) -> "Context":
        source = source if source is not None else open_dataset(config.data)
        ids = source.catalogue()["id"]
        return cls(config=config, workdir=workdir, source=source,
                   fold=fold_of(ids, config.n_folds), mesh=mesh or train.make_mesh(),
                   channels=band_channels(source.bands, config.model.bands, config.data))

    def select(self, batch: dict) -> dict:
        """Keeps the model's bands of a device batch."""
        if self.channels is None:
            return batch
        return {**batch, "image": batch["image"][..., self.channels],
                "band_mask": batch["band_mask"][..., self.channels]}

    def stats(self, fold: int) -> preprocess.BandStats:
        """Band statistics of fold ``fold``'s training objects (cached in the workdir)."""
        path = os.path.join(self.workdir, "stats", f"fold{fold}.json")
        if os.path.exists(path):
            with open(path) as f:
                stats = preprocess.BandStats.from_dict(json.load(f))
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            stats = band_statistics(self.source, np.flatnonzero(self.fold != fold))
            write_json_atomic(path, stats.to_dict())
        if self.channels is not None:
            stats = preprocess.BandStats(mean=tuple(stats.mean[c] for c in self.channels),
                                         std=tuple(stats.std[c] for c in self.channels))
        return stats


def predict_indices(ctx: Context, params, norm, indices: np.ndarray,
                    predict_fn: Callable | None = None) -> dict[str, np.ndarray]:
    """PDFs and regression estimates of the given objects, in the given order.

    Returns: ``id`` (n,), ``pdf`` (n, n_bins) float32, ``z_regression`` (n,).
    """
    predict_fn = predict_fn or ctx.predict_fn
    out = {"id": [], "pdf": [], "z_regression": []}
    batches = iterate_batches(ctx.source, indices, batch_size=ctx.config.eval_batch_size, seed=0,
                              epoch=0, shuffle=False, drop_remainder=False, mesh=ctx.mesh)
    for batch in batches:
        ids = batch.pop("id")
        result = predict_fn(params, norm, ctx.select(batch))
        keep = ids >= 0
        out["id"].append(ids[keep])
        out["pdf"].append(train.to_host(result["pdf"])[keep])
        out["z_regression"].append(train.to_host(result["z_regression"])[keep])
    n_bins = ctx.config.model.n_bins
    return {"id": np.concatenate(out["id"]) if out["id"] else np.zeros(0, np.int64),
            "pdf": np.concatenate(out["pdf"]) if out["pdf"] else np.zeros((0, n_bins), np.float32),
            "z_regression": (np.concatenate(out["z_regression"]) if out["z_regression"]
                             else np.zeros(0, np.float32))}


def is_primary() -> bool:
    """Only process 0 writes run files (the workdir is on a shared file system);
    every process takes part in orbax saves, which coordinate themselves."""
    return jax.process_index() == 0


def _save_npz_atomic(path: str, **arrays) -> None:
    if not is_primary():
        return
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _train_steps(ctx: Context, state, ckpt: MemberCheckpoints, key, fold: int, seed: int,
                 logger: logs.RunLogger, member: int):
    """Runs the optimizer from ``state.step`` to ``n_steps``, checkpointing on the way."""
    cfg = ctx.config
    train_idx = np.flatnonzero(ctx.fold != fold)
    per_epoch = n_batches(len(train_idx), cfg.train.batch_size)
    if per_epoch == 0:
        raise ValueError(f"{cfg.data}: fold {fold} leaves {len(train_idx)} training objects, "
                         f"fewer than one batch of {cfg.train.batch_size}")
    step, n_steps = int(state.step), cfg.train.n_steps
    bar = logs.progress(total=n_steps, initial=step, desc=member_name(fold, seed))
    while step < n_steps:
        epoch, skip = divmod(step, per_epoch)
        # the same (seed, fold, epoch) always gives the same batches, so a resumed
        # member replays exactly the batches it would have seen
        batches = iterate_batches(ctx.source, train_idx, batch_size=cfg.train.batch_size,
                                  seed=seed * 1000 + fold, epoch=epoch, mesh=ctx.mesh, start=skip)
        for batch in batches:
            batch.pop("id")
            state, metrics = ctx.step_fn(state, ctx.select(batch), key)
            step += 1
            bar.update(1)
            if step % cfg.log_every == 0 or step == n_steps:
                logger.scalars(step, {k: float(v) for k, v in metrics.items()}, member=member)
            if step % cfg.checkpoint_every == 0 or step == n_steps:
                ckpt.save(step, state, {"fold": fold, "seed": seed, "epoch": epoch},
                          force=step == n_steps)
            if step >= n_steps:
                break
    bar.close()
    return state


def train_member(ctx: Context, fold: int, seed: int, logger: logs.RunLogger, member: int) -> str:
    """Trains (or resumes) one member and predicts its test fold.

    Returns ``"finished"`` or ``"skipped"`` (already finished earlier).
    """
    cfg = ctx.config
    member_dir = os.path.join(ctx.workdir, "members", member_name(fold, seed))
    ckpt = MemberCheckpoints(os.path.join(member_dir, "checkpoints"),
                             save_interval_steps=cfg.checkpoint_every)
    try:
        if ckpt.is_finished() and os.path.exists(os.path.join(member_dir, TEST_PREDICTIONS)):
            return "skipped"
        init_key, step_key = jax.random.split(jax.random.fold_in(jax.random.key(seed), fold))
        stamp = ctx.source.stamp_size
        state = train.create_train_state(init_key, cfg.model, cfg.train, ctx.stats(fold), stamp,
                                         ctx.mesh)
        if ckpt.latest_step() is not None:
            _, state, _ = ckpt.restore(state)
            state = jax.device_put(state, train.replicated(ctx.mesh))
        state = _train_steps(ctx, state, ckpt, step_key, fold, seed, logger, member)
        ckpt.wait()
        test = predict_indices(ctx, state.params, state.norm, np.flatnonzero(ctx.fold == fold))
        _save_npz_atomic(os.path.join(member_dir, TEST_PREDICTIONS), **test)
        if is_primary():
            ckpt.mark_finished({"fold": fold, "seed": seed, "n_steps": int(state.step)})
        return "finished"
    finally:
        ckpt.close()


def assemble(ctx: Context) -> dict[str, np.ndarray]:
    """The ensemble's predictions: each object's PDF is the mean over the seeds
    of the members of its fold. Objects of folds not trained are left out."""
    cfg = ctx.config
    catalogue = ctx.source.catalogue()
    rows, pdfs, z_reg = [], [], []
    for fold in cfg.folds_to_run():
        members = []
        for seed in cfg.seeds:
            path = os.path.join(ctx.workdir, "members", member_name(fold, seed), TEST_PREDICTIONS)
            with np.load(path) as f:
                members.append({k: f[k] for k in f.files})
        expected = catalogue["id"][ctx.fold == fold]
        for m in members:
            if not np.array_equal(m["id"], expected):
                raise RuntimeError(f"{ctx.workdir}: member predictions of fold {fold} do not "
                                   "cover its objects; delete members/ of that fold and rerun")
        rows.append(np.flatnonzero(ctx.fold == fold))
        pdfs.append(np.mean([m["pdf"] for m in members], axis=0))
        z_reg.append(np.mean([m["z_regression"] for m in members], axis=0))
    order = np.argsort(np.concatenate(rows), kind="stable")
    rows = np.concatenate(rows)[order]
    pdf = np.concatenate(pdfs)[order].astype(np.float64)
    pdf /= pdf.sum(axis=1, keepdims=True)
    pred = {"ids": catalogue["id"][rows], "fold": ctx.fold[rows], "pdf": pdf.astype(np.float32),
            "bin_edges": cfg.model.bin_edges(),
            "z_regression": np.concatenate(z_reg)[order].astype(np.float32),
            "z_spec": catalogue["z_spec"][rows], "ebv": catalogue["ebv"][rows]}
    if "mag_i" in catalogue:
        pred["mag_i"] = catalogue["mag_i"][rows]
    return pred


def write_outputs(ctx: Context, pred: dict[str, np.ndarray]) -> dict:
    """predictions.h5, metrics.json, report.md and figures in the workdir."""
    cfg = ctx.config
    path = os.path.join(ctx.workdir, "predictions.h5")
    predictions.write_predictions(path, **pred, config=cfg.to_dict(),
                                  bands="".join(cfg.model.bands),
                                  n_members=len(cfg.folds_to_run()) * len(cfg.seeds))
    stored = predictions.read_predictions(path)
    metrics = report.evaluate(stored, cfg.outlier_threshold, mag_limit=cfg.mag_limit)
    report.write_report(ctx.workdir, stored, metrics, config=cfg.to_dict(),
                        log_path=os.path.join(ctx.workdir, logs.LOG_FILE),
                        title=f"{cfg.survey}: {describe(cfg)}")
    return metrics


def describe(cfg: RunConfig) -> str:
    m = cfg.model
    if m.is_baseline:
        return f"baseline ({''.join(m.bands)} stacked), {m.backbone}"
    return (f"{m.fusion} {m.fusion_type} fusion of {len(m.modalities)} modalities "
            f"({', '.join(m.modality_names())}), {m.backbone}")


def train_and_evaluate(config: RunConfig, workdir: str, mesh=None) -> dict:
    """Runs (or resumes) the whole ensemble and writes the run's outputs.

    Finished members are skipped, an unfinished one resumes from its latest
    checkpoint, and a workdir of another configuration is refused.
    Returns the content of metrics.json.
    """
    source = open_dataset(config.data)
    claim_workdir(workdir, config, data_fingerprint(source))
    ctx = Context.create(config, workdir, source, mesh)
    ctx.step_fn = train.make_train_step(config.model, config.train, ctx.mesh)
    ctx.predict_fn = train.make_predict_fn(config.model, ctx.mesh)
    members = [(f, s) for f in config.folds_to_run() for s in config.seeds]
    with logs.RunLogger(workdir, name=os.path.basename(os.path.abspath(workdir))) as logger:
        for k, (fold, seed) in enumerate(members):
            status = train_member(ctx, fold, seed, logger, member=k)
            print(f"member {member_name(fold, seed)} ({k + 1}/{len(members)}): {status}",
                  flush=True)
    if not is_primary():
        return {}
    return write_outputs(ctx, assemble(ctx))
