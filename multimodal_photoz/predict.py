"""Prediction with ensemble members: restore them from shapes, predict objects
batch by batch, average the members' PDFs and regression estimates.

Used at the end of training (each object by the seeds of the fold that never
saw it, Sect. 3.4) and by ``photoz predict`` (new objects by every member, in
chunks that survive an interruption: ``predict_stream``).
Nothing here writes into a run's folder.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys

import jax
import numpy as np

from multimodal_photoz import files, predictions, preprocess, train
from multimodal_photoz.checkpoints import FINISHED_FILE, MemberCheckpoints, read_finished
from multimodal_photoz.config import RunConfig
from multimodal_photoz.data.format import ids as id_kinds
from multimodal_photoz.data.pipeline import band_channels, iterate_batches


@dataclasses.dataclass(frozen=True)
class Member:
    """One ensemble member: the model of ``fold``'s training objects with ``seed``."""

    fold: int
    seed: int

    @property
    def name(self) -> str:
        return f"fold{self.fold}_seed{self.seed}"

    @property
    def label(self) -> str:
        """How messages name the member: ``member fold0_seed1 (fold 0, seed 1)``."""
        return f"member {self.name} (fold {self.fold}, seed {self.seed})"

    def directory(self, workdir: str) -> str:
        return os.path.join(workdir, "members", self.name)

    def checkpoints(self, workdir: str, **options) -> MemberCheckpoints:
        return MemberCheckpoints(os.path.join(self.directory(workdir), "checkpoints"),
                                 member=self.label, **options)


def members_of(config: RunConfig, folds=None) -> list[Member]:
    """Members of the given folds (default: the folds this run trains), fold-major."""
    folds = config.ensemble.folds() if folds is None else folds
    return [Member(f, s) for f in folds for s in config.ensemble.seeds]


def abstract_state(config: RunConfig, stamp: int, mesh) -> train.TrainState:
    """The shapes, dtypes and shardings of a member's ``TrainState`` (nothing computed)."""
    n_bands = config.model.n_bands
    stats = preprocess.BandStats(mean=(0.0,) * n_bands, std=(1.0,) * n_bands)

    def make():
        return train.create_train_state(jax.random.key(0), config.model, config.train, stats,
                                        stamp, mesh)

    shapes = jax.eval_shape(make)
    sharding = train.replicated(mesh)
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
                        shapes)


def restore(workdir: str, member: Member, target: train.TrainState) -> train.TrainState:
    """The member's state at the step recorded as final when it finished training.

    Opens the checkpoints read-only: nothing in the run is created, moved or cleaned,
    and no other step is ever used in place of the final one.

    Raises:
      ValueError: the member has not finished, or its final step cannot be read
        (the message names the member and its checkpoint directory).
    """
    folder = os.path.join(member.directory(workdir), "checkpoints")
    payload = read_finished(folder)
    if payload is None:
        raise ValueError(f"{workdir}: member {member.name} has not finished training; "
                         "rerun the training command first")
    if "n_steps" not in payload:
        raise ValueError(f"{os.path.join(folder, FINISHED_FILE)}: no final step recorded for "
                         f"{member.label}; remove {folder} and rerun the training command")
    ckpt = member.checkpoints(workdir, read_only=True)
    try:
        _, state, _ = ckpt.restore(target, step=int(payload["n_steps"]))
    finally:
        ckpt.close()
    return state


def _to_host(x: jax.Array) -> np.ndarray:
    """A batch's output as numpy: copied from this process's devices when they
    hold all of it (a local mesh), else gathered across processes."""
    return np.asarray(x) if x.is_fully_addressable else train.to_host(x)


