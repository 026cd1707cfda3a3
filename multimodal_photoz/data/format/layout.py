"""On-disk layout of a data set (format version 1).

A data set is one directory, a tensorflow-datasets (TFDS) ``array_record``
data set with one split, ``train``, holding every object (the cross-validation
folds are the ``fold`` feature, not splits), plus two side files::

    <dir>/
      dataset_info.json       TFDS metadata (name, split, shard lengths, file format)
      features.json           TFDS FeaturesDict of one object (see below)
      <name>-train.array_record-00000-of-0000K ...
                              K ArrayRecord shards; record j of a shard is one
                              object, a serialized tf.train.Example proto
      catalogue.npz           every non-image feature as (N,) columns, in record order
      photoz.json             format version, name, schema (bands, stamp size,
                              magnitude bands, extras), ``labelled`` (false: no
                              object has a spectroscopic redshift; absent in data
                              sets written before it: true), user metadata, shard lengths,
                              SHA-256 of catalogue.npz, and (``shard_images_sha256``)
                              per shard the SHA-256 of its images in record order

Features of one object (``features.json``):

  ``image``      Tensor (S, S, C) float32, ``encoding='bytes'``: the raw
                 little-endian float32 pixels, row-major (y, x, band), bands in
                 ascending order of wavelength; absent bands are all zero.
                 Background-subtracted fluxes; mag_AB = zeropoint_ab - 2.5 log10(flux)
                 with ``zeropoint_ab`` from the metadata.
  ``z_spec``     Scalar float32, spectroscopic redshift (>= 0); NaN for every object
                 of an unlabelled data set (``labelled: false``).
  ``ebv``        Scalar float32, Galactic E(B-V) in mag (>= 0).
  ``id``         Scalar int64, unique object id (>= 0); or, in a data set of string
                 ids (``schema.id_kind == 'string'``, see ``ids``), Text: the id's
                 UTF-8 bytes in a bytes_list (numpy unicode in ``catalogue.npz``).
  ``fold``       Scalar int32, ``splitmix64(id) mod 5``, or for string ids the first
                 8 bytes (little-endian) of BLAKE2b of the UTF-8 id, mod 5 (``folds``).
  ``band_mask``  Tensor (C,) bool (stored as int64 0/1), True where the band is present.
  ``mag_<band>`` Scalar float32, AB magnitude, NaN where unknown (only for the
                 bands given when writing).
  extras         Scalar float32 / int64 / bool per-object columns (e.g. simulated
                 physical parameters); wider floats are stored as float32.

Records are written with ArrayRecord options ``group_size:1`` (one record per
chunk, for random access) and snappy compression (fast; float noise hardly
compresses). Any TFDS reader without TensorFlow reads the data set:
``tfds.builder_from_directory(dir).as_data_source('train')[i]``. This package
reads it faster (``open_dataset``): image bytes straight into batch arrays, the
scalar columns from ``catalogue.npz``, checked against the records' ids.

Writing is atomic: everything goes to a hidden sibling directory,
``.<dir>.partial-<8 hex>``, that is renamed into place once complete, so a failed
write leaves nothing behind. A writer killed before it could clean up leaves
that directory, with ``STAGING_OWNER_FILE`` (host and process) in it; the next
write to the same ``<dir>`` removes it once that process has ended.

A data set is replaced (``--overwrite``) only when it is recognisably one:
a directory with a readable ``photoz.json`` and nothing but the files above
(``foreign_entries``); anything else is the user's and is never deleted.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

FORMAT_VERSION = 1
# An unlabelled data set (every z_spec NaN, ``labelled: false``) is written as version 2,
# so that a package older than the field refuses it instead of training on NaN labels.
UNLABELLED_FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (FORMAT_VERSION, UNLABELLED_FORMAT_VERSION)
SPLIT = "train"
META_FILE = "photoz.json"
CATALOGUE_FILE = "catalogue.npz"
ARRAY_RECORD_OPTIONS = "group_size:1,snappy"
# Reader options for random access: no read-ahead, no internal thread pool
# (the pipeline's grain threads already read batches in parallel).
ARRAY_RECORD_READ_OPTIONS = "readahead_buffer_size:0,max_parallelism:0"
# Shards of about this size keep file counts low and writes streaming.
TARGET_SHARD_BYTES = 256 * 2**20
# The objects an ingestion left out, and why (written by ``photoz ingest``).
EXCLUDED_FILE = "excluded.csv"
# Every name a data set directory may hold (a new file of the writer goes here too).
DATASET_FILES = (META_FILE, CATALOGUE_FILE, "dataset_info.json", "features.json",
                 f"*-{SPLIT}.array_record-*", EXCLUDED_FILE)
# In a staging directory only: who writes it ({"host": ..., "pid": ...}).
STAGING_OWNER_FILE = ".photoz-writer.json"


def foreign_entries(directory: Path) -> list[str]:
    """Names in ``directory`` that are not files of a data set (sorted)."""
    return sorted(p.name for p in Path(directory).iterdir()
                  if not (p.is_file() and not p.is_symlink()
                          and any(fnmatch.fnmatchcase(p.name, f) for f in DATASET_FILES)))


def check_replaceable(path: Path) -> None:
    """Passes only if ``path`` is a data set directory holding nothing else.

    Raises:
      FileExistsError: it is not (the message names the path and why); nothing is touched.
    """
    path = Path(path)
    keep = ("; it is not replaced: choose another --out, or move it away yourself")
    if not path.is_dir() or path.is_symlink():
        raise FileExistsError(f"{path} is not a photoz data set (not a directory){keep}")
    try:
        meta = json.loads((path / META_FILE).read_text())
    except (OSError, ValueError):
        meta = None
    if not isinstance(meta, dict) or "format_version" not in meta:
        raise FileExistsError(f"{path} is not a photoz data set (no readable {META_FILE}){keep}")
    foreign = foreign_entries(path)
    if foreign:
        raise FileExistsError(f"{path} holds files that are not part of a data set "
                              f"({', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''})"
                              f"{keep}")


def tfds_name(name: str) -> str:
    """A TFDS-valid data set name (``[a-zA-Z][a-zA-Z0-9_]*``) made from ``name``."""
    clean = re.sub(r"\W", "_", str(name).strip(), flags=re.ASCII)
    return clean if re.match(r"^[a-zA-Z]", clean) else "ds_" + clean


def shard_filename(name: str, index: int, count: int) -> str:
    """TFDS's default shard name ``<name>-train.array_record-XXXXX-of-YYYYY``."""
    return f"{tfds_name(name)}-{SPLIT}.array_record-{index:05d}-of-{count:05d}"
