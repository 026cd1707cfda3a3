"""The on-disk data-set format: what is stored, how it is written and read.

  layout.py   the files of a data set (format version, names, ArrayRecord options)
  schema.py   the features of one object: names, dtypes, shapes
  ids.py      object ids: int64 or text; kinds, canonical string, storage
  checks.py   what makes an object valid; ``Problem`` and ``BadInputError``
  batch.py    a batch on its way in: shapes, the per-object checks, stored dtypes
  writer.py   ``DatasetWriter`` and ``write_dataset``
  source.py   ``open_dataset`` / ``PhotozSource``: random access for the pipeline
  wire.py     zero-copy location of the image bytes in a record
  folds.py    cross-validation folds from a hash of the ids (int64 or string)
  memory.py   allocator tuning for reading large records

The public names are re-exported by ``multimodal_photoz.data``.
"""