class EnsemblePredictor:
    """PDFs of objects averaged over a list of members' states.

    Args:
      config: the run's configuration (network, evaluation batch size).
      states: the members' ``TrainState``s; only ``params`` and ``norm`` are kept.
      mesh: the device mesh (batches are sharded over its ``data`` axis); a mesh
        of one process's devices (``jax.local_devices()``) predicts with no
        collective across processes, each process reading its own objects.
      drop_modalities: modality names whose features are zeroed (Sect. 7.4).
    """

    def __init__(self, config: RunConfig, states, mesh, drop_modalities: tuple[str, ...] = ()):
        self.config, self.mesh = config, mesh
        # keep parameters and statistics only: optimizer states are dropped as restored
        self.weights = [(s.params, s.norm) for s in states]
        if not self.weights:
            raise ValueError("an ensemble needs at least one member")
        self._predict = train.make_predict_fn(config.model, mesh, tuple(drop_modalities))

    def predict(self, source, indices, data_path: str = "") -> dict[str, np.ndarray]:
        """Predicts ``indices`` of ``source`` in the given order.

        Returns:
          ``id`` (n,) ids (int64, or numpy unicode for string ids), ``pdf`` (n, n_bins)
          float32 (members' mean, not
          renormalized), ``z_regression`` (n,) float32 (members' mean).
        """
        channels = band_channels(source.bands, self.config.model.bands,
                                 data_path or getattr(source, "path", "data"))
        out = {"id": [], "pdf": [], "z_regression": []}
        # a mesh of this process's devices only: it reads whole batches itself
        local = all(d.process_index == jax.process_index() for d in self.mesh.devices.flat)
        batches = iterate_batches(source, np.asarray(indices, np.int64),
                                  batch_size=self.config.evaluation.batch_size, seed=0, epoch=0,
                                  shuffle=False, drop_remainder=False, mesh=self.mesh,
                                  process_index=0 if local else None,
                                  process_count=1 if local else None, channels=channels)
        for batch in batches:
            ids = batch.pop("id")
            keep = id_kinds.usable(ids)  # padding rows: -1, or '' for string ids
            results = [self._predict(params, norm, batch) for params, norm in self.weights]
            out["id"].append(ids[keep])
            for key in ("pdf", "z_regression"):
                per_member = np.stack([_to_host(r[key])[keep] for r in results])
                out[key].append(np.mean(per_member, axis=0))
        n_bins = self.config.model.n_bins
        empty = {"id": source.catalogue()["id"][:0], "pdf": np.zeros((0, n_bins), np.float32),
                 "z_regression": np.zeros(0, np.float32)}
        return {k: np.concatenate(v) if v else empty[k] for k, v in out.items()}


def catalogue_columns(catalogue: dict, rows: np.ndarray, data_bands, model_bands,
                      with_z_spec: bool | None = None) -> dict[str, np.ndarray]:
    """The per-object columns predictions.h5 copies from a data set's catalogue:
    ``ebv``, ``z_spec`` (where known), ``mag_i`` and ``bands_missing`` (how many
    of the model's bands each object lacks), for the given rows.

    ``with_z_spec``: copy ``z_spec`` (True), or not (False); None: where any of
    the rows has one (a chunk of a larger file passes the whole file's choice).
    """
    out = {"ebv": catalogue["ebv"][rows]}
    if with_z_spec is None:
        with_z_spec = "z_spec" in catalogue and np.isfinite(catalogue["z_spec"][rows]).any()
    if with_z_spec and "z_spec" in catalogue:
        out["z_spec"] = catalogue["z_spec"][rows]
    if "mag_i" in catalogue:
        out["mag_i"] = catalogue["mag_i"][rows]
    if "band_mask" in catalogue:
        channels = [list(data_bands).index(b) for b in model_bands]
        present = np.asarray(catalogue["band_mask"], bool)[rows][:, channels]
        out["bands_missing"] = (~present).sum(axis=1).astype(np.int8)
    return out


# Data-set metadata that fixes what a pixel value means, with the ingest flag that sets it.
SCALE_KEYS = {"zeropoint_ab": "--zeropoint-ab", "pixel_scale_arcsec": "--pixel-scale"}


def _described(key: str, value) -> str:
    return f"{key} {value:g}" if value is not None else f"no {key}"


