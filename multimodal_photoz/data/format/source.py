"""Random-access reading of a data set (the grain / TFDS data-source protocol).

``open_dataset(path)[i]`` decodes one object; ``read_batch(indices)`` fills a
batch of images straight from the record bytes and takes the scalar columns
from the in-memory catalogue, the fast path of the input pipeline.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from multimodal_photoz.data.format import ids as id_kinds
from multimodal_photoz.data.format import layout, memory, wire
from multimodal_photoz.data.format.schema import Schema
from multimodal_photoz.data.format.shards import image_bytes

# Above this many image bytes, ``images_sha256`` of a data set written without
# digests hashes an evenly spaced sample of images instead of all of them.
FULL_HASH_BYTES = 256 * 2**20
SAMPLED_IMAGES = 1024


class PhotozSource:
    """A data set opened for random access; see ``layout`` for the files.

    Attributes:
      path: the data set directory.
      name: its name.
      schema: its ``Schema``.
      bands: band names of the image channels (wavelength order).
      stamp_size: S, images are (S, S, C).
      metadata: the dict given when writing.
      labelled: True when every object has a spectroscopic redshift; False for a
        data set written without (``labelled: false`` in photoz.json, every z_spec
        NaN): it can be predicted, not trained on or scored (``check_labelled``).
    """

    def __init__(self, path):
        self.path = Path(path)
        meta_path = self.path / layout.META_FILE
        if not meta_path.is_file():
            raise FileNotFoundError(f"{self.path}: not a data set ({layout.META_FILE} is missing)")
        meta = json.loads(meta_path.read_text())
        if meta.get("format_version") not in layout.READABLE_FORMAT_VERSIONS:
            raise ValueError(f"{meta_path}: format version {meta.get('format_version')} is not "
                             f"one of {layout.READABLE_FORMAT_VERSIONS}")
        self.name: str = meta["name"]
        self.schema = Schema.from_json(meta["schema"])
        self.metadata: dict[str, Any] = meta.get("metadata", {})
        self.labelled: bool = meta.get("labelled", True)  # absent: written before the field
        if not isinstance(self.labelled, bool):
            raise ValueError(f"{meta_path}: 'labelled' is {self.labelled!r}; expected true or "
                             "false")
        if self.labelled != (meta["format_version"] == layout.FORMAT_VERSION):
            raise ValueError(f"{meta_path}: 'labelled' is {str(self.labelled).lower()} but the "
                             f"format version is {meta['format_version']} (unlabelled data "
                             f"sets are version {layout.UNLABELLED_FORMAT_VERSION})")
        lengths = [int(n) for n in meta["shard_lengths"]]
        self._starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self._shards = [self.path / layout.shard_filename(self.name, k, len(lengths))
                        for k in range(len(lengths))]
        for shard in self._shards:
            if not shard.is_file():
                raise FileNotFoundError(f"{self.path}: shard {shard.name} is missing")
        self._catalogue = _load_catalogue(self.path, meta, self.schema)
        self._image_digests = meta.get("shard_images_sha256")  # (K,) hex, from the writer
        self._local = threading.local()
        self._check_records()

    # -- description -----------------------------------------------------------------
    @property
    def bands(self) -> tuple[str, ...]:
        return self.schema.bands

    @property
    def stamp_size(self) -> int:
        return self.schema.stamp_size

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __repr__(self) -> str:
        return (f"PhotozSource({str(self.path)!r}, n={len(self)}, bands={''.join(self.bands)!r}, "
                f"stamp={self.stamp_size}{'' if self.labelled else ', unlabelled'})")

    def check_labelled(self) -> None:
        """Refuses a data set without spectroscopic redshifts, for what needs them:
        training (``photoz train``, the RAIL informer) and scoring.

        Raises:
          ValueError: one line naming the data set.
        """
        if not self.labelled:
            raise ValueError(f"{self.path}: this data set has no spectroscopic redshifts (it "
                             "is unlabelled, e.g. ingested with --no-redshift): it can be "
                             "predicted (photoz predict), not trained on or scored")

    # pickled for grain worker processes: readers are reopened there
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_local"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    # -- reading ---------------------------------------------------------------------
    def catalogue(self) -> dict[str, np.ndarray]:
        """Every non-image feature as a read-only (N,) column ((N, C) for band_mask)."""
        return dict(self._catalogue)

    def __getitem__(self, index) -> dict[str, Any]:
        """Decodes object ``index`` from its record: image, z_spec, ebv, id, fold, ..."""
        (record,) = self._records(np.asarray([self._check_index(index)]))
        return self._decode(record)

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        """Decodes several objects (one batched read per shard)."""
        idx = np.asarray([self._check_index(i) for i in indices], np.int64)
        return [self._decode(r) for r in self._records(idx)]

    def read_images(self, indices, out: np.ndarray | None = None) -> np.ndarray:
        """Images of the objects at ``indices``; an index of -1 gives zeros.

        Args:
          indices: (B,) int, in [0, N) or -1 for a padding row.
          out: optional (B, S, S, C) float32 array to fill.
        Returns:
          (B, S, S, C) float32.
        """
        from tensorflow_datasets.proto import tf_example_pb2

        idx = np.asarray(indices, np.int64)
        if out is None:
            out = aligned_empty((len(idx),) + self.schema.image_shape)
        real = np.flatnonzero(idx >= 0)
        out[idx < 0] = 0.0
        if (idx >= len(self)).any() or (idx < -1).any():
            raise IndexError(f"{self.path}: indices out of range [0, {len(self)}): "
                             f"{idx[(idx >= len(self)) | (idx < -1)][:5].tolist()}")
        ids = self._catalogue["id"]
        n_bytes = out[0].nbytes if len(out) else 0
        for j, record in zip(real, self._records(idx[real])):
            located = wire.image_and_id(record)
            if located is None or located[1] != n_bytes:  # not our writer's layout
                feature = tf_example_pb2.Example.FromString(record).features.feature
                payload, offset = feature["image"].bytes_list.value[0], 0
                record_id = _feature_value(feature["id"])
            else:
                payload, (offset, _, record_id) = record, located
            if isinstance(record_id, bytes):  # a string id: its UTF-8 bytes
                record_id = record_id.decode("utf-8", "replace")
            if record_id != ids[idx[j]]:
                raise ValueError(f"{self.path}: record {idx[j]} has id {record_id} but "
                                 f"{layout.CATALOGUE_FILE} says {ids[idx[j]]}; the data set is "
                                 "inconsistent")
            out[j] = np.frombuffer(payload, np.float32, count=out[j].size,
                                   offset=offset).reshape(self.schema.image_shape)
        return out

    def images_sha256(self) -> str:
        """A SHA-256 (hex) that changes when any image changes.

        From the digests the writer stored per shard; for a data set written
        without them, of every image (``image_bytes``), or above
        ``FULL_HASH_BYTES`` of ``SAMPLED_IMAGES`` evenly spaced ones and the
        shards' sizes.
        """
        digest = hashlib.sha256()
        if isinstance(self._image_digests, list) and len(self._image_digests) == len(self._shards):
            digest.update("".join(self._image_digests).encode())
            return digest.hexdigest()
        n_bytes = len(self) * int(np.prod(self.schema.image_shape)) * 4
        sample = (np.arange(len(self)) if n_bytes <= FULL_HASH_BYTES else
                  np.unique(np.linspace(0, len(self) - 1, SAMPLED_IMAGES).astype(np.int64)))
        for start in range(0, len(sample), 256):
            for image in self.read_images(sample[start:start + 256]):
                digest.update(image_bytes(image))
        if n_bytes > FULL_HASH_BYTES:
            digest.update(str([s.stat().st_size for s in self._shards]).encode())
        return digest.hexdigest()

    def read_batch(self, indices) -> dict[str, np.ndarray]:
        """Images and catalogue columns of a batch; rows with index -1 are zeros.

        Returns:
          'image' (B, S, S, C) float32 and every catalogue column (B, ...);
          padding rows hold zeros ('id' = -1, or '' for string ids).
        """
        idx = np.asarray(indices, np.int64)
        batch = {"image": self.read_images(idx)}
        pad = idx < 0
        safe = np.where(pad, 0, idx)
        for name, column in self._catalogue.items():
            values = column[safe]
            values[pad] = id_kinds.padding(column) if name == "id" else 0
            batch[name] = values
        return batch

    # -- internals -------------------------------------------------------------------
    def _check_index(self, index) -> int:
        i = int(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"{self.path}: index {index} out of range for {len(self)} objects")
        return i

    def _reader(self, shard: int):
        """This thread's ArrayRecord reader of one shard, opened on first use."""
        readers = getattr(self._local, "readers", None)
        if readers is None:
            readers = self._local.readers = {}
        if shard not in readers:
            from array_record.python.array_record_module import ArrayRecordReader

            memory.reuse_freed_memory()
            try:
                readers[shard] = ArrayRecordReader(str(self._shards[shard]),
                                                   layout.ARRAY_RECORD_READ_OPTIONS)
            except RuntimeError as err:  # ArrayRecord reports a damaged file so
                raise self._damaged(shard, err) from err
        return readers[shard]

    def _damaged(self, shard: int, reason) -> ValueError:
        return ValueError(f"{self._shards[shard]}: unreadable shard of the data set ({reason}); "
                          "the file is truncated or damaged: write the data set again "
                          "(photoz ingest ... --overwrite)")

    def _records(self, idx: np.ndarray) -> list[bytes]:
        """Serialized records at global indices (all valid), in the order given."""
        shard = np.searchsorted(self._starts, idx, side="right") - 1
        records: list[bytes | None] = [None] * len(idx)
        for s in np.unique(shard):
            where = np.flatnonzero(shard == s)
            offsets = (idx[where] - self._starts[s]).tolist()
            try:
                read = self._reader(int(s)).read(offsets)
            except RuntimeError as err:
                raise self._damaged(int(s), err) from err
            for j, record in zip(where, read):
                records[j] = record
        return records

    def _decode(self, record: bytes) -> dict[str, Any]:
        """One serialized tf.train.Example -> numpy values."""
        from tensorflow_datasets.proto import tf_example_pb2

        feature = tf_example_pb2.Example.FromString(record).features.feature
        pixels = np.frombuffer(feature["image"].bytes_list.value[0], np.float32)
        out: dict[str, Any] = {"image": pixels.reshape(self.schema.image_shape).copy()}
        for name, (dtype, shape) in self.schema.columns().items():
            if dtype == "string":
                out[name] = np.str_(_feature_value(feature[name]).decode("utf-8"))
                continue
            f = feature[name]
            values = f.float_list.value if f.HasField("float_list") else f.int64_list.value
            value = np.asarray(values).astype(dtype).reshape(shape)
            out[name] = value if shape else value[()]
        return out

    def _check_records(self) -> None:
        """Every shard must hold its records (a truncated one may open with fewer),
        and the first and last records' ids must match the catalogue."""
        for k in range(len(self._shards)):
            found, expected = self._reader(k).num_records(), self._starts[k + 1] - self._starts[k]
            if found != expected:
                raise self._damaged(k, f"{found} records, {layout.META_FILE} says {expected}")
        for i in {0, len(self) - 1}:
            if self[i]["id"] != self._catalogue["id"][i]:
                raise ValueError(f"{self.path}: {layout.CATALOGUE_FILE} does not match the "
                                 f"records (object {i})")


