"""Cross-validation folds from object ids.

An object's fold is a hash of its id, so it never depends on the order of the
catalogue, on which other objects are present, or on the machine: the same
galaxy lands in the same fold in every data set that holds it.
"""

from __future__ import annotations

import numpy as np

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


def fold_of(ids, n_folds: int = N_FOLDS) -> np.ndarray:
    """Fold of each object: ``splitmix64(id) mod n_folds``.

    Args:
      ids: (N,) integer object ids (int64).
      n_folds: number of folds (>= 1).
    Returns:
      (N,) int32 in ``0 .. n_folds - 1``.
    """
    if not isinstance(n_folds, (int, np.integer)) or n_folds < 1:
        raise ValueError(f"n_folds must be a positive integer, got {n_folds!r}")
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"ids must be integers, got dtype {ids.dtype}")
    ids = np.atleast_1d(ids)
    return (splitmix64(ids) % np.uint64(n_folds)).astype(np.int32)