def check_data_scale(fingerprint: dict, metadata: dict, workdir: str, data: str) -> None:
    """Refuses data whose flux zeropoint (AB mag) or pixel scale (arcsec) is not the run's.

    Args:
      fingerprint: the run's data fingerprint; a key it lacks (a run made before it
        was recorded) is not checked, a key recorded as None means "not given".
      metadata: the data set's metadata (``source.metadata``).

    Raises:
      ValueError: the values differ, or one side has a value and the other none.
    """
    for key, flag in SCALE_KEYS.items():
        if key not in fingerprint:
            continue
        trained, given = fingerprint[key], metadata.get(key)
        if trained is None and given is None:
            continue
        if trained is not None and given is not None and math.isclose(trained, given,
                                                                        rel_tol=1e-9):
            continue
        message = (f"{data}: the data set has {_described(key, given)} but run {workdir} was "
                   f"trained on data with {_described(key, trained)}")
        if key == "zeropoint_ab" and trained is not None and given is not None:
            message += f" (fluxes {10 ** (0.4 * abs(trained - given)):.3g} times apart)"
        ingest = f"with {flag} {trained:g}" if trained is not None else f"without {flag}"
        if key == "zeropoint_ab" and trained is not None and given is not None:
            ingest += (f", or converted by ingest: --zeropoint-ab {given:g} "
                       f"--to-zeropoint-ab {trained:g}")
        raise ValueError(f"{message}; predict only data on the run's scale (ingested {ingest})")


def masked_band_warnings(band_mask: np.ndarray, data_bands, model_bands, data: str
                         ) -> list[str]:
    """One message per band absent from every object.

    Args:
      band_mask: (N, C) bool, True where object n has band c (the data set's order).
    """
    band_mask = np.asarray(band_mask, bool)
    if not len(band_mask):
        return []
    out, n = [], len(band_mask)
    for band in (b for b, present in zip(data_bands, band_mask.any(axis=0)) if not present):
        message = f"{data}: band {band!r} is masked in every object ({n} of {n})"
        if band in model_bands:
            message += "; the model reads it, so the predictions of these objects are unreliable"
        else:
            message += "; the model does not read it"
        out.append(message)
    return out


def normalized(pdf: np.ndarray) -> np.ndarray:
    """(N, n_bins) float32 rows summing to 1 (normalized in float64)."""
    pdf = np.asarray(pdf, np.float64)
    return (pdf / pdf.sum(axis=1, keepdims=True)).astype(np.float32)


def predictor_for(workdir: str, config: RunConfig, members: list[Member], stamp: int,
                  mesh, drop_modalities: tuple[str, ...] = ()) -> EnsemblePredictor:
    """Restores ``members`` of the run in ``workdir`` and returns their predictor."""
    target = abstract_state(config, stamp, mesh)
    return EnsemblePredictor(config, (restore(workdir, m, target) for m in members), mesh,
                             drop_modalities)


def check_out(out: str, workdir: str) -> None:
    """Refuses an ``--out`` that cannot take the predictions file, before any work."""
    out_abs, run_abs = os.path.abspath(out), os.path.abspath(workdir)
    if os.path.commonpath([out_abs, run_abs]) == run_abs:
        raise ValueError(f"--out {out}: inside the run {workdir}; prediction never writes "
                         "into a run, give a path outside it")
    if os.path.isdir(out):
        raise ValueError(f"--out {out}: is a directory; give the path of an .h5 file")
    if not os.path.isdir(os.path.dirname(out_abs)):
        raise ValueError(f"--out {out}: folder {os.path.dirname(out_abs)} does not exist")


def check_data_fits(config: RunConfig, fingerprint: dict, source, workdir: str,
                    data: str) -> None:
    """Refuses a data set the run cannot read as it was trained: another stamp
    size, a band of the model missing, another flux zeropoint or pixel scale."""
    trained_stamp = fingerprint.get("stamp")
    if trained_stamp is not None and source.stamp_size != int(trained_stamp):
        raise ValueError(f"{data}: stamps are {source.stamp_size} pixels but run {workdir} was "
                         f"trained on {trained_stamp}; re-ingest with --stamp {trained_stamp}")
    band_channels(source.bands, config.model.bands, data)
    check_data_scale(fingerprint, source.metadata, workdir, data)


