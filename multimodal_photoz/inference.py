"""Predictions of a finished run on new data: every member of the run,
averaged (the paper's external test samples, Table 3)."""

from __future__ import annotations

import dataclasses
import json
import os

import jax
import numpy as np

from multimodal_photoz import predictions, train
from multimodal_photoz.checkpoints import MemberCheckpoints
from multimodal_photoz.data import open_dataset
from multimodal_photoz.ensemble import Context, member_name, predict_indices
from multimodal_photoz.run_config import CONFIG_FILE, load_run_config


def _trained_stamp(workdir: str) -> int:
    with open(os.path.join(workdir, CONFIG_FILE)) as f:
        return int(json.load(f)["data_fingerprint"]["stamp"])


def predict_with_run(workdir: str, data: str, out: str, mesh=None) -> dict[str, np.ndarray]:
    """Writes ``out`` (predictions.h5 format) for every object of ``data``.

    The PDF of an object is the mean over every member (all folds and seeds).
    ``fold`` is -1 (no member saw these objects). ``z_spec`` is copied where
    the data set has it.

    Raises:
      ValueError: a member is unfinished, or the stamps differ from training.
    """
    config = load_run_config(workdir)
    source = open_dataset(data)
    if source.stamp_size != _trained_stamp(workdir):
        raise ValueError(f"{data}: stamps are {source.stamp_size} pixels but run {workdir} was "
                         f"trained on {_trained_stamp(workdir)}; re-ingest with --stamp")
    ctx = Context.create(dataclasses.replace(config, data=data), workdir, source, mesh)
    predict_fn = train.make_predict_fn(config.model, ctx.mesh)
    indices = np.arange(len(source))
    total, members = None, 0
    for fold in config.folds_to_run():
        for seed in config.seeds:
            name = member_name(fold, seed)
            ckpt = MemberCheckpoints(os.path.join(workdir, "members", name, "checkpoints"))
            try:
                if not ckpt.is_finished():
                    raise ValueError(f"{workdir}: member {name} has not finished training; "
                                     "rerun the training command first")
                target = train.create_train_state(jax.random.key(0), config.model, config.train,
                                                  ctx.stats(fold), source.stamp_size,
                                                  ctx.mesh)
                _, state, _ = ckpt.restore(target)
            finally:
                ckpt.close()
            out_m = predict_indices(ctx, state.params, state.norm, indices, predict_fn)
            total = out_m if total is None else {
                **total, "pdf": total["pdf"] + out_m["pdf"],
                "z_regression": total["z_regression"] + out_m["z_regression"]}
            members += 1
    pdf = total["pdf"] / members
    catalogue = source.catalogue()
    fields = {"ids": total["id"], "fold": np.full(len(indices), -1, np.int32),
              "pdf": (pdf / pdf.sum(1, keepdims=True)).astype(np.float32),
              "bin_edges": config.model.bin_edges(),
              "z_regression": (total["z_regression"] / members).astype(np.float32),
              "ebv": catalogue["ebv"]}
    if "z_spec" in catalogue and np.isfinite(catalogue["z_spec"]).any():
        fields["z_spec"] = catalogue["z_spec"]
    if "mag_i" in catalogue:
        fields["mag_i"] = catalogue["mag_i"]
    predictions.write_predictions(out, **fields, config=config.to_dict(),
                                  bands="".join(config.model.bands), n_members=members,
                                  attrs={"run": os.path.abspath(workdir), "data": data})
    return fields

