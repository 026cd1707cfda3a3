"""What ingestion reports: the counts (``IngestReport``), provenance, excluded.csv."""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
from pathlib import Path
from typing import Any

from multimodal_photoz.data.format.checks import Problem
from multimodal_photoz.data.format.layout import EXCLUDED_FILE


@dataclasses.dataclass
class IngestReport:
    """What ingestion did.

    Attributes:
      path: the data set written.
      read: objects in the input.
      written: objects written.
      excluded: reason ('<field>: <kind>') -> number of objects excluded.
      resized: '<WxH> cropped|padded' -> number of objects resized to the stamp.
      stamp: the stamp size of the data set.
      bands: its bands (wavelength order).
      masked: band -> number of objects written without it (absent, zero-filled),
        for the bands absent somewhere.
      excluded_file: path of excluded.csv, if any object was excluded.
      removed_partials: unfinished writes to the same path, of writers that ended,
        removed before writing.
      kept_partials: unfinished writes to the same path that were left (in use, or
        not recognisably ours).
      id_kind: 'int64' or 'string' (``format/ids.py``).
      first_text_id: for string ids, (row, id) of the first id that is not an
        integer: what made every id of the input text.
      labelled: False when the input gave no redshifts (``--no-redshift``): every
        z_spec is NaN and the data set is unlabelled.
    """

    path: Path
    read: int
    written: int
    excluded: dict[str, int]
    resized: dict[str, int]
    stamp: int
    bands: tuple[str, ...]
    masked: dict[str, int] = dataclasses.field(default_factory=dict)
    excluded_file: Path | None = None
    removed_partials: list[Path] = dataclasses.field(default_factory=list)
    kept_partials: list[Path] = dataclasses.field(default_factory=list)
    id_kind: str = "int64"
    first_text_id: tuple[int, str] | None = None
    labelled: bool = True

    def summary(self) -> str:
        """Human-readable counts, one item per line."""
        lines = [f"read {self.read} objects, wrote {self.written}, excluded "
                 f"{self.read - self.written}",
                 f"bands {''.join(self.bands)} (wavelength order), "
                 f"stamps {self.stamp}x{self.stamp}"]
        if self.id_kind == "string":
            row, text = self.first_text_id or (None, None)
            lines.append("ids are text (string ids), kept exactly" + (
                f": row {row} holds {text!r}, not an integer" if row is not None else ""))
        if not self.labelled:
            lines.append("no spectroscopic redshifts (--no-redshift): z_spec is NaN, the data "
                         "set is unlabelled: photoz predict takes it, train and evaluate do not")
        lines += [f"  excluded, {reason}: {n}" for reason, n in sorted(self.excluded.items())]
        lines += [f"  {what} to {self.stamp}x{self.stamp}: {n} objects"
                  for what, n in sorted(self.resized.items())]
        lines += [f"  band {b} masked (absent) in {n} object{'s' if n != 1 else ''}"
                  for b, n in self.masked.items()]
        if self.excluded_file:
            lines.append(f"excluded objects are listed in {self.excluded_file}")
        lines += [f"removed {p}, left by an interrupted write to the same path"
                  for p in self.removed_partials]
        lines += [f"left {p}: an unfinished write to the same path, still running or not "
                  "ours; remove it if no write runs" for p in self.kept_partials]
        return "\n".join(lines)


def make_report(writer, reader, columns, excluded: list[Problem], assemble,
                masked) -> IngestReport:
    """The counts of an ingestion (``writer`` still open, ``assemble`` its ``Assembler``).

    ``masked``: (C,) objects written without each band, in ``assemble.bands`` order.

    Raises:
      ValueError: every object was excluded.
    """
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
        masked={b: int(n) for b, n in zip(assemble.bands, masked) if n},
        excluded_file=Path(writer.out_dir) / EXCLUDED_FILE if excluded else None,
        removed_partials=list(writer.removed_partials), kept_partials=list(writer.kept_partials),
        id_kind=columns.id_kind, first_text_id=None if columns.first_text_row is None else
        (columns.first_text_row, str(columns.raw_ids[columns.first_text_row])),
        labelled=columns.labelled)


def ingest_metadata(reader, report: IngestReport) -> dict[str, Any]:
    """Provenance kept with the data set."""
    return {"stamp": report.stamp, "bands": "".join(report.bands),
            "ingest": {"input": Path(reader.source).name, "read": report.read,
                       "written": report.written, "excluded": report.excluded,
                       "masked": report.masked,
                       "resized": report.resized, "stamp_resize": "centre-crop / zero-pad"}}


def excluded_csv(problems: list[Problem], source: str) -> str:
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
