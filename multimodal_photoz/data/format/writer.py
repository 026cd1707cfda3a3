"""Writing data sets: checked, streamed in batches, moved into place at the end.

``DatasetWriter`` takes batches of objects (``add``) so that a data set of any
size is written with one batch in memory; ``write_dataset`` writes arrays held
in memory (or memory-mapped / HDF5 arrays, sliced batch by batch) through it.
Both check every object (``batch.Batch.check``); ``add_unchecked`` is for
callers that checked every object already (the ingest driver). A data set is
written labelled (every z_spec >= 0) or, with ``labelled=False``, unlabelled
(every z_spec NaN: objects to predict, not to train on); ``photoz.json`` records
which. The layout is described in ``layout``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import socket
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from multimodal_photoz.bands import check_wavelength_order
from multimodal_photoz.data.format import checks, layout
from multimodal_photoz.data.format import ids as id_kinds
from multimodal_photoz.data.format.batch import Batch
from multimodal_photoz.data.format.schema import Schema
from multimodal_photoz.data.format.shards import ShardWriter


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
      stamp_size, mag_bands, extras, id_kind: the schema; by default taken from the
        first batch (extras: name -> dtype; id_kind: 'int64' or 'string', see ``ids``).
      overwrite: replace an existing ``out_dir`` (only once the new one is complete),
        if it is a data set holding nothing else (``layout.check_replaceable``).
      source: what the input is called in error messages.
      objects_per_shard: objects per ArrayRecord file (default: about 256 MiB).
      labelled: every object has a spectroscopic redshift (z_spec >= 0); False: none
        has (a photometric sample to predict, not to train on): every z_spec is NaN.
        Recorded as ``labelled`` in ``photoz.json``.

    Attributes:
      removed_partials, kept_partials: staging directories of earlier, unfinished
        writes to ``out_dir``: removed (their writer ended), or kept (still running,
        or not recognisably this writer's).
    Raises:
      FileExistsError: ``out_dir`` exists and is not replaced (names it and why).
      ValueError: metadata that JSON cannot hold (NaN, inf).
      OSError: a file-system failure (disk full, read-only), naming ``out_dir``.
    """

    def __init__(self, out_dir, *, bands, name: str, metadata: Mapping[str, Any] | None = None,
                 stamp_size: int | None = None, mag_bands=None,
                 extras: Mapping[str, str] | None = None, id_kind: str | None = None,
                 overwrite: bool = False, source: str = "input arrays",
                 objects_per_shard: int | None = None, labelled: bool = True):
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() or self.out_dir.is_symlink():
            if not overwrite:
                raise FileExistsError(f"{self.out_dir} exists; pass --overwrite (overwrite=True "
                                      "in Python) to replace it")
            layout.check_replaceable(self.out_dir)
        self.bands = check_wavelength_order(bands)
        self.name = str(name)
        self.metadata = _json_metadata(self.out_dir, metadata)
        self.source = source
        self.labelled = bool(labelled)
        if id_kind is not None and id_kind not in id_kinds.KINDS:
            raise ValueError(f"id_kind must be one of {id_kinds.KINDS}, got {id_kind!r}")
        self._declared = dict(stamp_size=stamp_size, mag_bands=mag_bands, extras=extras,
                              id_kind=id_kind)
        self._per_shard = objects_per_shard
        self.schema: Schema | None = None
        self._shards: ShardWriter | None = None
        # Staging folders of earlier writes to out_dir: removed if their writer ended, else kept.
        self.removed_partials, self.kept_partials = _clean_stale_staging(self.out_dir)
        self.staging = self.out_dir.parent / f".{self.out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
        with self._io_errors():
            self.staging.mkdir(parents=True)
            (self.staging / layout.STAGING_OWNER_FILE).write_text(json.dumps(_owner()))
        self._columns: dict[str, list[np.ndarray]] = {}
        # (ids, rows) of the batches checked here, for duplicates across batches at the end.
        self._checked: list[tuple[np.ndarray, np.ndarray]] = []
        self.count = 0

    @contextlib.contextmanager
    def _io_errors(self):
        """A file-system failure (disk full, read-only) is an OSError naming ``out_dir``."""
        try:
            yield
        except OSError as err:
            raise OSError(err.errno, f"cannot write the data set {self.out_dir}: "
                          f"{err.strerror or err}", err.filename) from err
        except RuntimeError as err:  # ArrayRecord's writer reports I/O failures so
            raise OSError(f"cannot write the data set {self.out_dir}: {err}") from err

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
          z_spec: (B,) spectroscopic redshifts >= 0; NaN for every object of an
            unlabelled data set (``labelled=False``).
          ebv: (B,) Galactic E(B-V) >= 0, mag.
          ids: (B,) unique ids: integers >= 0, or text (see ``ids``; the kind of the
            first batch, or ``id_kind``, is the data set's).
          band_mask: (B, C) bool, True where the band is present (default all).
          mags: band -> (B,) AB magnitudes, NaN where unknown.
          extras: name -> (B,) numeric per-object columns.
          rows: (B,) input row numbers for error messages (default: running count).
          source: name of the input in error messages (default: the writer's).
        Raises:
          ValueError (``checks.BadInputError`` for a bad object): nothing of
          the batch is written.
        """
        source = source or self.source
        given = Batch.arrange(self.bands, self.count, images=images, z_spec=z_spec, ebv=ebv,
                              ids=ids, band_mask=band_mask, mags=mags, extras=extras, rows=rows,
                              source=source)
        id_array = given.check(self.bands, source, self.id_kind, self.labelled)
        count = self._append(given.stored(id_array), source)
        self._checked.append((id_array, given.rows))
        return count

    def add_unchecked(self, *, images, z_spec, ebv, ids, band_mask=None, mags=None,
                      extras=None) -> int:
        """Writes a batch of B objects that the caller has checked already; returns B.

        For callers that check each object where it enters, with the functions
        of ``checks`` (the ingest driver does, to stop or skip): the objects are
        not checked again, only the shapes of the batch and its features
        against the data set's, and its z_spec against the data set's labelling
        (``checks.label_problems``: NaN where unlabelled, a number where labelled).
        Arguments as in ``add``; ids: (B,) parsed ids (int64 >= 0, or numpy
        unicode), unique in the whole data set.

        Raises:
          checks.BadInputError: a z_spec that does not fit the labelling (names
            the object, a running row number and the field).
        """
        given = Batch.arrange(self.bands, self.count, images=images, z_spec=z_spec, ebv=ebv,
                              ids=ids, band_mask=band_mask, mags=mags, extras=extras,
                              source=self.source)
        stored_ids = id_kinds.as_stored(ids)
        checks.raise_first(checks.attach_ids(
            checks.label_problems(z_spec, given.rows, labelled=self.labelled), stored_ids,
            given.rows), self.source)
        return self._append(given.stored(stored_ids), self.source)

    def _append(self, batch: dict[str, np.ndarray], source: str) -> int:
        """Writes a batch of stored features (feature -> (B, ...) array); returns B."""
        if self.schema is None:
            self._start(batch)
        self._check_schema(batch, source)
        with self._io_errors():
            self._shards.write(batch)
        for key, value in batch.items():
            if key != "image":
                self._columns.setdefault(key, []).append(value)
        self.count += len(batch["id"])
        return len(batch["id"])

    @property
    def id_kind(self) -> str | None:
        """'int64' or 'string': the data set's id kind (None until declared or the first batch)."""
        return self.schema.id_kind if self.schema is not None else self._declared["id_kind"]

    def _start(self, batch: dict) -> None:
        """Fixes the schema from the first batch (or the declared one)."""
        declared = self._declared
        mags = {k[4:]: None for k in batch if k.startswith("mag_")}
        extras = {k: v for k, v in batch.items()
                  if k not in _BASE_KEYS and not k.startswith("mag_")}
        inferred = Schema.infer(self.bands, batch["image"].shape, mags, extras,
                                id_kinds.kind_of(batch["id"]))
        self.schema = Schema(
            bands=self.bands,
            stamp_size=declared["stamp_size"] or inferred.stamp_size,
            mag_bands=tuple(declared["mag_bands"]) if declared["mag_bands"] is not None
            else inferred.mag_bands,
            extras=tuple(declared["extras"].items()) if declared["extras"] is not None
            else inferred.extras,
            id_kind=declared["id_kind"] or inferred.id_kind)
        image_bytes = int(np.prod(self.schema.image_shape)) * 4
        self._shards = ShardWriter(self.staging, self.schema.features(), self._per_shard
                                   or max(1, layout.TARGET_SHARD_BYTES // image_bytes))

    def _check_schema(self, batch: dict, source: str) -> None:
        """Every batch must carry the same features as the first."""
        stamp = batch["image"].shape[1]
        if stamp != self.schema.stamp_size:
            raise ValueError(f"{source}: field 'image' has stamps of {stamp} pixels; this data "
                             f"set has {self.schema.stamp_size}")
        kind = id_kinds.kind_of(batch["id"])
        if kind != self.schema.id_kind:
            raise ValueError(f"{source}: field 'id': this batch's ids are {kind}, the data "
                             f"set's are {self.schema.id_kind}; one data set holds one kind")
        want = set(self.schema.columns()) | {"image"}
        if set(batch) != want:
            raise ValueError(f"{source}: batch features {sorted(batch)} differ "
                             f"from the data set's {sorted(want)}")

    def write_text(self, filename: str, text: str) -> Path:
        """Adds a side file (e.g. a report) that appears with the data set."""
        path = self.staging / filename
        with self._io_errors():
            path.write_text(text)
        return path

    # -- finishing -------------------------------------------------------------------
    def abort(self) -> None:
        """Discards everything written so far."""
        if self._shards is not None:
            self._shards.abort()
        shutil.rmtree(self.staging, ignore_errors=True)

    def close(self) -> Path:
        """Finishes the data set and moves it to ``out_dir``; returns that path."""
        try:
            if self.count == 0:
                raise ValueError(f"{self.source}: no object to write")
            catalogue = {k: np.concatenate(v) for k, v in self._columns.items()}
            self._check_unique_ids()
            with self._io_errors():
                self._shards.close()
                self._finish_files(catalogue)
                (self.staging / layout.STAGING_OWNER_FILE).unlink()
                return self._move_into_place()
        except BaseException:
            self.abort()
            raise

    def _check_unique_ids(self) -> None:
        """Ids repeated across the checked batches (each batch was checked on its own)."""
        if not self._checked:
            return
        ids, rows = (np.concatenate(parts) for parts in zip(*self._checked))
        _, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            checks.raise_first(checks.duplicate_problems(ids, rows), self.source)

    def _finish_files(self, catalogue: dict[str, np.ndarray]) -> None:
        """Writes catalogue.npz, photoz.json, the shards' names and their TFDS metadata."""
        with open(self.staging / layout.CATALOGUE_FILE, "wb") as f:
            np.savez(f, **catalogue)
        digest = hashlib.sha256((self.staging / layout.CATALOGUE_FILE).read_bytes()).hexdigest()
        meta = {"format_version": (layout.FORMAT_VERSION if self.labelled
                                   else layout.UNLABELLED_FORMAT_VERSION), "name": self.name,
                "num_objects": int(self.count), "shard_lengths": self._shards.lengths,
                "catalogue_sha256": digest, "schema": self.schema.to_json(),
                "labelled": self.labelled,
                "shard_images_sha256": self._shards.image_digests(),
                "metadata": self.metadata}
        (self.staging / layout.META_FILE).write_text(json.dumps(meta, indent=2))
        self._shards.finish(self.name)

    def _move_into_place(self) -> Path:
        old = None
        if self.out_dir.exists():
            layout.check_replaceable(self.out_dir)  # again: files may have appeared meanwhile
            old = self.out_dir.parent / f".{self.out_dir.name}.old-{uuid.uuid4().hex[:8]}"
            self.out_dir.rename(old)
        try:
            self.staging.rename(self.out_dir)
        except OSError:
            if old is not None:
                old.rename(self.out_dir)  # the previous data set stays
            raise
        if old is not None:
            shutil.rmtree(old)
        return self.out_dir


_BASE_KEYS = ("image", "id", "fold", "z_spec", "ebv", "band_mask")


def _json_metadata(out_dir: Path, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of ``metadata`` through JSON; a value JSON cannot hold (NaN, inf) is refused."""
    metadata = dict(metadata or {})
    for key, value in metadata.items():
        if isinstance(value, (float, np.floating)) and not math.isfinite(value):
            raise ValueError(f"{out_dir}: metadata {key!r} is {value}, not a finite number; "
                             "give a number or leave it out")
    try:
        return json.loads(json.dumps(metadata, allow_nan=False))
    except ValueError as err:  # a NaN deeper inside
        raise ValueError(f"{out_dir}: metadata holds a value JSON cannot store ({err})") from err


def _owner() -> dict[str, Any]:
    """Who writes a staging directory: this host and process."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _clean_stale_staging(out_dir: Path) -> tuple[list[Path], list[Path]]:
    """Removes the staging directories of earlier writes to ``out_dir`` whose writer ended.

    Only ``.<name>.partial-<8 hex>`` directories holding ``STAGING_OWNER_FILE`` that
    names this host and a process that no longer runs are removed; others are kept.

    Returns:
      (removed, kept) paths.
    """
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.partial-[0-9a-f]{{8}}")
    removed, kept = [], []
    parent = out_dir.parent
    if not parent.is_dir():
        return removed, kept
    for path in sorted(parent.iterdir()):
        if not (pattern.fullmatch(path.name) and path.is_dir() and not path.is_symlink()):
            continue
        if _writer_ended(path / layout.STAGING_OWNER_FILE):
            shutil.rmtree(path, ignore_errors=True)
            (removed if not path.exists() else kept).append(path)
        else:
            kept.append(path)
    return removed, kept


def _writer_ended(owner_file: Path) -> bool:
    """Whether the process named in a staging directory's owner file has ended."""
    try:
        owner = json.loads(owner_file.read_text())
        pid, host = int(owner["pid"]), owner["host"]
    except (OSError, ValueError, KeyError, TypeError):
        return False  # not made by this writer (or not readable): not ours to remove
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it runs, under another user
        return False
    return False


def write_dataset(out_dir, *, images, z_spec, ebv, ids, bands, band_mask=None, mags=None,
                  extras=None, name: str, metadata: Mapping[str, Any] | None = None,
                  overwrite: bool = False, batch_size: int = 1024, labelled: bool = True) -> Path:
    """Writes N objects as a data set (see ``layout``); returns its path.

    Args:
      out_dir: directory to create.
      images: (N, S, S, C) float32 fluxes, bands in wavelength order; may be a
        memory-mapped or HDF5 array (read ``batch_size`` objects at a time).
      z_spec: (N,) float32 >= 0; NaN for every object where ``labelled=False``.
      ebv: (N,) float32 >= 0, mag.
      ids: (N,) unique ids: int64 >= 0, or text (a column with any id that is not
        an integer is a string-id data set, see ``ids``).
      bands: channel band names, ascending wavelength (``"griz"``).
      band_mask: (N, C) bool, True where present (default all present).
      mags: band -> (N,) AB magnitudes (NaN = unknown), stored as ``mag_<band>``.
      extras: name -> (N,) numeric columns.
      name: data set name.
      metadata: JSON-able dict (survey, pixel_scale_arcsec, zeropoint_ab, stamp, seed, ...).
      overwrite: replace an existing data set (never another directory or a file).
      labelled: False for objects without spectroscopic redshifts (a photometric
        sample to predict): recorded in ``photoz.json``; ``photoz train`` and
        ``photoz evaluate`` refuse such a data set.
    Raises:
      ValueError: a bad object (message names the object id, row and field);
        nothing is written.
    """
    n = len(z_spec)
    mags, extras = mags or {}, extras or {}
    columns = {"images": images, "ebv": ebv, "ids": ids, "band_mask": band_mask,
               **{f"mag_{k}": v for k, v in mags.items()}, **extras}
    for field, values in columns.items():  # a shorter column would silently drop objects
        if values is not None and len(values) != n:
            raise ValueError(f"{out_dir}: field '{field}' has {len(values)} rows, z_spec has {n}; "
                             "every column needs one row per object; nothing written")
    id_kind = id_kinds.column_kind(ids)[0]  # of the whole column, not batch by batch
    with DatasetWriter(out_dir, bands=bands, name=name, metadata=metadata, id_kind=id_kind,
                       overwrite=overwrite, labelled=labelled) as writer:
        for start in range(0, max(n, 1), batch_size):
            part = slice(start, min(start + batch_size, n))
            writer.add(images=images[part], z_spec=np.asarray(z_spec)[part],
                       ebv=np.asarray(ebv)[part], ids=np.asarray(ids)[part],
                       band_mask=None if band_mask is None else np.asarray(band_mask)[part],
                       mags={k: np.asarray(v)[part] for k, v in mags.items()},
                       extras={k: np.asarray(v)[part] for k, v in extras.items()})
    return Path(out_dir)
