"""Catalogue-scale ``photoz predict``: the data set's rows are predicted in
chunks, each chunk written as a part (``prediction_parts``) as soon as it is
done, then the parts are joined block by block into ``predictions.h5``
(``predictions.PredictionsWriter``) and, if asked, a compact catalogue
(``compact_catalogue``). Running the same command again after an interruption
predicts only the chunks that have no valid part.

Several processes (``jax.process_count() > 1``): process p predicts the chunks
k with k mod P = p on a mesh of its own devices only (``jax.local_devices()``,
no collective per batch), writes their parts into the shared parts folder, and
after a barrier (``distributed.barrier``) process 0 joins them.
OUT's folder must be on a file system every process sees.
``tests/test_distributed.py`` runs two CPU processes (``photoz launch
--processes 2 -- predict ...``) and checks their file equals one process's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
from typing import Any

import jax
import numpy as np

from multimodal_photoz import __version__, compact_catalogue, distributed, predictions
from multimodal_photoz import prediction_parts as parts
from multimodal_photoz.checkpoints import read_finished
from multimodal_photoz.config import CONFIG_FILE, RunConfig, data_fingerprint

DEFAULT_CHUNK_SIZE = 16384  # objects per part: 64 MB of float32 PDFs at 1000 bins


@dataclasses.dataclass(frozen=True)
class PredictionSummary:
    """What one ``predict_with_run`` call did.

    Attributes:
      out: the predictions file written (by process 0).
      n_objects: objects in it; n_chunks: chunks of the plan.
      chunk_size: the chunk size used (a multiple of the evaluation batch size).
      computed: chunks this process predicted in this call.
      resumed: chunks of this process taken from the parts of an earlier call.
      process_index, process_count: this process, of how many.
      catalogue: the compact catalogue written (by process 0), or None.
    """

    out: str
    n_objects: int
    n_chunks: int
    chunk_size: int
    computed: int
    resumed: int
    process_index: int = 0
    process_count: int = 1
    catalogue: str | None = None


def chunk_size_for(chunk_size: int, batch_size: int) -> int:
    """``chunk_size`` rounded up to a multiple of the evaluation batch size, so
    that every batch holds the same objects as in an unchunked run (and so
    gives the same numbers)."""
    if chunk_size < 1:
        raise ValueError(f"--chunk-size {chunk_size}: must be a positive number of objects")
    return -(-int(chunk_size) // batch_size) * batch_size


def run_identity(workdir: str, members) -> dict[str, Any]:
    """What fixes a run's predictions: its path, the hash of its config.json and
    each member's finished.json (rewritten when a member is trained again).

    Raises:
      ValueError: a member has not finished training.
    """
    with open(os.path.join(workdir, CONFIG_FILE), "rb") as f:
        config_sha256 = hashlib.sha256(f.read()).hexdigest()[:16]
    finished = {}
    for member in members:
        payload = read_finished(os.path.join(member.directory(workdir), "checkpoints"))
        if payload is None:
            raise ValueError(f"{workdir}: member {member.name} has not finished training; "
                             "rerun the training command first")
        finished[member.name] = payload
    return {"workdir": os.path.abspath(workdir), "config_sha256": config_sha256,
            "members": finished}


def _out_fields(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A part's datasets less the catalogue's own columns: OUT's datasets."""
    return {k: v for k, v in fields.items() if k not in compact_catalogue.SUMMARY_COLUMNS}


