"""What makes an object valid for a data set; every problem names the object and the field.

Checks return ``Problem`` lists rather than raising, so that the same code
serves both policies: stop at the first bad object (``BadInputError``), or
leave bad objects out and report each of them (``--on-bad=skip``). Each object
is checked once, where it enters: by ``DatasetWriter.add`` (``batch.Batch.check``)
for arrays given in Python, by the ingest driver for users' files.

A data set is labelled (every object has a spectroscopic redshift) or unlabelled
(none has: z_spec is NaN for every object, a photometric sample to predict);
``z_spec_problems`` checks a z_spec column against that.
"""

from __future__ import annotations

import dataclasses
import decimal
from collections.abc import Mapping, Sequence

import numpy as np

from multimodal_photoz.data.format import ids as id_kinds

# Integer ids may be read from files that hold them as floats: exact only below 2**53.
_MAX_EXACT_FLOAT_INT = 2**53
_ID_TEXT = id_kinds.INTEGER_TEXT

# The largest spectroscopic redshift accepted: no galaxy is known beyond z ~ 15, so a
# larger value is a unit or column mix-up (e.g. a velocity in km/s read as z).
Z_SPEC_MAX = 20.0
# Plausible upper bounds of per-object fields, by field name (``value_problems``).
PLAUSIBLE_MAX: dict[str, float] = {"z_spec": Z_SPEC_MAX}


@dataclasses.dataclass(frozen=True)
class Problem:
    """Why one object cannot be used.

    Attributes:
      row: the object's row in its input (0-based).
      field: the feature at fault (``image``, ``z_spec``, ``ebv``, ``id``, ...).
      kind: a short reason category, used for the counts of excluded objects.
      detail: the rest of the sentence, e.g. ``is negative (-0.3)``.
      obj_id: the object's id as read (may be unparsable), or None.
      file: the file at fault where it is not the input itself (a cutout).
    """

    row: int
    field: str
    kind: str
    detail: str
    obj_id: object = None
    file: str | None = None

    def message(self, source: str) -> str:
        """``<file>: object id=<id> (row <row>): field '<field>' <detail>``."""
        where = self.file or source
        shown = self.obj_id
        if isinstance(shown, str) and (not shown or shown != shown.strip()):
            shown = repr(shown)  # an id that would not show: '' or with spaces around
        return (f"{where}: object id={shown} (row {self.row}): field '{self.field}' "
                f"{self.detail}")

    def with_id(self, obj_id) -> "Problem":
        return dataclasses.replace(self, obj_id=obj_id) if self.obj_id is None else self


class BadInputError(ValueError):
    """A bad object; the message names the file, the object (id, row) and the field."""

    def __init__(self, problem: Problem, source: str):
        super().__init__(problem.message(source))
        self.problem = problem
        self.source = source


def raise_first(problems: Sequence[Problem], source: str) -> None:
    """Raises ``BadInputError`` for the problem of the earliest row, if any."""
    if problems:
        raise BadInputError(min(problems, key=lambda p: p.row), source)


def _rows(n: int, rows: Sequence[int] | None) -> np.ndarray:
    return np.arange(n) if rows is None else np.asarray(rows)


def value_problems(name: str, values, rows=None, *, required: bool = True,
                   non_negative: bool = True) -> list[Problem]:
    """Problems of a per-object float column: missing (NaN/masked), infinite, negative,
    or above the field's ``PLAUSIBLE_MAX`` (z_spec > ``Z_SPEC_MAX``).

    Args:
      name: field name used in messages.
      values: (N,) numbers, NaN or a masked entry meaning missing.
      rows: (N,) input row numbers (default 0..N-1).
      required: a missing value is a problem (else NaN means unknown).
      non_negative: a negative value is a problem.
    """
    filled = np.ma.filled(np.ma.asarray(values, dtype=np.float64), np.nan)
    rows = _rows(len(filled), rows)
    maximum = PLAUSIBLE_MAX.get(name, np.inf)
    problems = []
    for i in np.flatnonzero(~np.isfinite(filled) | (non_negative & (filled < 0))
                            | (filled > maximum)):
        v = filled[i]
        if np.isnan(v):
            if required:
                problems.append(Problem(int(rows[i]), name, "missing", "is missing (NaN or empty)"))
        elif np.isinf(v):
            problems.append(Problem(int(rows[i]), name, "not_finite", f"is not finite ({v})"))
        elif v > maximum:
            problems.append(Problem(int(rows[i]), name, "implausible",
                                    f"is {v:g}, above the largest plausible value {maximum:g}"))
        else:
            problems.append(Problem(int(rows[i]), name, "negative", f"is negative ({v:g})"))
    return problems


