"""The ArrayRecord shards of a data set being written, and their TFDS metadata.

Records go to ``shard-XXXXX.partial`` files in the staging directory, at most
``per_shard`` to a file; ``finish`` gives them TFDS's names (``layout``) and
writes ``dataset_info.json`` and ``features.json`` so that TFDS reads them.
Each shard's images are hashed as they are written (``image_digests``): a run's
data fingerprint uses the digests instead of reading every image back.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from multimodal_photoz.data.format import layout, memory


def image_bytes(image) -> bytes:
    """One image ((S, S, C), float32) as the bytes its shard's digest covers."""
    return np.ascontiguousarray(image, "<f4").tobytes()


class ShardWriter:
    """Serializes objects as tf.train.Example records into numbered shards.

    Args:
      directory: the staging directory of the data set.
      features: the TFDS ``FeaturesDict`` of one object (``Schema.features()``).
      per_shard: records per shard (>= 1).
    """

    def __init__(self, directory: Path, features, per_shard: int):
        self.directory = Path(directory)
        self.features = features
        self.per_shard = per_shard
        self.lengths: list[int] = []
        self._digests: list = []  # one running SHA-256 of the images per shard
        self._writer = None

    def write(self, batch: dict) -> None:
        """Writes the B objects of ``batch`` (feature -> (B, ...) array), in order."""
        from array_record.python.array_record_module import ArrayRecordWriter

        memory.reuse_freed_memory()
        for i in range(len(batch["id"])):
            if self._writer is None or self.lengths[-1] >= self.per_shard:
                self._next_shard(ArrayRecordWriter)
            self._writer.write(self.features.serialize_example(
                {k: v[i] for k, v in batch.items()}))
            self._digests[-1].update(image_bytes(batch["image"][i]))
            self.lengths[-1] += 1

    def _next_shard(self, writer_class) -> None:
        if self._writer is not None:
            self._writer.close()
        path = self.directory / f"shard-{len(self.lengths):05d}.partial"
        self._writer = writer_class(str(path), layout.ARRAY_RECORD_OPTIONS)
        self.lengths.append(0)
        self._digests.append(hashlib.sha256())

    def image_digests(self) -> list[str]:
        """Per shard, the SHA-256 (hex) of its images in record order (``image_bytes``)."""
        return [d.hexdigest() for d in self._digests]

    def close(self) -> None:
        """Closes the shard being written."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def abort(self) -> None:
        """Closes the shard being written, ignoring errors (the write is failing already)."""
        try:
            self.close()
        except Exception:  # pylint: disable=broad-except  # already failing; clean up
            self._writer = None

    def finish(self, name: str) -> None:
        """Renames the closed shards to TFDS's names and writes the TFDS metadata."""
        count = len(self.lengths)
        for k in range(count):
            (self.directory / f"shard-{k:05d}.partial").rename(
                self.directory / layout.shard_filename(name, k, count))
        _write_tfds_metadata(self.directory, self.features, self.lengths, name)


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