def _warn_masked_bands(catalogue: dict, source, config: RunConfig, data: str) -> None:
    if "band_mask" in catalogue and files.is_primary():
        for message in masked_band_warnings(catalogue["band_mask"], source.bands,
                                            config.model.bands, data):
            print(f"photoz predict: warning: {message}", file=sys.stderr)


def predict_with_run(workdir: str, data: str, out: str, mesh=None, *,
                     chunk_size: int | None = None, pdf_dtype: str = "float32",
                     catalogue: str | None = None):
    """Writes ``out`` (predictions.h5 format) for every object of the data set ``data``,
    chunk by chunk, resuming an interrupted call (``predict_stream``).

    The PDF of an object is the mean over every member of the run (all folds
    and seeds; every one must have finished). ``fold`` is -1 (no member saw
    these objects); ``z_spec`` is copied where the data set has it (an unlabelled
    data set, ``photoz ingest --no-redshift``, gives ``out`` no ``z_spec``). Reads
    the run, never writes into it. A band masked in every object is reported on stderr.

    Chunks of ``chunk_size`` objects (default ``predict_stream.DEFAULT_CHUNK_SIZE``,
    rounded up to a multiple of the run's evaluation batch size) are written as
    parts in ``<out>.parts/`` (``prediction_parts``) and joined into ``out``,
    which holds the same values whatever the chunk size and however often the
    call was interrupted. Memory does not grow with the number of objects N
    except through per-object columns: the data set's catalogue (loaded whole
    by ``open_dataset``: ids, z_spec, ebv, band_mask, ...), the optional columns
    copied from it (once, to decide which ``out`` holds), string ids encoded once
    (to size the id column), and the id column read back at the end to check
    that ids are unique.

    Args:
      mesh: the devices to predict on (default: this process's devices).
      pdf_dtype: how ``pdf`` is stored (``predictions.PDF_DTYPES``).
      catalogue: also write the compact catalogue (``compact_catalogue``) there.
    Returns:
      a ``predict_stream.PredictionSummary``.
    Raises:
      ValueError: a member is unfinished or damaged, ``out`` or ``catalogue``
        cannot be written, the data do not fit the run (stamp size, bands, flux
        zeropoint, pixel scale), or ``<out>.parts`` holds the parts of another
        prediction (other run, data, chunk size or pdf dtype).
    """
    from multimodal_photoz import compact_catalogue, prediction_parts, predict_stream
    from multimodal_photoz.config import load_run_config
    from multimodal_photoz.data import open_dataset

    check_out(out, workdir)
    if pdf_dtype not in predictions.PDF_DTYPES:
        raise ValueError(f"--pdf-dtype {pdf_dtype}: give one of "
                         f"{', '.join(predictions.PDF_DTYPES)}")
    if catalogue is not None:
        compact_catalogue.check_path(catalogue)
        if os.path.abspath(catalogue) == os.path.abspath(out):
            raise ValueError(f"--catalogue {catalogue}: the same file as --out; give another path")
        run_abs = os.path.abspath(workdir)
        if os.path.commonpath([os.path.abspath(catalogue), run_abs]) == run_abs:
            raise ValueError(f"--catalogue {catalogue}: inside the run {workdir}; prediction "
                             "never writes into a run, give a path outside it")
    config, fingerprint = load_run_config(workdir)
    source = open_dataset(data)
    check_data_fits(config, fingerprint, source, workdir, data)
    catalogue_table = source.catalogue()
    _warn_masked_bands(catalogue_table, source, config, data)
    every_row = catalogue_columns(catalogue_table, np.arange(len(source)), source.bands,
                                  config.model.bands)
    size = predict_stream.chunk_size_for(
        predict_stream.DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
        config.evaluation.batch_size)
    job = predict_stream.Job(
        workdir=workdir, data=data, out=out, config=config, source=source,
        members=members_of(config, range(config.ensemble.n_folds)),  # every member of the run
        plan=prediction_parts.ChunkPlan(len(source), size),
        columns=predictions.optional_columns(every_row), pdf_dtype=pdf_dtype,
        mesh=mesh or train.make_mesh(jax.local_devices()))
    return job.run(catalogue)