@dataclasses.dataclass
class Job:
    """One ``photoz predict`` command: the run, the data, the plan and OUT.

    ``columns`` are the optional datasets of OUT (``ebv``, ``z_spec`` where
    the data set has any, ``mag_i``, ``bands_missing``), decided once for all rows.
    """

    workdir: str
    data: str
    out: str
    config: RunConfig
    source: Any
    members: list
    plan: parts.ChunkPlan
    columns: tuple[str, ...]
    pdf_dtype: str
    mesh: Any

    @functools.cached_property
    def manifest(self) -> dict[str, Any]:
        return {"format_version": parts.MANIFEST_VERSION, "package_version": __version__,
                "run": run_identity(self.workdir, self.members),
                "data": {"path": self.data, "fingerprint": data_fingerprint(self.source)},
                "chunk_size": self.plan.chunk_size, "n_objects": self.plan.n_objects,
                "options": {"pdf_dtype": self.pdf_dtype}}

    @functools.cached_property
    def digest(self) -> str:
        return parts.digest(self.manifest)

    @property
    def folder(self) -> str:
        return parts.parts_folder(self.out)

    @functools.cached_property
    def predictor(self):
        """The ensemble of every member, restored on first use only."""
        from multimodal_photoz.predict import predictor_for

        return predictor_for(self.workdir, self.config, self.members, self.source.stamp_size,
                             self.mesh)

    def _file_attributes(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "bands": "".join(self.config.model.bands),
                "n_members": len(self.members)}

    def chunk_fields(self, chunk: int) -> dict[str, np.ndarray]:
        """Everything chunk ``chunk``'s part holds: OUT's datasets for its rows
        (PDFs float32, normalized) and the catalogue's ``SUMMARY_COLUMNS``."""
        from multimodal_photoz.predict import catalogue_columns, normalized

        rows = self.plan.rows(chunk)
        indices = np.arange(rows.start, rows.stop)
        result = self.predictor.predict(self.source, indices, self.data)
        pdf = normalized(result["pdf"])
        edges = self.config.model.bin_edges()
        estimates = predictions.point_estimates(pdf, edges)
        copied = catalogue_columns(self.source.catalogue(), indices, self.source.bands,
                                   self.config.model.bands, with_z_spec="z_spec" in self.columns)
        return {"id": result["id"], "fold": np.full(len(indices), -1, np.int32), "pdf": pdf,
                "z_regression": result["z_regression"].astype(np.float32), **estimates,
                **{k: v for k, v in copied.items() if k in self.columns},
                **compact_catalogue.summary_columns(pdf, edges, estimates["z_median"])}

    def predict_part(self, chunk: int) -> dict[str, np.ndarray]:
        """Predicts chunk ``chunk``, writes its part atomically and returns its fields."""
        fields = self.chunk_fields(chunk)
        rows = self.plan.rows(chunk)
        with predictions.PredictionsWriter(
                parts.part_path(self.folder, chunk), n_objects=rows.stop - rows.start,
                bin_edges=self.config.model.bin_edges(), columns=self.columns,
                id_dtype=predictions.id_storage_dtype(fields["id"]), pdf_dtype=self.pdf_dtype,
                extra_columns=compact_catalogue.SUMMARY_COLUMNS, checksums=True,
                **self._file_attributes(),
                attrs=parts.part_attrs(chunk, rows, self.digest)) as writer:
            writer.write(slice(0, rows.stop - rows.start), fields)
        return fields

    def join(self, catalogue: str | None = None) -> int:
        """Writes OUT (and the catalogue) from the parts, one part in memory at a
        time; a part that cannot be trusted is predicted again here. Returns how
        many were."""
        ids = self.source.catalogue()["id"]
        id_dtype = predictions.id_storage_dtype(ids)
        again = 0
        with contextlib.ExitStack() as stack:
            # entered first, renamed last: a failure of OUT leaves no catalogue either
            table = (stack.enter_context(compact_catalogue.catalogue_writer(
                catalogue, self.plan.n_objects, id_dtype)) if catalogue else None)
            writer = stack.enter_context(predictions.PredictionsWriter(
                self.out, n_objects=self.plan.n_objects, bin_edges=self.config.model.bin_edges(),
                columns=self.columns, id_dtype=id_dtype, pdf_dtype=self.pdf_dtype,
                **self._file_attributes(),
                attrs={"run": os.path.abspath(self.workdir), "data": self.data}))
            for chunk in range(self.plan.n_chunks):
                again += self._join_part(chunk, ids, writer, table)
        return again

    def _join_part(self, chunk: int, ids: np.ndarray, writer, table) -> bool:
        """Copies one part into OUT and the catalogue; True if it had to be
        predicted again (missing, unreadable, or values that fail the checks)."""
        rows = self.plan.rows(chunk)
        fields = parts.read_part(self.folder, chunk, rows, self.digest, ids[rows])
        again = fields is None
        if not again:
            try:  # ``write`` checks before it stores anything: a refused block can be retried
                writer.write(rows, _out_fields(fields))
            except predictions.PredictionsError:
                again = True
        if again:
            fields = self.predict_part(chunk)
            writer.write(rows, _out_fields(fields))
        if table is not None:
            table.write(fields)
        return again

    def run(self, catalogue: str | None = None) -> PredictionSummary:
        """Predicts this process's missing chunks, then (process 0) joins them
        and removes the parts folder."""
        index, count = jax.process_index(), jax.process_count()
        parts.check_manifest(self.folder, self.manifest)
        todo = [k for k in self.plan.chunks_of(index, count)
                if not parts.is_complete(self.folder, k, self.plan.rows(k), self.digest)]
        if todo or count > 1:  # restore now: a damaged run fails before anything is written;
            self.predictor  # noqa: B018  (with P > 1 every process restores: orbax may sync)
        if index == 0:
            parts.create(self.folder, self.manifest)
        distributed.barrier("photoz predict: parts folder")
        for chunk in todo:
            self.predict_part(chunk)
        distributed.barrier("photoz predict: every part written")
        again = 0
        if index == 0:
            again = self.join(catalogue)
            parts.remove(self.folder)
        mine = len(self.plan.chunks_of(index, count))
        return PredictionSummary(
            self.out, self.plan.n_objects, self.plan.n_chunks, self.plan.chunk_size,
            computed=len(todo) + again, resumed=max(mine - len(todo) - again, 0),
            process_index=index, process_count=count,
            catalogue=catalogue if index == 0 else None)
