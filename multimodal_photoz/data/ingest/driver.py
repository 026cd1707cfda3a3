"""Ingestion of users' own data into a data set: the driver.

Inputs (``readers.READERS``): an image cube (.npz / HDF5), or a catalogue
(FITS table / CSV) with per-object FITS cutouts. What ingestion does, per object:

- bands are reordered by wavelength, whatever order ``bands`` gives;
- stamps are centre-cropped or zero-padded to ``stamp`` pixels when it is
  given (counted in the report); otherwise every stamp must have the size of
  the first one;
- a band is *absent* when its cutout file does not exist (or, in a
  multi-extension file, has no extension), or when all of its pixels are NaN
  or infinite. Absent bands are an error unless ``allow_missing_bands``; then
  the channel is zero-filled and ``band_mask`` is False for it. An object
  needs at least one band;
- ids are int64, or text when any id of the input is text that is not an
  integer (``format/ids.py``): string ids are kept exactly, ``{id}`` in a cutout
  pattern is the id's text;
- redshifts: every object needs a z_spec, unless the reader was made with
  ``labelled=False`` (``photoz ingest --no-redshift``, for a photometric sample
  to predict): then no redshift column / array is read (it need not exist),
  every z_spec is stored as NaN and the data set is written unlabelled
  (``labelled: false`` in photoz.json; ``photoz train`` and ``evaluate`` refuse
  it, ``photoz predict`` takes it). Everything else is checked the same way;
- bad objects (non-finite pixels, wrong shapes, missing or unreadable files,
  missing / negative / infinite z_spec (of a labelled input) or E(B-V), missing,
  empty, non-integer (a number such as 4.5), negative or duplicated ids, infinite
  magnitudes) stop the ingestion with an error naming the file, the object (id
  and 0-based input row) and the field, and nothing is written. With
  ``on_bad='skip'`` they are left out instead:
  ``excluded.csv`` in the data set lists each (row, id, file, field, reason,
  detail), and the counts are reported. Every occurrence of a duplicated id
  is excluded.

Each object is checked once, here, where it enters: its scalars for the whole
input before any image is read (``columns.check_columns``), its pixels as its
chunk is assembled (``checks.image_problems``). The writer does not check them
again (``DatasetWriter.add_unchecked``: only that z_spec fits the labelling).
"""

from __future__ import annotations

import collections
import math
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from multimodal_photoz.data.format import checks
from multimodal_photoz.data.format.checks import Problem
from multimodal_photoz.data.format.writer import DatasetWriter
from multimodal_photoz.data.ingest.assemble import Assembler
from multimodal_photoz.data.ingest.columns import check_columns
from multimodal_photoz.data.ingest.report import (EXCLUDED_FILE, IngestReport, excluded_csv,
                                                  ingest_metadata, make_report)

ON_BAD = ("error", "skip")


@dataclasses.dataclass(frozen=True)
class IngestConfig:
    """How to turn an input into a data set.

    Attributes:
      out_dir: data set directory to create.
      name: data set name (default: the directory name).
      stamp: output stamp size S in pixels; None keeps the input size.
      on_bad: 'error' (stop, write nothing) or 'skip' (exclude and report).
      allow_missing_bands: absent bands are zero-filled and masked instead of errors.
      metadata: JSON-able dict stored with the data set (zeropoint_ab, ...).
      overwrite: replace an existing data set.
      batch_size: objects read at a time.
      flux_factor: every pixel is multiplied by it before writing (1: as read);
        ``flux_factor_to`` gives the factor that brings one zeropoint to another.
    """

    out_dir: str | Path
    name: str | None = None
    stamp: int | None = None
    on_bad: str = "error"
    allow_missing_bands: bool = False
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    overwrite: bool = False
    batch_size: int = 256
    flux_factor: float = 1.0

    def __post_init__(self):
        if not (math.isfinite(self.flux_factor) and self.flux_factor > 0):
            raise ValueError(f"flux_factor must be a positive finite number, "
                             f"got {self.flux_factor}")
        if self.on_bad not in ON_BAD:
            raise ValueError(f"on_bad must be one of {ON_BAD}, got {self.on_bad!r}")
        if self.stamp is not None and int(self.stamp) < 1:
            raise ValueError(f"stamp must be a positive number of pixels, got {self.stamp}")


