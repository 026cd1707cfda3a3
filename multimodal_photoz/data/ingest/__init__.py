"""Ingestion of users' own files into a data set (``photoz ingest``).

  readers.py    ``READERS``: the reader of each kind of input, by name
  cube.py       an image cube: images, z_spec, E(B-V), ids in one .npz / HDF5 file
  catalogue.py  a FITS / CSV catalogue with per-object FITS cutouts
  columns.py    what a reader gives; the check of its scalar columns
  stamps.py     stamp geometry: centre-crop / zero-pad, band order
  assemble.py   chunks of input images -> (B, S, S, C) batches in wavelength order
  driver.py     ``ingest(reader, config)``: checks each object once, writes the data set
  report.py     the counts, provenance and excluded.csv of an ingestion
  cli.py        the ``photoz ingest`` subcommand
"""

from multimodal_photoz.data.ingest.catalogue import CatalogueInput
from multimodal_photoz.data.ingest.cube import CubeInput
from multimodal_photoz.data.ingest.driver import IngestConfig, ingest
from multimodal_photoz.data.ingest.readers import READERS
from multimodal_photoz.data.ingest.report import IngestReport

__all__ = ["CatalogueInput", "CubeInput", "IngestConfig", "IngestReport", "READERS", "ingest"]
