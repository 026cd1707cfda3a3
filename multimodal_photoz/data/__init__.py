"""Data sets of galaxy cutouts: writing, reading, ingestion and the input pipeline.

A data set is a directory in tensorflow-datasets' ``array_record`` format plus
a fast side catalogue (layout in ``multimodal_photoz.data.layout``); it is read
without TensorFlow.

  write_dataset(out_dir, *, images, z_spec, ebv, ids, bands, ...) -> path
  DatasetWriter(out_dir, bands=..., name=...)  streaming writer (``.add(...)``)
  open_dataset(path) -> PhotozSource           random access, ``catalogue()``
  fold_of(ids, n_folds=5) -> (N,) int32        folds from a hash of the ids
"""

from multimodal_photoz.data.checks import BadInputError
from multimodal_photoz.data.folds import N_FOLDS, fold_of
from multimodal_photoz.data.schema import Schema
from multimodal_photoz.data.source import PhotozSource, open_dataset
from multimodal_photoz.data.writer import DatasetWriter, write_dataset

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
