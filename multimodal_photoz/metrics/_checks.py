"""Input checks and chunking shared by the metrics modules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

_CHUNK_ELEMENTS = 1 << 17  # 1 MB float64 temporaries: cache-sized; bounds memory at 1e6 x 400


def _first_bad(mask: np.ndarray) -> int:
    """Index (row for 2-d) of the first True entry of ``mask``."""
    return int(np.argmax(mask.reshape(len(mask), -1).any(axis=1)))


def _as_1d(name: str, values: Any) -> np.ndarray:
    """``values`` as float64 (N,); ValueError naming ``name`` if not 1-d, empty or non-finite."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: empty array")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(f"{name}: non-finite value {arr[i]} at index {i}")
    return arr


def _same_length(**arrays: np.ndarray) -> int:
    """Common length of the named arrays; ValueError listing them if they differ."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"arrays of different lengths: {lengths}")
    return next(iter(lengths.values()))


def _redshift_pair(z_phot: Any, z_spec: Any) -> tuple[np.ndarray, np.ndarray]:
    z_phot = _as_1d("z_phot", z_phot)
    z_spec = _as_1d("z_spec", z_spec)
    _same_length(z_phot=z_phot, z_spec=z_spec)
    if (z_spec <= -1.0).any():  # 1 + z_spec is a denominator
        i = _first_bad(z_spec <= -1.0)
        raise ValueError(f"z_spec: value {z_spec[i]} <= -1 at index {i}")
    return z_phot, z_spec


def _check_edges(bin_edges: Any) -> np.ndarray:
    edges = _as_1d("bin_edges", bin_edges)
    if len(edges) < 2 or not (np.diff(edges) > 0).all():
        raise ValueError("bin_edges: need at least 2 strictly increasing edges")
    return edges


def _check_pdf(pdf: Any, edges: np.ndarray) -> np.ndarray:
    pdf = np.asarray(pdf)
    if pdf.ndim != 2:
        raise ValueError(f"pdf: expected shape (N, n_bins), got {pdf.shape}")
    if pdf.shape[0] == 0:
        raise ValueError("pdf: empty array")
    if pdf.shape[1] != len(edges) - 1:
        raise ValueError(
            f"pdf: {pdf.shape[1]} bins but bin_edges has {len(edges)} edges "
            f"(expected n_bins + 1)")
    return pdf


def _row_chunks(n_rows: int, row_size: int, chunk_elements: int | None = None) -> Iterator[slice]:
    """Slices of rows holding about ``chunk_elements`` (default ``_CHUNK_ELEMENTS``) values each."""
    step = max(1, (chunk_elements or _CHUNK_ELEMENTS) // max(row_size, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _chunk_probabilities(pdf_chunk: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """float64 probabilities (c, n_bins) and their row sums (c,), validated.

    A row with a negative or non-finite entry or a zero sum raises, naming its
    index; callers divide by the sum (absorbs float32 softmax rounding).
    """
    p = pdf_chunk.astype(np.float64, copy=False)
    total = p.sum(axis=1)
    if not np.isfinite(total).all() or p.min() < 0:  # one cheap test before locating
        bad = ~np.isfinite(p) | (p < 0)
        i = _first_bad(bad)
        raise ValueError(f"pdf: row {offset + i} has a negative or non-finite probability")
    if (total <= 0).any():
        raise ValueError(f"pdf: row {offset + _first_bad(total <= 0)} sums to zero")
    return p, total


def _chunk_cdf(pdf_chunk: np.ndarray, offset: int) -> np.ndarray:
    """Normalized CDF at the right edge of every bin, (c, n_bins) float64; the
    last column is exactly 1."""
    p, _ = _chunk_probabilities(pdf_chunk, offset)
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    return cdf


def _cdf_before(cdf: np.ndarray) -> np.ndarray:
    """CDF at the left edge of every bin, (c, n_bins)."""
    return np.concatenate([np.zeros((len(cdf), 1)), cdf[:, :-1]], axis=1)
