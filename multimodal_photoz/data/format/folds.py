"""Cross-validation folds from object ids.

An object's fold is a hash of its id, so it never depends on the order of the
catalogue, on which other objects are present, or on the machine: the same
galaxy lands in the same fold in every data set that holds it.

  int64 ids   fold = splitmix64(id) mod n_folds (the id's 64 bits, wrapping arithmetic)
  string ids  fold = h mod n_folds, h = the first 8 bytes, little-endian, of
              BLAKE2b (hashlib.blake2b, default 64-byte digest, no key) of the id's
              UTF-8 bytes (``ids.canonical``)

Both are the same on every machine and Python version (no ``hash()``).
"""

from __future__ import annotations

import hashlib

import numpy as np

from multimodal_photoz.data.format import ids as id_kinds

N_FOLDS = 5

# splitmix64 constants (Steele, Lea & Flood 2014), a well-mixed 64-bit bijection.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def splitmix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer of each 64-bit value (wrapping arithmetic).

    Args:
      values: integer array of any shape; int64 values are taken bit for bit.
    Returns:
      uint64 array of the same shape.
    """
    z = np.asarray(values).astype(np.int64).view(np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def string_hash64(ids) -> np.ndarray:
    """The 64-bit hash of each string id: BLAKE2b of its UTF-8 bytes, first 8 bytes
    read little-endian.

    Args:
      ids: (N,) str (numpy unicode, or UTF-8 bytes).
    Returns:
      (N,) uint64.
    """
    texts = np.atleast_1d(id_kinds.as_stored(ids)).tolist()
    return np.array([int.from_bytes(hashlib.blake2b(t.encode("utf-8")).digest()[:8], "little")
                     for t in texts], np.uint64)


def fold_of(ids, n_folds: int = N_FOLDS) -> np.ndarray:
    """Fold of each object: ``splitmix64(id) mod n_folds`` for int64 ids,
    ``string_hash64(id) mod n_folds`` for string ids.

    Args:
      ids: (N,) object ids: integers (int64), or text (numpy unicode / UTF-8 bytes).
      n_folds: number of folds (>= 1).
    Returns:
      (N,) int32 in ``0 .. n_folds - 1``.
    """
    if not isinstance(n_folds, (int, np.integer)) or n_folds < 1:
        raise ValueError(f"n_folds must be a positive integer, got {n_folds!r}")
    ids = np.atleast_1d(np.asarray(ids))
    if ids.dtype.kind in "US":
        return (string_hash64(ids) % np.uint64(n_folds)).astype(np.int32)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"ids must be integers or text, got dtype {ids.dtype}")
    return (splitmix64(ids) % np.uint64(n_folds)).astype(np.int32)
