"""What a reader of users' files gives, and the check of its scalar columns.

A reader gives the per-object scalars of the whole input at once, as read
(``RawColumns``), and the images in chunks (``Chunk``). The ingest driver
parses and checks the scalars once (``check_columns``), before any image is read.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from multimodal_photoz.data.format import checks
from multimodal_photoz.data.format import ids as id_kinds
from multimodal_photoz.data.format.checks import Problem


@dataclasses.dataclass
class RawColumns:
    """Per-object scalars of a whole input, as read, in input row order.

    Attributes:
      ids: (N,) ids as read: integers, floats or text, possibly masked.
      z_spec: (N,) numbers or text as read, possibly masked (= empty); None when the
        input has no redshifts (a reader made with ``labelled=False``: not read).
      ebv: (N,) numbers or text as read, possibly masked (= empty).
      mags: band -> (N,) AB magnitudes as read.
    """

    ids: object
    z_spec: object
    ebv: object
    mags: dict[str, object]


@dataclasses.dataclass
class Columns:
    """Per-object scalars of a whole input, parsed and checked, in input row order.

    Attributes:
      rows: (N,) 0-based input rows.
      ids: (N,) int64 (-1 where unusable; see problems), or numpy unicode ('' where
        unusable) when the input's ids are text (``ids.column_kind``).
      raw_ids: (N,) ids as read, for messages.
      first_text_row: for string ids, the row of the first id that is not an
        integer (what made the input a string-id one); else None.
      z_spec, ebv: (N,) float64, NaN where missing (z_spec: NaN for every object
        where not ``labelled``).
      mags: band -> (N,) float64 AB magnitudes, NaN where unknown.
      problems: the problems found in these columns.
      labelled: whether the input gave redshifts (``RawColumns.z_spec`` not None).
    """

    rows: np.ndarray
    ids: np.ndarray
    raw_ids: list
    z_spec: np.ndarray
    ebv: np.ndarray
    mags: dict[str, np.ndarray]
    problems: list[Problem]
    first_text_row: int | None = None
    labelled: bool = True

    @property
    def id_kind(self) -> str:
        """'int64' or 'string' (``ids.KINDS``)."""
        return id_kinds.kind_of(self.ids)

    def usable_ids(self) -> np.ndarray:
        """(N,) ids, -1 (or '') where the id has a problem (no file is looked up by it)."""
        ids = self.ids.copy()
        ids[[p.row for p in self.problems if p.field == "id"]] = id_kinds.padding(ids)
        return ids

    def label(self, row: int):
        """The object's id for messages: the parsed id, or the raw value if unusable."""
        if id_kinds.usable(self.ids[row:row + 1])[0]:
            return id_kinds.python_value(self.ids[row])
        return self.raw_ids[row]


@dataclasses.dataclass
class Chunk:
    """Images of consecutive objects, in the input's band order.

    Attributes:
      rows: (B,) input rows.
      images: B arrays (H, W, C) (any H, W), None where nothing could be read.
      present: (B, C) bool, False where a band's cutout is missing.
      problems: problems met while reading (missing or unreadable files, shapes).
    """

    rows: np.ndarray
    images: list[np.ndarray | None]
    present: np.ndarray
    problems: list[Problem]


def check_columns(raw: RawColumns) -> Columns:
    """Parses the scalar columns and checks every object's ids, z_spec, ebv and magnitudes.

    An input without redshifts (``raw.z_spec`` None) gives z_spec NaN for every
    object and no z_spec problem: the data set is unlabelled.

    The ids are int64, or strings when any of them is text that is not an
    integer (``ids.column_kind``: decided on the whole input). Returns every
    problem of the whole input, each naming its object (the parsed id, or the
    raw value where the id is unusable).
    """
    rows = np.arange(len(raw.ids))
    ids, problems = checks.parse_ids(raw.ids, rows)
    first_text_row = id_kinds.column_kind(raw.ids)[1]
    labelled = raw.z_spec is not None
    z, z_text = (checks.parse_numbers("z_spec", raw.z_spec, rows) if labelled
                 else (np.full(len(rows), np.nan), []))
    ebv, ebv_text = checks.parse_numbers("ebv", raw.ebv, rows)
    parsed = {b: checks.parse_numbers("mag_" + b, v, rows) for b, v in raw.mags.items()}
    mags = {b: values for b, (values, _) in parsed.items()}
    not_numbers = z_text + ebv_text + [p for _, found in parsed.values() for p in found]
    problems += not_numbers
    # A value that is not a number is NaN here: not to be called "missing" as well.
    said = {(p.row, p.field) for p in not_numbers}
    problems += [p for p in (checks.z_spec_problems(z, rows, labelled=labelled)
                             + checks.value_problems("ebv", ebv, rows)
                             + checks.magnitude_problems(mags, rows))
                 if (p.row, p.field) not in said]
    raw_ids = (list(np.ma.asarray(raw.ids, dtype=object).filled(None))
               if np.ma.isMaskedArray(raw.ids) else list(raw.ids))
    raw_ids = [r.decode("utf-8", "replace") if isinstance(r, bytes) else r for r in raw_ids]
    columns = Columns(rows, ids, raw_ids, z, ebv, mags, [], first_text_row, labelled)
    columns.problems = [p if p.obj_id is not None or p.field == "id" else
                        dataclasses.replace(p, obj_id=columns.label(p.row)) for p in problems]
    return columns
