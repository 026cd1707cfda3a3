"""Ingestion of users' own data into a data set.

Inputs (``inputs.py``): an image cube (.npz / HDF5), or a catalogue (FITS
table / CSV) with per-object FITS cutouts. What ingestion does, per object:

- bands are reordered by wavelength, whatever order ``bands`` gives;
- stamps are centre-cropped or zero-padded to ``stamp`` pixels when it is
  given (counted in the report); otherwise every stamp must have the size of
  the first one;
- a band is *absent* when its cutout file does not exist (or, in a
  multi-extension file, has no extension), or when all of its pixels are NaN
  or infinite. Absent bands are an error unless ``allow_missing_bands``; then
  the channel is zero-filled and ``band_mask`` is False for it. An object
  needs at least one band;
- bad objects (non-finite pixels, wrong shapes, missing or unreadable files,
  missing / negative / infinite z_spec or E(B-V), missing, non-integer,
  negative or duplicated ids, infinite magnitudes) stop the ingestion with an
  error naming the file, the object (id and 0-based input row) and the field,
  and nothing is written. With ``on_bad='skip'`` they are left out instead:
  ``excluded.csv`` in the data set lists each (row, id, file, field, reason,
  detail), and the counts are reported. Every occurrence of a duplicated id
  is excluded.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from multimodal_photoz.data import checks, stamps
from multimodal_photoz.data.checks import Problem
from multimodal_photoz.data.writer import DatasetWriter

ON_BAD = ("error", "skip")
EXCLUDED_FILE = "excluded.csv"


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
    """

    out_dir: str | Path
    name: str | None = None
    stamp: int | None = None
    on_bad: str = "error"
    allow_missing_bands: bool = False
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    overwrite: bool = False
    batch_size: int = 256

    def __post_init__(self):
        if self.on_bad not in ON_BAD:
            raise ValueError(f"on_bad must be one of {ON_BAD}, got {self.on_bad!r}")
        if self.stamp is not None and int(self.stamp) < 1:
            raise ValueError(f"stamp must be a positive number of pixels, got {self.stamp}")


@dataclasses.dataclass
class IngestReport:
    """What ingestion did.

    Attributes:
      path: the data set written.
      read: objects in the input.
      written: objects written.
      excluded: reason ('<field>: <kind>') -> number of objects excluded.
      resized: '<HxW> cropped|padded' -> number of objects resized to the stamp.
      stamp: the stamp size of the data set.
      bands: its bands (wavelength order).
      excluded_file: path of excluded.csv, if any object was excluded.
    """

    path: Path
    read: int
    written: int
    excluded: dict[str, int]
    resized: dict[str, int]
    stamp: int
    bands: tuple[str, ...]
    excluded_file: Path | None = None

    def summary(self) -> str:
        """Human-readable counts, one item per line."""
        lines = [f"read {self.read} objects, wrote {self.written}, excluded "
                 f"{self.read - self.written}",
                 f"bands {''.join(self.bands)} (wavelength order), "
                 f"stamps {self.stamp}x{self.stamp}"]
        lines += [f"  excluded, {reason}: {n}" for reason, n in sorted(self.excluded.items())]
        lines += [f"  {what} to {self.stamp}x{self.stamp}: {n} objects"
                  for what, n in sorted(self.resized.items())]
        if self.excluded_file:
            lines.append(f"excluded objects are listed in {self.excluded_file}")
        return "\n".join(lines)


