"""Stamp geometry: centre-cropping or zero-padding to a size, band reordering.

Cropping keeps pixels ``[(H - S) // 2, (H - S) // 2 + S)`` of each axis; padding
puts the stamp at offset ``(S - H) // 2`` in a zero image, so the object's
centre pixel stays the centre pixel (to within half a pixel for odd changes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from multimodal_photoz.bands import parse_bands, sort_by_wavelength


def resize_axis(image: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Centre-crops or zero-pads one axis of ``image`` to ``size`` pixels."""
    n = image.shape[axis]
    if n > size:
        start = (n - size) // 2
        return np.take(image, np.arange(start, start + size), axis=axis)
    if n < size:
        before = (size - n) // 2
        pad = [(0, 0)] * image.ndim
        pad[axis] = (before, size - n - before)
        return np.pad(image, pad)
    return image


def resize(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crops / zero-pads the first two axes (H, W, ...) to (size, size, ...)."""
    return resize_axis(resize_axis(image, size, 0), size, 1)


def resize_kind(shape: Sequence[int], size: int) -> str:
    """'cropped', 'padded', 'cropped+padded' or 'kept' for an (H, W) shape."""
    h, w = shape[:2]
    kinds = [k for k, hit in (("cropped", h > size or w > size), ("padded", h < size or w < size))
             if hit]
    return "+".join(kinds) or "kept"


def wavelength_order(bands: str | Sequence[str]) -> tuple[tuple[str, ...], list[int]]:
    """Bands sorted by wavelength and, for each, its position in ``bands``.

    Returns:
      (sorted bands, permutation) with ``sorted[k] == bands[permutation[k]]``.
    """
    given = parse_bands(bands)
    ordered = sort_by_wavelength(given)
    return ordered, [given.index(b) for b in ordered]
