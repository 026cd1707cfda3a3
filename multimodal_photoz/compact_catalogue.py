"""The compact catalogue of ``photoz predict --catalogue``: one row of point
estimates per object and no PDF, as FITS or Parquet, written block by block.

Columns (N rows, in the order of ``predictions.h5``):

================  =======  =========================================================
column            dtype    meaning
================  =======  =========================================================
``id``            int64    object id; string ids: their UTF-8 text (FITS ``<w>A``)
``z_median``      float32  median of the PDF (the paper's z_phot)
``z_mean``        float32  mean of the PDF
``z_mode``        float32  centre of the most probable bin
``z_regression``  float32  ensemble mean of the regression head
``z_lo68``        float32  16th percentile of the PDF
``z_hi68``        float32  84th percentile of the PDF
``odds``          float32  PDF mass within z_median +- 0.1 (1 + z_median)
================  =======  =========================================================

Percentiles read the piecewise-linear CDF of the histogram PDF (probability
uniform inside a bin: ``metrics.pdf_quantile``). ``odds`` is the idea of BPZ's
ODDS (Benitez 2000, ApJ 536, 571: the probability within a window around the
best redshift, a measure of how peaked the PDF is), here centred on the median
with half-width ``ODDS_HALF_WIDTH`` (1 + z_median), the window clipped to the
redshift grid. Every column comes from the float32 PDF, whatever ``--pdf-dtype``
stores in ``predictions.h5``.

Formats (``FORMATS``, chosen by the file's suffix): FITS (astropy builds the
header; rows are appended as big-endian records, so nothing grows with N) in
HDU 1, ``EXTNAME = 'PHOTOZ'``; Parquet (pyarrow, one row group per block).
Either is written atomically (``files.atomic_path``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from multimodal_photoz import files, metrics

ODDS_HALF_WIDTH = 0.1  # in units of (1 + z_median)
PERCENTILES = {"z_lo68": 0.16, "z_hi68": 0.84}
# Computed here from the PDFs; the rest are copied from predictions.h5.
SUMMARY_COLUMNS = ("z_lo68", "z_hi68", "odds")
COLUMNS = ("id", "z_median", "z_mean", "z_mode", "z_regression") + SUMMARY_COLUMNS


def summary_columns(pdf: np.ndarray, bin_edges: np.ndarray, z_median: np.ndarray
                    ) -> dict[str, np.ndarray]:
    """``z_lo68``, ``z_hi68`` and ``odds`` of histogram PDFs.

    Args:
      pdf: (n, n_bins) probabilities (rows are divided by their sums).
      bin_edges: (n_bins+1,) redshift bin edges.
      z_median: (n,) the PDFs' medians (the window of ``odds`` is centred on them).
    Returns:
      name -> (n,) float32; ``odds`` in [0, 1].
    """
    out = {name: metrics.pdf_quantile(pdf, bin_edges, q).astype(np.float32)
           for name, q in PERCENTILES.items()}
    centre = np.asarray(z_median, np.float64)
    half = ODDS_HALF_WIDTH * (1.0 + centre)
    # ``pit`` is the CDF at a redshift (clipped to the grid: 0 below it, 1 above)
    mass = metrics.pit(pdf, bin_edges, centre + half) - metrics.pit(pdf, bin_edges, centre - half)
    out["odds"] = np.clip(mass, 0.0, 1.0).astype(np.float32)
    return out


def _float_columns() -> tuple[str, ...]:
    return COLUMNS[1:]


class FitsTable:
    """A FITS binary table whose header states the final row count, then rows
    appended as big-endian records (astropy cannot append to a table)."""

    requires = "astropy"

    def __init__(self, path: str, n_rows: int, id_dtype: np.dtype):
        from astropy.io import fits

        text_ids = id_dtype.kind == "S"
        self.record = np.dtype([("id", f"S{id_dtype.itemsize}" if text_ids else ">i8")]
                               + [(name, ">f4") for name in _float_columns()])
        columns = [fits.Column(name="id", format=f"{id_dtype.itemsize}A" if text_ids else "K")]
        columns += [fits.Column(name=name, format="E") for name in _float_columns()]
        hdu = fits.BinTableHDU.from_columns(columns, nrows=0, name="PHOTOZ")
        hdu.header["NAXIS2"] = int(n_rows)
        hdu.header["ODDSHW"] = (ODDS_HALF_WIDTH, "odds: mass in z_median +- ODDSHW*(1+z_median)")
        if hdu.header["NAXIS1"] != self.record.itemsize:  # our records must be FITS's rows
            raise RuntimeError(f"FITS row of {hdu.header['NAXIS1']} bytes, records of "
                               f"{self.record.itemsize}")
        self.n_rows, self.written = int(n_rows), 0
        self._file = open(path, "wb")
        self._file.write(fits.PrimaryHDU().header.tostring().encode("ascii"))
        self._file.write(hdu.header.tostring().encode("ascii"))

    def write(self, columns: Mapping[str, np.ndarray]) -> None:
        rows = np.empty(len(columns["id"]), self.record)
        for name in COLUMNS:
            values = columns[name]
            rows[name] = (np.char.encode(np.asarray(values, str), "utf-8")
                          if name == "id" and np.asarray(values).dtype.kind == "U" else values)
        self._file.write(rows.tobytes())
        self.written += len(rows)

    def finish(self) -> None:
        size = self.n_rows * self.record.itemsize
        self._file.write(b"\0" * (-size % 2880))  # the data unit fills whole 2880-byte blocks

    def close(self) -> None:
        self._file.close()


class ParquetTable:
    """A Parquet file written with pyarrow, one row group per block."""

    requires = "pyarrow"

    def __init__(self, path: str, n_rows: int, id_dtype: np.dtype):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self.schema = pa.schema([("id", pa.string() if id_dtype.kind == "S" else pa.int64())]
                                + [(name, pa.float32()) for name in _float_columns()],
                                metadata={"odds_half_width": str(ODDS_HALF_WIDTH)})
        self.n_rows, self.written = int(n_rows), 0
        self._writer = pq.ParquetWriter(path, self.schema)

    def write(self, columns: Mapping[str, np.ndarray]) -> None:
        ids = np.asarray(columns["id"])
        arrays = [self._pa.array(ids.tolist() if ids.dtype.kind == "U" else ids)]
        arrays += [self._pa.array(np.asarray(columns[name], np.float32))
                   for name in _float_columns()]
        self._writer.write_table(self._pa.Table.from_arrays(arrays, schema=self.schema))
        self.written += len(ids)

    def finish(self) -> None:
        pass

    def close(self) -> None:
        self._writer.close()


# File suffix -> table writer (lower case).
FORMATS = {".fits": FitsTable, ".fit": FitsTable, ".parquet": ParquetTable}


def format_of(path: str) -> type:
    """The table writer for ``path`` (by suffix).

    Raises:
      ValueError: the suffix is not one of ``FORMATS``, or the package that
        writes it is not installed (the message names it).
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"--catalogue {path}: unknown format {suffix or '(no suffix)'}; give a "
                         f"file ending in {', '.join(FORMATS)}")
    table = FORMATS[suffix]
    if importlib.util.find_spec(table.requires) is None:
        raise ValueError(f"--catalogue {path}: writing {suffix} needs the package "
                         f"{table.requires!r}, which is not installed (pip install "
                         f"{table.requires}); or give a .fits file")
    return table


def check_path(path: str) -> None:
    """Refuses a ``--catalogue`` that cannot be written, before any work."""
    format_of(path)
    if os.path.isdir(path):
        raise ValueError(f"--catalogue {path}: is a directory; give a file path")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"--catalogue {path}: folder {folder} does not exist")


@contextlib.contextmanager
def catalogue_writer(path: str, n_rows: int, id_dtype: Any) -> Iterator[Any]:
    """A table at ``path`` taking ``n_rows`` rows, in blocks, through ``.write(columns)``
    (``columns``: ``COLUMNS`` -> (n,) arrays); renamed into place on a clean exit.

    Args:
      id_dtype: ``predictions.id_storage_dtype`` of all the ids (int64, or
        fixed-width UTF-8 bytes, whose width the FITS column takes).
    Raises:
      ValueError: another number of rows than ``n_rows`` was written.
    """
    table_type = format_of(path)
    with files.atomic_path(path) as tmp:
        table = table_type(tmp, n_rows, np.dtype(id_dtype))
        try:
            yield table
            if table.written != table.n_rows:
                raise ValueError(f"{path}: {table.written} rows written, {table.n_rows} declared")
            table.finish()
        finally:
            table.close()