def label_problems(z_spec, rows=None, *, labelled: bool = True) -> list[Problem]:
    """Objects whose z_spec does not fit the data set's labelling.

    A labelled data set needs a redshift for every object: a NaN (or masked) z_spec
    is ``missing``. An unlabelled one (``labelled=False``: a photometric sample to
    predict) holds none: a z_spec that is not NaN is ``not_unlabelled``. Only the
    labelling is checked here; ``z_spec_problems`` also checks the values.

    Args:
      z_spec: (N,) redshifts, NaN or a masked entry meaning none.
      rows: (N,) input row numbers (default 0..N-1).
      labelled: whether the data set is labelled.
    """
    filled = np.ma.filled(np.ma.asarray(z_spec, dtype=np.float64), np.nan)
    rows = _rows(len(filled), rows)
    if labelled:
        return [Problem(int(rows[i]), "z_spec", "missing", "is missing (NaN or empty); data "
                        "without spectroscopic redshifts are ingested with --no-redshift "
                        "(labelled=False in Python)") for i in np.flatnonzero(np.isnan(filled))]
    return [Problem(int(rows[i]), "z_spec", "not_unlabelled",
                    f"is {filled[i]:g}, but the data set is written without spectroscopic "
                    "redshifts (labelled=False): every z_spec must be NaN")
            for i in np.flatnonzero(~np.isnan(filled))]


def z_spec_problems(z_spec, rows=None, *, labelled: bool = True) -> list[Problem]:
    """Every problem of a z_spec column: its labelling (``label_problems``) and, in a
    labelled data set, its values (infinite, negative, above ``Z_SPEC_MAX``).

    Args:
      z_spec: (N,) redshifts, NaN or a masked entry meaning none.
      rows: (N,) input row numbers (default 0..N-1).
      labelled: whether the data set is labelled.
    """
    problems = label_problems(z_spec, rows, labelled=labelled)
    if labelled:
        problems += value_problems("z_spec", z_spec, rows, required=False)
    return problems


def parse_numbers(name: str, values, rows=None) -> tuple[np.ndarray, list[Problem]]:
    """A per-object column as read (numbers or text, possibly masked) as float64.

    Masked, empty or blank entries are NaN (missing: ``value_problems`` says so);
    text that is not a number and complex values with an imaginary part are
    problems (NaN in the result), so that they are not called missing nor
    silently cut to their real part.

    Args:
      name: field name used in messages.
      values: (N,) raw values.
      rows: (N,) input row numbers.
    Returns:
      (N,) float64 and the problems.
    """
    mask = np.ma.getmaskarray(values) if np.ma.isMaskedArray(values) else None
    data = np.asarray(np.ma.getdata(values))
    rows = _rows(len(data), rows)
    if data.dtype.kind in "fiub":
        out = data.astype(np.float64)
        problems = []
    else:
        out, problems = np.full(len(data), np.nan), []
        for i, raw in enumerate(data):
            if mask is not None and mask[i]:
                continue
            out[i], detail = _one_number(raw)
            if detail:
                problems.append(Problem(int(rows[i]), name, "not_a_number", detail))
    if mask is not None:
        out[mask] = np.nan
    return out, problems


def _one_number(value) -> tuple[float, str]:
    """(value, problem detail or '') of one raw per-object number."""
    if value is None:
        return np.nan, ""
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode(errors="replace")
    if isinstance(value, str):
        value = str(value)  # np.str_ -> str, for messages
        if not value.strip():
            return np.nan, ""
        try:
            return float(value), ""
        except ValueError:
            return np.nan, f"is not a number ({value!r})"
    if isinstance(value, (complex, np.complexfloating)):
        if value.imag != 0:
            return np.nan, (f"is complex ({value.real:g}{value.imag:+g}j); a real number is "
                            "needed")
        return float(value.real), ""
    try:
        return float(value), ""
    except (TypeError, ValueError):
        return np.nan, f"is not a number ({value!r})"