def _feature_value(feature):
    """The single value of a tf.train.Feature: int, float or bytes."""
    kind = feature.WhichOneof("kind")
    return getattr(feature, kind).value[0] if kind else None


def aligned_empty(shape: tuple[int, ...], dtype=np.float32, alignment: int = 64) -> np.ndarray:
    """An uninitialized array whose data starts on an ``alignment``-byte boundary.

    XLA's CPU client adopts such host buffers without copying them.
    """
    dtype = np.dtype(dtype)
    n_bytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(n_bytes + alignment, np.uint8)
    start = (-raw.ctypes.data) % alignment
    return raw[start:start + n_bytes].view(dtype).reshape(shape)


def _load_catalogue(path: Path, meta: dict, schema: Schema) -> dict[str, np.ndarray]:
    """Loads catalogue.npz, checking its digest, columns and lengths."""
    file = path / layout.CATALOGUE_FILE
    data = file.read_bytes()
    if hashlib.sha256(data).hexdigest() != meta["catalogue_sha256"]:
        raise ValueError(f"{file}: SHA-256 differs from {layout.META_FILE}; the catalogue was "
                         "changed after the data set was written")
    with np.load(file, allow_pickle=False) as npz:
        columns = {k: npz[k] for k in npz.files}
    expected = schema.columns()
    if set(columns) != set(expected):
        raise ValueError(f"{file}: columns {sorted(columns)} differ from the schema's "
                         f"{sorted(expected)}")
    for name, column in columns.items():
        if len(column) != meta["num_objects"]:
            raise ValueError(f"{file}: column {name!r} has {len(column)} rows, not "
                             f"{meta['num_objects']}")
        column.setflags(write=False)
    return columns


def open_dataset(path) -> PhotozSource:
    """Opens a data set written by ``write_dataset`` for random access.

    ``len(source)``; ``source[i]`` -> {'image': (S,S,C) float32, 'z_spec': float32,
    'ebv': float32, 'id': int64 or str (``ids``), 'fold': int32, 'band_mask': (C,) bool,
    'mag_<band>': float32, extras}; ``source.__getitems__(indices)``;
    ``source.catalogue()`` -> columns (N,); ``source.bands``, ``.stamp_size``,
    ``.metadata``, ``.labelled`` (False: no spectroscopic redshifts, z_spec NaN;
    ``.check_labelled()`` refuses such a data set where labels are needed).
    """
    return PhotozSource(path)
