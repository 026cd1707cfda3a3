"""Writing data sets: checked, streamed in batches, moved into place at the end.

``DatasetWriter`` takes batches of objects (``add``) so that a data set of any
size is written with one batch in memory; ``write_dataset`` writes arrays held
in memory (or memory-mapped / HDF5 arrays, sliced batch by batch) through it.
The layout is described in ``multimodal_photoz.data.layout``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from multimodal_photoz.bands import check_wavelength_order
from multimodal_photoz.data import checks, layout, memory
from multimodal_photoz.data.folds import fold_of
from multimodal_photoz.data.schema import Schema, extra_dtype


class DatasetWriter:
    """Streams objects into a new data set directory.

    Use as a context manager: the data set appears at ``out_dir`` when the
    block ends normally, and nothing is left behind when it raises::

        with DatasetWriter(out, bands="griz", name="mine") as writer:
            for batch in batches:
                writer.add(images=..., z_spec=..., ebv=..., ids=...)

    Args:
      out_dir: the data set directory to create.
      bands: band names of the image channels, in ascending wavelength order.
      name: data set name (also the TFDS name, made identifier-safe).
      metadata: JSON-able dict (survey, pixel_scale_arcsec, zeropoint_ab, ...).
      stamp_size, mag_bands, extras: the schema; by default taken from the first
        batch (extras: name -> dtype).
      overwrite: replace an existing ``out_dir`` (only once the new one is complete).
      source: what the input is called in error messages.
      objects_per_shard: objects per ArrayRecord file (default: about 256 MiB).
    """

    def __init__(self, out_dir, *, bands, name: str, metadata: Mapping[str, Any] | None = None,
                 stamp_size: int | None = None, mag_bands=None,
                 extras: Mapping[str, str] | None = None, overwrite: bool = False,
                 source: str = "input arrays", objects_per_shard: int | None = None):
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not overwrite:
            raise FileExistsError(f"{self.out_dir} exists; pass overwrite=True to replace it")
        self.bands = check_wavelength_order(bands)
        self.name = str(name)
        self.metadata = json.loads(json.dumps(dict(metadata or {})))  # fails early if not JSON-able
        self.source = source
        self._declared = dict(stamp_size=stamp_size, mag_bands=mag_bands, extras=extras)
        self._per_shard = objects_per_shard
        self.schema: Schema | None = None
        self._features = None
        self.staging = self.out_dir.parent / f".{self.out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
        self.staging.mkdir(parents=True)
        self._columns: dict[str, list[np.ndarray]] = {}
        self._rows: list[np.ndarray] = []
        self._shard_lengths: list[int] = []
        self._record_writer = None
        self.count = 0

    # -- context manager -------------------------------------------------------------
    def __enter__(self) -> "DatasetWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- adding objects --------------------------------------------------------------
    def add(self, *, images, z_spec, ebv, ids, band_mask=None, mags=None, extras=None,
            rows=None, source: str | None = None) -> int:
        """Checks and writes a batch of B objects; returns B.

        Args:
          images: (B, S, S, C) fluxes, bands in wavelength order; channels of
            absent bands are ignored and stored as zeros.
          z_spec: (B,) spectroscopic redshifts >= 0.
          ebv: (B,) Galactic E(B-V) >= 0, mag.
          ids: (B,) unique integer ids >= 0.
          band_mask: (B, C) bool, True where the band is present (default all).
          mags: band -> (B,) AB magnitudes, NaN where unknown.
          extras: name -> (B,) numeric per-object columns.
          rows: (B,) input row numbers for error messages (default: running count).
          source: name of the input in error messages (default: the writer's).
        Raises:
          ValueError (``checks.BadInputError`` for a bad object): nothing of
          the batch is written.
        """
        batch = self._prepare(images, z_spec, ebv, ids, band_mask, mags or {}, extras or {},
                              rows, source or self.source)
        if self.schema is None:
            self._start(batch)
        self._check_schema(batch, source or self.source)
        self._write_records(batch)
        for key, value in batch.items():
            if key not in ("image", "rows"):
                self._columns.setdefault(key, []).append(value)
        self._rows.append(batch["rows"])
        self.count += len(batch["id"])
        return len(batch["id"])

    def _prepare(self, images, z_spec, ebv, ids, band_mask, mags, extras, rows, source) -> dict:
        """Converts a batch to stored dtypes and checks it; returns feature -> array."""
        images = np.asarray(images, dtype=np.float32)
        n_bands = len(self.bands)
        if images.ndim != 4 or images.shape[3] != n_bands or images.shape[1] != images.shape[2]:
            raise ValueError(f"{source}: field 'image' has shape {images.shape}; expected "
                             f"(B, S, S, {n_bands}) for bands {''.join(self.bands)}")
        b = images.shape[0]
        rows = np.arange(self.count, self.count + b) if rows is None else np.asarray(rows)
        band_mask = (np.ones((b, n_bands), bool) if band_mask is None
                     else np.asarray(band_mask).astype(bool))
        columns = {"z_spec": z_spec, "ebv": ebv, "id": ids, "rows": rows, "band_mask": band_mask,
                   **{f"mag_{k}": v for k, v in mags.items()}, **extras}
        for key, value in columns.items():
            shape = np.shape(value)
            want = (b, n_bands) if key == "band_mask" else (b,)
            if shape != want:
                raise ValueError(f"{source}: field '{key}' has shape {shape}; expected {want}")
        images = np.where(band_mask[:, None, None, :], images, np.float32(0))  # absent = 0
        id_array, problems = self._parse_ids(ids, rows)
        problems += checks.value_problems("z_spec", z_spec, rows)
        problems += checks.value_problems("ebv", ebv, rows)
        problems += checks.image_problems(images, band_mask, self.bands, rows)
        problems += checks.magnitude_problems(mags, rows)
        checks.raise_first(checks.attach_ids(problems, id_array, rows), source)
        batch = {"image": images, "rows": rows, "id": id_array, "fold": fold_of(id_array),
                 "z_spec": np.asarray(z_spec, np.float32), "ebv": np.asarray(ebv, np.float32),
                 "band_mask": band_mask}
        batch.update({f"mag_{k}": np.asarray(v, np.float32) for k, v in mags.items()})
        batch.update({k: np.asarray(v).astype(extra_dtype(k, v)) for k, v in extras.items()})
        return batch

    @staticmethod
    def _parse_ids(ids, rows) -> tuple[np.ndarray, list[checks.Problem]]:
        """int64 ids and their problems (vectorized for integer arrays)."""
        raw = np.asarray(ids)
        if raw.dtype.kind not in "iu":
            return checks.parse_ids(ids, rows)
        id_array = raw.astype(np.int64)
        problems = [checks.Problem(int(rows[i]), "id", "negative",
                                   f"is negative ({id_array[i]}); ids must be >= 0",
                                   obj_id=int(id_array[i]))
                    for i in np.flatnonzero(id_array < 0)]
        return id_array, problems + checks.duplicate_problems(id_array, rows)

    def _start(self, batch: dict) -> None:
        """Fixes the schema from the first batch (or the declared one)."""
        declared = self._declared
        mags = {k[4:]: None for k in batch if k.startswith("mag_")}
        extras = {k: v for k, v in batch.items()
                  if k not in _BASE_KEYS and not k.startswith("mag_")}
        inferred = Schema.infer(self.bands, batch["image"].shape, mags, extras)
        self.schema = Schema(
            bands=self.bands,
            stamp_size=declared["stamp_size"] or inferred.stamp_size,
            mag_bands=tuple(declared["mag_bands"]) if declared["mag_bands"] is not None
            else inferred.mag_bands,
            extras=tuple(declared["extras"].items()) if declared["extras"] is not None
            else inferred.extras)
        self._features = self.schema.features()
        image_bytes = int(np.prod(self.schema.image_shape)) * 4
        self._per_shard = self._per_shard or max(1, layout.TARGET_SHARD_BYTES // image_bytes)

    def _check_schema(self, batch: dict, source: str) -> None:
        """Every batch must carry the same features as the first."""
        stamp = batch["image"].shape[1]
        if stamp != self.schema.stamp_size:
            raise ValueError(f"{source}: field 'image' has stamps of {stamp} pixels; this data "
                             f"set has {self.schema.stamp_size}")
        want = set(self.schema.columns()) | {"image", "rows"}
        if set(batch) != want:
            raise ValueError(f"{source}: batch features {sorted(set(batch) - {'rows'})} differ "
                             f"from the data set's {sorted(want - {'rows'})}")

    def _write_records(self, batch: dict) -> None:
        """Serializes each object as a tf.train.Example into the current shard."""
        from array_record.python.array_record_module import ArrayRecordWriter

        memory.reuse_freed_memory()
        names = [k for k in batch if k != "rows"]
        for i in range(len(batch["id"])):
            if self._record_writer is None or self._shard_lengths[-1] >= self._per_shard:
                self._next_shard(ArrayRecordWriter)
            example = {k: batch[k][i] for k in names}
            self._record_writer.write(self._features.serialize_example(example))
            self._shard_lengths[-1] += 1

    def _next_shard(self, writer_class) -> None:
        if self._record_writer is not None:
            self._record_writer.close()
        path = self.staging / f"shard-{len(self._shard_lengths):05d}.partial"
        self._record_writer = writer_class(str(path), layout.ARRAY_RECORD_OPTIONS)
        self._shard_lengths.append(0)

    def write_text(self, filename: str, text: str) -> Path:
        """Adds a side file (e.g. a report) that appears with the data set."""
        path = self.staging / filename
        path.write_text(text)
        return path

    # -- finishing -------------------------------------------------------------------
    def abort(self) -> None:
        """Discards everything written so far."""
        if self._record_writer is not None:
            try:
                self._record_writer.close()
            except Exception:  # pylint: disable=broad-except  # already failing; clean up
                pass
            self._record_writer = None
        shutil.rmtree(self.staging, ignore_errors=True)

    def close(self) -> Path:
        """Finishes the data set and moves it to ``out_dir``; returns that path."""
        try:
            if self.count == 0:
                raise ValueError(f"{self.source}: no object to write")
            self._record_writer.close()
            self._record_writer = None
            catalogue = {k: np.concatenate(v) for k, v in self._columns.items()}
            self._check_unique_ids(catalogue["id"], np.concatenate(self._rows))
            self._finish_files(catalogue)
        except BaseException:
            self.abort()
            raise
        return self._move_into_place()

    def _check_unique_ids(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """Ids repeated across batches (each batch was checked on its own)."""
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            problems = checks.duplicate_problems(ids, rows)
            checks.raise_first(problems, self.source)

    def _finish_files(self, catalogue: dict[str, np.ndarray]) -> None:
        """Renames shards, writes catalogue.npz, photoz.json and the TFDS metadata."""
        count = len(self._shard_lengths)
        for k in range(count):
            (self.staging / f"shard-{k:05d}.partial").rename(
                self.staging / layout.shard_filename(self.name, k, count))
        with open(self.staging / layout.CATALOGUE_FILE, "wb") as f:
            np.savez(f, **catalogue)
        digest = hashlib.sha256((self.staging / layout.CATALOGUE_FILE).read_bytes()).hexdigest()
        meta = {"format_version": layout.FORMAT_VERSION, "name": self.name,
                "num_objects": int(self.count), "shard_lengths": self._shard_lengths,
                "catalogue_sha256": digest, "schema": self.schema.to_json(),
                "metadata": self.metadata}
        (self.staging / layout.META_FILE).write_text(json.dumps(meta, indent=2))
        _write_tfds_metadata(self.staging, self._features, self._shard_lengths, self.name)

    def _move_into_place(self) -> Path:
        old = None
        if self.out_dir.exists():
            old = self.out_dir.parent / f".{self.out_dir.name}.old-{uuid.uuid4().hex[:8]}"
            self.out_dir.rename(old)
        self.staging.rename(self.out_dir)
        if old is not None:
            shutil.rmtree(old)
        return self.out_dir


_BASE_KEYS = ("image", "rows", "id", "fold", "z_spec", "ebv", "band_mask")


def _write_tfds_metadata(data_dir: Path, features, shard_lengths: list[int], name: str) -> None:
    """dataset_info.json and features.json, so that TFDS can read the shards."""
    import tensorflow_datasets as tfds  # heavy import, only where needed

    num_bytes = sum(p.stat().st_size for p in data_dir.glob("*.array_record-*"))
    split = tfds.core.SplitInfo(name=layout.SPLIT, shard_lengths=list(shard_lengths),
                                num_bytes=num_bytes)
    tfds.folder_dataset.write_metadata(
        data_dir=data_dir, features=features, split_infos=[split], check_data=False,
        description=f"multimodal_photoz data set {name!r} (layout version "
                    f"{layout.FORMAT_VERSION}); see photoz.json")


def write_dataset(out_dir, *, images, z_spec, ebv, ids, bands, band_mask=None, mags=None,
                  extras=None, name: str, metadata: Mapping[str, Any] | None = None,
                  overwrite: bool = False, batch_size: int = 1024) -> Path:
    """Writes N objects as a data set (see ``layout``); returns its path.

    Args:
      out_dir: directory to create.
      images: (N, S, S, C) float32 fluxes, bands in wavelength order; may be a
        memory-mapped or HDF5 array (read ``batch_size`` objects at a time).
      z_spec: (N,) float32 >= 0.  ebv: (N,) float32 >= 0, mag.
      ids: (N,) int64, unique, >= 0.
      bands: channel band names, ascending wavelength (``"griz"``).
      band_mask: (N, C) bool, True where present (default all present).
      mags: band -> (N,) AB magnitudes (NaN = unknown), stored as ``mag_<band>``.
      extras: name -> (N,) numeric columns.
      name: data set name.
      metadata: JSON-able dict (survey, pixel_scale_arcsec, zeropoint_ab, stamp, seed, ...).
      overwrite: replace an existing directory.
    Raises:
      ValueError: a bad object (message names the object id, row and field);
        nothing is written.
    """
    n = len(z_spec)
    mags, extras = mags or {}, extras or {}
    with DatasetWriter(out_dir, bands=bands, name=name, metadata=metadata,
                       overwrite=overwrite) as writer:
        for start in range(0, max(n, 1), batch_size):
            part = slice(start, min(start + batch_size, n))
            writer.add(images=images[part], z_spec=np.asarray(z_spec)[part],
                       ebv=np.asarray(ebv)[part], ids=np.asarray(ids)[part],
                       band_mask=None if band_mask is None else np.asarray(band_mask)[part],
                       mags={k: np.asarray(v)[part] for k, v in mags.items()},
                       extras={k: np.asarray(v)[part] for k, v in extras.items()})
    return Path(out_dir)
