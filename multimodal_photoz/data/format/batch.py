"""A batch of objects on its way into a data set: shapes, per-object checks, stored dtypes.

``DatasetWriter.add`` runs all three steps: ``Batch.arrange`` (the shapes of
the batch), ``Batch.check`` (every object, once) and ``Batch.stored``.
``DatasetWriter.add_unchecked`` skips ``Batch.check``, for callers that
checked each object already where it entered (the ingest driver).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from multimodal_photoz.data.format import checks
from multimodal_photoz.data.format import ids as id_kinds
from multimodal_photoz.data.format.folds import fold_of
from multimodal_photoz.data.format.schema import extra_dtype


@dataclasses.dataclass
class Batch:
    """B objects as given, their shapes checked.

    Attributes:
      images: (B, S, S, C) float32 fluxes; channels of absent bands are zero.
      z_spec: (B,) spectroscopic redshifts, as given (NaN in an unlabelled data set).
      ebv: (B,) Galactic E(B-V) in mag, as given.
      ids: (B,) ids as given (see ``checks.parse_ids`` for what is accepted).
      band_mask: (B, C) bool, True where the band is present.
      mags: band -> (B,) AB magnitudes, as given.
      extras: name -> (B,) per-object columns, as given.
      rows: (B,) input row numbers, for messages.
    """

    images: np.ndarray
    z_spec: np.ndarray
    ebv: np.ndarray
    ids: np.ndarray
    band_mask: np.ndarray
    mags: Mapping[str, np.ndarray]
    extras: Mapping[str, np.ndarray]
    rows: np.ndarray

    @classmethod
    def arrange(cls, bands: Sequence[str], first_row: int, *, images, z_spec, ebv, ids,
                band_mask=None, mags=None, extras=None, rows=None, source: str) -> "Batch":
        """Checks the shapes of a batch; zeroes the channels of absent bands.

        Args:
          bands: the C band names of the data set.
          first_row: row number of the first object when ``rows`` is None.
          images, z_spec, ebv, ids, band_mask, mags, extras, rows: as in
            ``DatasetWriter.add`` (band_mask None: every band present).
          source: what the input is called in error messages.
        Raises:
          ValueError: a field of the wrong shape (names ``source`` and the field).
        """
        images = np.asarray(images, dtype=np.float32)
        n_bands = len(bands)
        if images.ndim != 4 or images.shape[3] != n_bands or images.shape[1] != images.shape[2]:
            raise ValueError(f"{source}: field 'image' has shape {images.shape}; expected "
                             f"(B, S, S, {n_bands}) for bands {''.join(bands)}")
        b = images.shape[0]
        mags, extras = mags or {}, extras or {}
        rows = np.arange(first_row, first_row + b) if rows is None else np.asarray(rows)
        band_mask = (np.ones((b, n_bands), bool) if band_mask is None
                     else np.asarray(band_mask).astype(bool))
        columns = {"z_spec": z_spec, "ebv": ebv, "id": ids, "rows": rows, "band_mask": band_mask,
                   **{f"mag_{k}": v for k, v in mags.items()}, **extras}
        for key, value in columns.items():
            shape = np.shape(value)
            want = (b, n_bands) if key == "band_mask" else (b,)
            if shape != want:
                raise ValueError(f"{source}: field '{key}' has shape {shape}; expected {want}")
        images = np.where(band_mask[:, None, None, :], images, np.float32(0))  # absent = 0
        return cls(images, z_spec, ebv, ids, band_mask, mags, extras, rows)

    def check(self, bands: Sequence[str], source: str, id_kind: str | None = None,
              labelled: bool = True) -> np.ndarray:
        """Checks every object of the batch once; returns the (B,) parsed ids.

        Args:
          bands: the data set's band names.
          source: what the input is called in messages.
          id_kind: the data set's id kind (``ids.KINDS``); None: this batch's.
          labelled: whether the data set is labelled (z_spec >= 0 for every object)
            or not (z_spec NaN for every object; ``checks.z_spec_problems``).
        Returns:
          (B,) int64 or numpy unicode ids.
        Raises:
          checks.BadInputError: the first bad object (names ``source``, its id,
            row and field).
        """
        ids, problems = checks.parse_ids(self.ids, self.rows, kind=id_kind)
        problems += checks.z_spec_problems(self.z_spec, self.rows, labelled=labelled)
        problems += checks.value_problems("ebv", self.ebv, self.rows)
        problems += checks.image_problems(self.images, self.band_mask, bands, self.rows)
        problems += checks.magnitude_problems(self.mags, self.rows)
        checks.raise_first(checks.attach_ids(problems, ids, self.rows), source)
        return ids

    def stored(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        """feature -> (B, ...) array in the dtypes of the data set (``fold`` added).

        Args:
          ids: (B,) int64 or numpy unicode, from ``check`` or already checked by the
            caller.
        Raises:
          ValueError: an extra column with a reserved name or a non-numeric dtype.
        """
        ids = id_kinds.as_stored(ids)
        batch = {"image": self.images, "id": ids, "fold": fold_of(ids),
                 "z_spec": np.asarray(self.z_spec, np.float32),
                 "ebv": np.asarray(self.ebv, np.float32), "band_mask": self.band_mask}
        batch.update({f"mag_{k}": np.asarray(v, np.float32) for k, v in self.mags.items()})
        batch.update({k: np.asarray(v).astype(extra_dtype(k, v)) for k, v in self.extras.items()})
        return batch
