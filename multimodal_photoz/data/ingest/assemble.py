"""Assembling chunks of input images into (B, S, S, C) batches in wavelength order.

Stamps are centre-cropped or zero-padded to ``stamp`` pixels when it is given
(counted by size); otherwise every stamp must have the size of the first one.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import numpy as np

from multimodal_photoz.data.format.checks import Problem
from multimodal_photoz.data.ingest import stamps
from multimodal_photoz.data.ingest.columns import Chunk


class Assembler:
    """Turns chunks of input images into (B, S, S, C) batches, bands by wavelength.

    Args:
      bands: the input's band names, in its channel order.
      stamp: output stamp size S in pixels; None keeps the size of the first
        square stamp, and a stamp of another size is a problem.
      allow_missing_bands: a missing cutout, or a band whose pixels are all
        non-finite, is absent (masked) instead of a problem.

    Attributes:
      bands: the bands in ascending wavelength order (the data set's).
      perm: ``bands[k] == input bands[perm[k]]``.
      stamp: S (None until a square stamp was seen, when not given).
      resized: '<WxH> cropped|padded' -> number of stamps resized.
    """

    def __init__(self, bands: Sequence[str], stamp: int | None, allow_missing_bands: bool):
        self.bands, self.perm = stamps.wavelength_order(bands)
        self.stamp = stamp
        self._resize = stamp is not None
        self._allow_missing_bands = allow_missing_bands
        self.resized: collections.Counter = collections.Counter()

    def __call__(self, chunk: Chunk) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
        """(images (B,S,S,C) wavelength order, band_mask (B,C), problems)."""
        problems = [p for p in chunk.problems
                    if not (p.kind == "missing_band" and self._allow_missing_bands)]
        if self.stamp is None:
            self.stamp = next((im.shape[0] for im in chunk.images
                               if im is not None and im.shape[0] == im.shape[1]), None)
        size = self.stamp or 1
        images = np.zeros((len(chunk.rows), size, size, len(self.bands)), np.float32)
        for k, image in enumerate(chunk.images):
            if image is None:
                continue
            if self._resize:
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
        kind = stamps.resize_kind(shape, self.stamp)
        if kind != "kept":
            self.resized[f"{shape[1]}x{shape[0]} {kind}"] += 1

    def _absent_bands(self, images: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Bands whose pixels are all non-finite count as absent when allowed."""
        if not self._allow_missing_bands:
            return present
        empty = ~np.isfinite(images).any(axis=(1, 2)) & present
        return present & ~empty