def _integral_text(text: str) -> int | None:
    """The integer that a number written as text stands for ('4.0', '1e3'), read
    exactly (never through float64); None if it is not an integer."""
    if not id_kinds.NUMBER_TEXT.fullmatch(text):
        return None
    number = decimal.Decimal(text)
    if not number.is_finite() or number.adjusted() > 40:  # far beyond int64: not expanded
        return None
    return int(number) if number == number.to_integral_value() else None


def _one_id(value) -> tuple[int | None, str | None, str]:
    """(id, kind, detail) of one raw id; kind None when it is a valid id."""
    if value is None or value is np.ma.masked:
        return None, "missing", "is missing"
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode(errors="replace")
    if isinstance(value, str):
        value = str(value)  # np.str_ -> str, for messages
        text = value.strip()
        if not text:
            return None, "empty", f"is empty ({value!r}); every object needs an id"
        number = int(text) if _ID_TEXT.fullmatch(text) else _integral_text(text)
        if number is None:
            return None, "not_integer", f"is not an integer ({value!r})"
    elif isinstance(value, (bool, np.bool_)):
        return None, "not_integer", f"is not an integer ({value!r})"
    elif isinstance(value, (int, np.integer)):
        number = int(value)
    else:
        v = float(value)
        if not np.isfinite(v):
            return None, "missing" if np.isnan(v) else "not_integer", f"is not an integer ({v})"
        if v != np.floor(v) or abs(v) >= _MAX_EXACT_FLOAT_INT:
            return None, "not_integer", f"is not an integer ({v!r})"
        number = int(v)
    if number < 0:
        return None, "negative", f"is negative ({number}); ids must be >= 0"
    if number >= 2**63:
        return None, "not_integer", f"does not fit in int64 ({number})"
    return number, None, ""


def parse_ids(values, rows=None, kind: str | None = None) -> tuple[np.ndarray, list[Problem]]:
    """Parses raw ids: int64 ones (ints, integral floats, digit strings) or string ones.

    The kind is that of the whole column (``ids.column_kind``) unless given.
    Every occurrence of an id that appears more than once is a problem.

    Args:
      values: (N,) raw ids, possibly a masked column.
      rows: (N,) input row numbers.
      kind: 'int64' or 'string' (``ids.KINDS``); None decides from ``values``.
    Returns:
      ids (N,) int64 (-1 where unusable) or numpy unicode ('' where unusable),
      and the problems.
    """
    kind = kind or id_kinds.column_kind(values)[0]
    if kind == "string":
        return _parse_string_ids(values, _rows(len(values), rows))
    if not np.ma.isMaskedArray(values) and np.asarray(values).dtype.kind in "iu":
        return _parse_integer_ids(np.asarray(values), _rows(len(values), rows))
    values = _raw_list(values)
    rows = _rows(len(values), rows)
    ids = np.full(len(values), -1, np.int64)
    problems = []
    for i, raw in enumerate(values):
        number, why, detail = _one_id(raw)
        if why is None:
            ids[i] = number
        else:
            problems.append(Problem(int(rows[i]), "id", why, detail, obj_id=raw))
    problems += duplicate_problems(ids, rows)
    return ids, problems


def _raw_list(values) -> list:
    """A column as read as a list of values (``np.ma.masked`` where masked)."""
    if np.ma.isMaskedArray(values):
        return list(np.ma.asarray(values, dtype=object))
    return list(np.asarray(values, dtype=object))


def _parse_string_ids(values, rows: np.ndarray) -> tuple[np.ndarray, list[Problem]]:
    """``parse_ids`` of a column of string ids: each kept exactly, or a problem."""
    raw = _raw_list(values)
    texts, problems = [""] * len(raw), []
    for i, value in enumerate(raw):
        found = id_kinds.string_problem(value)
        if found is None:
            texts[i] = id_kinds.python_value(value)
        else:
            shown = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            problems.append(Problem(int(rows[i]), "id", *found, obj_id=shown))
    ids = np.array(texts, dtype=str) if texts else np.zeros(0, "U1")
    return ids, problems + duplicate_problems(ids, rows)


