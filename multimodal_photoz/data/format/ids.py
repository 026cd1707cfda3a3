"""Object ids: 64-bit integers or text, as surveys write them.

Two kinds (``KINDS``), fixed per data set (``Schema.id_kind``):

  ``int64``   integers >= 0 that fit in int64 (HSC object_id, SDSS specobjid, DESI
              TARGETID), never passed through float64: 2**53 + 1 stays 2**53 + 1.
  ``string``  non-empty Unicode text, kept exactly (Legacy Survey
              ``'10000_324608_4317'``): no trimming, case folding or normalization.

A column as read is ``string`` when at least one of its ids is text that is
neither an integer nor a number gone wrong (``classify``); every other column
(numbers, or text that is all integers) is ``int64``. So integer-looking ids stay
integers, and a catalogue with any non-integer id is a string-id data set, whose
every id ('42' too) is text.

The canonical string of an id (``canonical``) is ``str(int)`` for int64 ids and
the text itself for string ids; its UTF-8 bytes are what string ids hash to
(folds, ``folds.string_hash64``) and what files store:

  in memory, ``catalogue.npz``  int64, or numpy unicode ``<U<n>``
  records (tf.train.Example)    int64_list, or bytes_list of the UTF-8 bytes
  predictions.h5                int64, or fixed-width UTF-8 strings (``to_utf8``)

Padding rows of a batch carry ``PADDING[kind]`` (-1 or ''), never a valid id.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

KINDS = ("int64", "string")
PADDING = {"int64": -1, "string": ""}
# Longest string id (characters): the catalogue stores fixed-width columns.
MAX_STRING_LENGTH = 256

# Ids given as text: ASCII decimal digits only ('²' or '١٢' pass str.isdigit, not int()).
INTEGER_TEXT = re.compile(r"[+-]?[0-9]+", re.ASCII)
# Decimal numbers as text (not Python's float(), which reads '1_2' as 12).
NUMBER_TEXT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                          r"|nan|inf|infinity)", re.ASCII | re.IGNORECASE)


def classify(value) -> str:
    """What one raw id is: 'integer', 'number' (a number that is not an integer:
    '4.5', 'nan', '²'), 'text', 'empty' (blank) or 'other' (not text: a number,
    None). Bytes that are not UTF-8 are 'text' (and a bad string id)."""
    if isinstance(value, (bytes, np.bytes_)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return "text"
    if not isinstance(value, str):
        return "other"
    text = value.strip()
    if not text:
        return "empty"
    if INTEGER_TEXT.fullmatch(text):
        return "integer"
    if NUMBER_TEXT.fullmatch(text) or text.isnumeric():
        return "number"
    return "text"


def column_kind(values) -> tuple[str, int | None]:
    """The kind of a column of raw ids, and the index of its first text id.

    Args:
      values: (N,) ids as read (numbers, str, bytes), possibly a masked column.
    Returns:
      ('int64', None) for numbers or text that is all integers (or numbers gone
      wrong: they are bad integer ids), else ('string', index of the first id
      that is text).
    """
    data = np.asarray(np.ma.getdata(values))
    if data.dtype.kind not in "USO":
        return "int64", None
    mask = np.ma.getmaskarray(values) if np.ma.isMaskedArray(values) else None
    for i, value in enumerate(data.tolist()):
        if (mask is None or not mask[i]) and classify(value) == "text":
            return "string", i
    return "int64", None


def kind_of(ids: np.ndarray) -> str:
    """The kind of parsed ids: int64 for an integer array, string for numpy unicode."""
    dtype = np.asarray(ids).dtype
    if dtype.kind in "iu":
        return "int64"
    if dtype.kind == "U":
        return "string"
    raise ValueError(f"ids must be int64 or text (numpy unicode), got dtype {dtype}")


def as_stored(ids) -> np.ndarray:
    """Parsed ids in their in-memory dtype: int64, or numpy unicode (bytes are UTF-8).

    Args:
      ids: (N,) integers, str, or UTF-8 bytes (as h5py reads fixed-width strings).
    """
    ids = np.asarray(ids)
    if ids.dtype.kind == "S":
        return np.char.decode(ids, "utf-8") if ids.size else ids.astype("U1")
    if ids.dtype.kind == "O":
        text = [v.decode("utf-8") if isinstance(v, bytes) else v for v in ids.tolist()]
        return np.array(text, dtype=str) if text else np.zeros(0, "U1")
    if ids.dtype.kind == "U":
        return ids
    return ids.astype(np.int64)


def usable(ids: np.ndarray) -> np.ndarray:
    """(N,) bool: True where an id is a real id, False for padding / unusable ones."""
    ids = np.asarray(ids)
    return ids != PADDING[kind_of(ids)] if ids.dtype.kind == "U" else ids >= 0


def padding(ids: np.ndarray):
    """The padding id of ids of this kind (-1 or '')."""
    return PADDING[kind_of(ids)]


def python_value(value) -> int | str:
    """One id as a Python int or str (for file names, JSON and messages)."""
    if isinstance(value, (str, np.str_)):
        return str(value)
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8")
    return int(value)


def canonical(value) -> str:
    """The canonical string of one id: decimal digits of an int64 id, or the text."""
    return str(python_value(value))


def to_utf8(ids: np.ndarray) -> np.ndarray:
    """String ids as fixed-width UTF-8 bytes (``S<n>``, n the longest encoding)."""
    if not len(ids):
        return np.zeros(0, "S1")
    return np.char.encode(np.asarray(ids, str), "utf-8")


def digest(ids: np.ndarray) -> str:
    """SHA-256 (hex) of a column of ids: of its int64 bytes (native order, as
    always), or of each string id's UTF-8 bytes followed by a NUL byte."""
    ids = np.asarray(ids)
    if kind_of(ids) == "int64":
        return hashlib.sha256(np.ascontiguousarray(ids, np.int64).tobytes()).hexdigest()
    h = hashlib.sha256()
    for text in ids.tolist():
        h.update(text.encode("utf-8") + b"\0")
    return h.hexdigest()


def string_problem(value) -> tuple[str, str] | None:
    """(kind, detail) of what makes one raw value a bad string id, or None.

    Bad: missing, not text, empty or blank, not UTF-8, leading or trailing
    whitespace (ids are kept exactly, so it would silently be part of the id),
    control characters, longer than ``MAX_STRING_LENGTH``.
    """
    if value is None or value is np.ma.masked:
        return "missing", "is missing"
    if isinstance(value, (bytes, np.bytes_)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return "not_text", f"is not UTF-8 text ({bytes(value)!r})"
    if not isinstance(value, str):
        return "not_text", f"is not text ({value!r}) in a column of text ids"
    value = str(value)  # np.str_ -> str, for messages
    if not value.strip():
        return "empty", f"is empty ({value!r}); every object needs an id"
    if value != value.strip():
        return "bad_text", (f"has leading or trailing whitespace ({value!r}); ids are kept "
                            "exactly: strip them in the input")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        return "bad_text", f"holds a control character ({value!r})"
    if len(value) > MAX_STRING_LENGTH:
        return "bad_text", f"has {len(value)} characters, more than {MAX_STRING_LENGTH}"
    return None
