"""Readers of users' files, by kind of input:
``READERS[kind](path, bands=..., labelled=..., **options)``.

Every reader has:

  source: str                 what the input is called in messages
  inputs: tuple[Path, ...]    the files and directories it reads (``--out`` must keep apart)
  bands: tuple[str, ...]      band names of its channels, in the input's order
  n: int                      objects in the input
  OPTIONS: tuple[str, ...]    its keyword options (``photoz ingest`` options of the same names)
  labelled: bool              False (keyword ``labelled=False``, ``photoz ingest
                              --no-redshift``): the input has no redshifts, none is read
  columns() -> RawColumns     the scalars of every object, as read (``z_spec`` None
                              where not ``labelled``)
  chunks(batch_size, ids) -> Iterator[Chunk]
                              the images, ``batch_size`` objects at a time; ``ids``
                              (N,) parsed ids (int64, or numpy unicode for string
                              ids), -1 or '' where unusable
  close()

A new kind of input is one entry here (and its ``photoz ingest`` options).
"""

from __future__ import annotations

from multimodal_photoz.data.ingest.catalogue import CatalogueInput
from multimodal_photoz.data.ingest.cube import CubeInput

READERS: dict[str, type] = {"cube": CubeInput, "catalogue": CatalogueInput}