def _parse_integer_ids(values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, list[Problem]]:
    """``parse_ids`` of an integer array, vectorized (the usual case: millions of ids)."""
    if values.dtype.kind == "i":
        bad = values < 0
    else:  # unsigned: those that do not fit in int64
        bad = values.astype(np.uint64) > np.uint64(np.iinfo(np.int64).max)
    ids = values.astype(np.int64)
    ids[bad] = -1
    problems = []
    for i in np.flatnonzero(bad):
        raw = values[i].item()
        _, kind, detail = _one_id(raw)
        problems.append(Problem(int(rows[i]), "id", kind, detail, obj_id=raw))
    return ids, problems + duplicate_problems(ids, rows)


def duplicate_problems(ids: np.ndarray, rows=None, *, known: Mapping | None = None
                       ) -> list[Problem]:
    """One problem per occurrence of an id seen more than once (unusable ids ignored:
    -1, or '' for string ids).

    Args:
      ids: (N,) int64 or numpy unicode.
      rows: (N,) input row numbers.
      known: id -> row of ids accepted before this batch.
    """
    rows = _rows(len(ids), rows)
    known = known or {}
    uniq, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    seen = np.isin(ids, list(known)) if known else np.zeros(len(ids), bool)
    problems = []
    for i in np.flatnonzero(id_kinds.usable(ids) & ((counts[inverse] > 1) | seen)):
        obj_id = id_kinds.python_value(ids[i])
        others = [int(r) for r in rows[ids == ids[i]] if r != rows[i]]
        others += [known[obj_id]] if obj_id in known else []
        also = ", ".join(map(str, sorted(others)))
        problems.append(Problem(int(rows[i]), "id", "duplicate",
                                f"is duplicated (also in row {also})", obj_id=obj_id))
    return problems


def image_problems(images: np.ndarray, band_mask: np.ndarray, bands: Sequence[str],
                   rows=None) -> list[Problem]:
    """Non-finite pixels in the bands present of each object.

    Args:
      images: (N, H, W, C) pixels.
      band_mask: (N, C) bool, True where the band is present.
      bands: the C band names.
      rows: (N,) input row numbers.
    """
    rows = _rows(len(images), rows)
    bad = ~np.isfinite(images).all(axis=(1, 2)) & band_mask          # (N, C)
    problems = []
    for i in np.flatnonzero(bad.any(axis=1)):
        parts = []
        for c in np.flatnonzero(bad[i]):
            n_nan = int(np.isnan(images[i, ..., c]).sum())
            n_inf = int(np.isinf(images[i, ..., c]).sum())
            parts.append(f"{bands[c]} ({n_nan} NaN, {n_inf} infinite)")
        problems.append(Problem(int(rows[i]), "image", "non_finite_pixels",
                                "has non-finite pixels in band " + ", ".join(parts)))
    for i in np.flatnonzero(~band_mask.any(axis=1)):
        problems.append(Problem(int(rows[i]), "band_mask", "no_band", "has no band present"))
    return problems


def magnitude_problems(mags: Mapping[str, np.ndarray], rows=None) -> list[Problem]:
    """Infinite magnitudes (NaN means unknown and is allowed)."""
    problems = []
    for band, values in mags.items():
        values = np.ma.filled(np.ma.asarray(values, dtype=np.float64), np.nan)
        r = _rows(len(values), rows)
        for i in np.flatnonzero(np.isinf(values)):
            problems.append(Problem(int(r[i]), "mag_" + band, "not_finite",
                                    f"is not finite ({values[i]}); use NaN for unknown"))
    return problems


def attach_ids(problems: Sequence[Problem], ids: np.ndarray, rows=None) -> list[Problem]:
    """Fills in each problem's object id from the row -> id map."""
    rows = _rows(len(ids), rows)
    by_row = dict(zip(rows.tolist(), ids.tolist()))
    return [p.with_id(by_row.get(p.row)) for p in problems]