class _Assembler:
    """Turns chunks of input images into checked (B, S, S, C) batches."""

    def __init__(self, reader, config: IngestConfig):
        self.config = config
        self.source = reader.source
        self.bands, self.perm = stamps.wavelength_order(reader.bands)
        self.stamp = config.stamp
        self.resized: collections.Counter = collections.Counter()

    def __call__(self, chunk) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
        """(images (B,S,S,C) wavelength order, band_mask (B,C), problems)."""
        problems = [p for p in chunk.problems
                    if not (p.kind == "missing_band" and self.config.allow_missing_bands)]
        if self.stamp is None:
            self.stamp = next((im.shape[0] for im in chunk.images
                               if im is not None and im.shape[0] == im.shape[1]), None)
        size = self.stamp or 1
        images = np.zeros((len(chunk.rows), size, size, len(self.bands)), np.float32)
        for k, image in enumerate(chunk.images):
            if image is None:
                continue
            if self.config.stamp is not None:
                self._count_resize(image.shape)
                images[k] = stamps.resize(image, size)[..., self.perm]
            elif image.shape[:2] != (size, size):
                h, w = image.shape[:2]
                like = "square" if self.stamp is None else f"{size}x{size} like the first object"
                problems.append(Problem(int(chunk.rows[k]), "image", "wrong_shape",
                                        f"is {w}x{h} pixels, not {like}; pass --stamp to "
                                        "crop/pad"))
            else:
                images[k] = image[..., self.perm]
        read = np.array([im is not None for im in chunk.images], bool)
        present = chunk.present[:, self.perm] & read[:, None]
        return images, self._absent_bands(images, present), problems

    def _count_resize(self, shape) -> None:
        kind = stamps.resize_kind(shape, self.config.stamp)
        if kind != "kept":
            self.resized[f"{shape[1]}x{shape[0]} {kind}"] += 1

    def _absent_bands(self, images: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Bands whose pixels are all non-finite count as absent when allowed."""
        if not self.config.allow_missing_bands:
            return present
        empty = ~np.isfinite(images).any(axis=(1, 2)) & present
        return present & ~empty


def ingest(reader, config: IngestConfig) -> IngestReport:
    """Writes a data set from an input reader (``inputs.CubeInput`` / ``CatalogueInput``).

    The reader's ``bands`` name its channels (any order); the data set's are
    sorted by wavelength.

    Raises:
      checks.BadInputError: a bad object when ``on_bad='error'`` (nothing written).
      ValueError: an input that cannot be read at all, or no object left.
    """
    columns = reader.columns()
    column_problems = collections.defaultdict(list)
    for p in columns.problems:
        column_problems[p.row].append(p)
    if config.on_bad == "error":
        checks.raise_first(columns.problems, reader.source)  # before reading any image
    assemble = _Assembler(reader, config)
    excluded: list[Problem] = []
    name = config.name or Path(config.out_dir).name
    metadata = dict(config.metadata)
    with DatasetWriter(config.out_dir, bands=assemble.bands, name=name, metadata=metadata,
                       overwrite=config.overwrite, source=reader.source,
                       mag_bands=tuple(columns.mags), extras={},
                       stamp_size=config.stamp) as writer:
        for chunk in reader.chunks(config.batch_size):
            images, band_mask, loading = assemble(chunk)
            problems = [q for r in chunk.rows for q in column_problems.get(int(r), [])]
            problems += [p.with_id(_id_label(columns, p.row)) for p in loading]
            flagged = {p.row for p in problems}
            problems += [p.with_id(_id_label(columns, p.row)) for p in checks.image_problems(
                images, band_mask, assemble.bands, chunk.rows)
                if not (p.kind == "no_band" and p.row in flagged)]  # already explained
            if config.on_bad == "error":
                checks.raise_first(problems, reader.source)
            bad = {p.row for p in problems}
            excluded += problems
            keep = np.array([int(r) not in bad for r in chunk.rows], bool)
            if keep.any():
                rows = chunk.rows[keep]
                writer.add(images=images[keep], z_spec=columns.z_spec[rows],
                           ebv=columns.ebv[rows], ids=columns.ids[rows],
                           band_mask=band_mask[keep],
                           mags={b: v[rows] for b, v in columns.mags.items()}, rows=rows)
        report = _report(writer, reader, columns, excluded, assemble)
        writer.metadata.update(_ingest_metadata(reader, assemble, report))
        if excluded:
            writer.write_text(EXCLUDED_FILE, _excluded_csv(excluded, reader.source))
    return report


def _id_label(columns, row: int):
    """The object's id for messages: the parsed id, or the raw value if unusable."""
    return int(columns.ids[row]) if columns.ids[row] >= 0 else columns.raw_ids[row]


def _report(writer, reader, columns, excluded, assemble) -> IngestReport:
    first = {}
    for p in excluded:  # in order of checking: columns, files, pixels
        first.setdefault(p.row, p)
    counts = collections.Counter(f"{p.field}: {p.kind}" for p in first.values())
    if writer.count == 0:
        raise ValueError(f"{reader.source}: every one of the {len(columns.ids)} objects was "
                         f"excluded ({dict(counts)}); nothing written")
    return IngestReport(
        path=Path(writer.out_dir), read=len(columns.ids), written=writer.count,
        excluded=dict(counts), resized=dict(assemble.resized), stamp=int(assemble.stamp),
        bands=assemble.bands,
        excluded_file=Path(writer.out_dir) / EXCLUDED_FILE if excluded else None)


def _ingest_metadata(reader, assemble, report: IngestReport) -> dict[str, Any]:
    """Provenance kept with the data set."""
    return {"stamp": report.stamp, "bands": "".join(report.bands),
            "ingest": {"input": Path(reader.source).name, "read": report.read,
                       "written": report.written, "excluded": report.excluded,
                       "resized": report.resized, "stamp_resize": "centre-crop / zero-pad"}}


def _excluded_csv(problems: list[Problem], source: str) -> str:
    """One line per excluded object (all its reasons, first = the one counted), by row."""
    by_row: dict[int, list[Problem]] = collections.defaultdict(list)
    for p in problems:
        by_row[p.row].append(p)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "id", "file", "field", "reason", "detail"])
    for row in sorted(by_row):
        ps = by_row[row]
        writer.writerow([row, ps[0].obj_id, ps[0].file or source,
                         ";".join(dict.fromkeys(p.field for p in ps)),
                         ";".join(dict.fromkeys(p.kind for p in ps)),
                         " | ".join(p.message(source) for p in ps)])
    return out.getvalue()
