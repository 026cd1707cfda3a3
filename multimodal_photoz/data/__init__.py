"""Data sets of galaxy cutouts, in three parts:

- ``format/``: the on-disk data-set format and its writer and reader. A data
  set is a directory in tensorflow-datasets' ``array_record`` format plus a
  fast side catalogue (``format/layout.py``), read without TensorFlow; every
  object is checked once, where it enters (``format/checks.py``).
- ``ingest/``: ingestion of users' own files (an image cube, or a catalogue
  with FITS cutouts) into a data set: readers, stamp crop/pad, the driver and
  the ``photoz ingest`` command.
- ``pipeline.py``: the input pipeline, batches of a data set for training.

  write_dataset(out_dir, *, images, z_spec, ebv, ids, bands, ...) -> path
  DatasetWriter(out_dir, bands=..., name=...)  streaming writer (``.add(...)``)
  open_dataset(path) -> PhotozSource           random access, ``catalogue()``
  fold_of(ids, n_folds=5) -> (N,) int32        folds from a hash of the ids

Ids are int64 or text (string ids, kept exactly), one kind per data set
(``format/ids.py``). A data set is labelled (a z_spec for every object) or
unlabelled (``labelled=False``, ``photoz ingest --no-redshift``: every z_spec
NaN), which is predicted but not trained on or scored.
"""

from multimodal_photoz.data.format.checks import BadInputError
from multimodal_photoz.data.format.folds import N_FOLDS, fold_of
from multimodal_photoz.data.format.schema import Schema
from multimodal_photoz.data.format.source import PhotozSource, open_dataset
from multimodal_photoz.data.format.writer import DatasetWriter, write_dataset

__all__ = [
    "BadInputError",
    "DatasetWriter",
    "N_FOLDS",
    "PhotozSource",
    "Schema",
    "fold_of",
    "open_dataset",
    "write_dataset",
]