def flux_factor_to(zeropoint_ab: float, target_zeropoint_ab: float) -> float:
    """The factor that takes fluxes in units of ``zeropoint_ab`` (mag_AB =
    zeropoint - 2.5 log10 flux) to units of ``target_zeropoint_ab``:
    10^(0.4 (target - zeropoint)); e.g. 27.0 -> 22.5 (nanomaggies) is 10^-1.8."""
    return float(10.0 ** (0.4 * (target_zeropoint_ab - zeropoint_ab)))


def ingest(reader, config: IngestConfig) -> IngestReport:
    """Writes a data set from an input reader (one of ``readers.READERS``).

    The reader's ``bands`` name its channels (any order); the data set's are
    sorted by wavelength. A reader made with ``labelled=False`` gives an unlabelled
    data set (every z_spec NaN).

    Raises:
      checks.BadInputError: a bad object when ``on_bad='error'`` (nothing written).
      ValueError: an input that cannot be read at all, no object left, or an
        ``out_dir`` that is, holds or lies in an input (nothing touched).
      OSError: ``out_dir`` exists and is not a data set to replace, or the
        file system failed (the message names the path).
    """
    check_out_apart(config.out_dir, reader.inputs)
    columns = check_columns(reader.columns())
    column_problems = collections.defaultdict(list)
    for p in columns.problems:
        column_problems[p.row].append(p)
    if config.on_bad == "error":
        checks.raise_first(columns.problems, reader.source)  # before reading any image
    assemble = Assembler(reader.bands, config.stamp, config.allow_missing_bands)
    excluded: list[Problem] = []
    masked = np.zeros(len(assemble.bands), np.int64)  # written objects without each band
    name = config.name or Path(config.out_dir).name
    metadata = dict(config.metadata)
    with DatasetWriter(config.out_dir, bands=assemble.bands, name=name, metadata=metadata,
                       overwrite=config.overwrite, source=reader.source,
                       mag_bands=tuple(columns.mags), extras={}, id_kind=columns.id_kind,
                       stamp_size=config.stamp, labelled=columns.labelled) as writer:
        for chunk in reader.chunks(config.batch_size, columns.usable_ids()):
            images, band_mask, loading = assemble(chunk)
            problems = [q for r in chunk.rows for q in column_problems.get(int(r), [])]
            problems += [p.with_id(columns.label(p.row)) for p in loading]
            flagged = {p.row for p in problems}
            problems += [p.with_id(columns.label(p.row)) for p in checks.image_problems(
                images, band_mask, assemble.bands, chunk.rows)
                if not (p.kind == "no_band" and p.row in flagged)]  # already explained
            if config.on_bad == "error":
                checks.raise_first(problems, reader.source)
            bad = {p.row for p in problems}
            excluded += problems
            keep = np.array([int(r) not in bad for r in chunk.rows], bool)
            if keep.any():
                rows = chunk.rows[keep]
                masked += (~band_mask[keep]).sum(axis=0)
                if config.flux_factor != 1.0:  # masked (zero) bands stay zero
                    images = images * np.float32(config.flux_factor)
                writer.add_unchecked(images=images[keep], z_spec=columns.z_spec[rows],
                                     ebv=columns.ebv[rows], ids=columns.ids[rows],
                                     band_mask=band_mask[keep],
                                     mags={b: v[rows] for b, v in columns.mags.items()})
        report = make_report(writer, reader, columns, excluded, assemble, masked)
        writer.metadata.update(ingest_metadata(reader, report))
        if excluded:
            writer.write_text(EXCLUDED_FILE, excluded_csv(excluded, reader.source))
    return report


def check_out_apart(out_dir, inputs) -> None:
    """Refuses an output directory that is an input, holds one, or lies inside an input file.

    Writing there would replace the input (``--overwrite`` moves ``out_dir`` away).

    Args:
      out_dir: the data set directory to write.
      inputs: the files and directories the reader reads.
    Raises:
      ValueError: naming ``--out`` and the input.
    """
    out = Path(out_dir).resolve()
    for given in inputs:
        path = Path(given).resolve()
        relation = ("is" if out == path else "contains" if out in path.parents
                    else "is inside" if path in out.parents and not path.is_dir() else None)
        if relation:
            raise ValueError(f"--out {out_dir} {relation} the input {given}; writing there "
                             "would replace it: choose another --out")

