"""What one object of a data set holds: feature names, dtypes and shapes.

The schema is fixed when a data set is written and saved in ``photoz.json``;
it gives both the tensorflow-datasets ``FeaturesDict`` (``features.json``)
and the columns of the fast side catalogue (``catalogue.npz``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from multimodal_photoz.bands import check_wavelength_order, parse_bands, sort_by_wavelength
from multimodal_photoz.data.format.ids import KINDS as ID_KINDS

# Names a per-object extra column may not take.
RESERVED = ("image", "z_spec", "ebv", "id", "fold", "band_mask", "weight")
MAG_PREFIX = "mag_"
_EXTRA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Stored dtype of an extra column, by numpy dtype kind (tf.Example keeps
# float32 and int64 only, so wider floats are narrowed and ints widened).
EXTRA_DTYPES: dict[str, str] = {"f": "float32", "i": "int64", "u": "int64", "b": "bool"}


def extra_dtype(name: str, values: Any) -> str:
    """Stored dtype name of an extra column, checking its name and kind.

    Raises:
      ValueError: a reserved or malformed name, or a non-numeric column.
    """
    if not _EXTRA_NAME.match(name) or name in RESERVED or name.startswith(MAG_PREFIX):
        raise ValueError(
            f"extra column name {name!r} is reserved or not an identifier; reserved: "
            f"{', '.join(RESERVED)} and names starting with {MAG_PREFIX!r}")
    kind = np.asarray(values).dtype.kind
    if kind not in EXTRA_DTYPES:
        raise ValueError(f"extra column {name!r} must be numeric or bool, got dtype "
                         f"{np.asarray(values).dtype}")
    return EXTRA_DTYPES[kind]


@dataclasses.dataclass(frozen=True)
class Schema:
    """Features of every object of one data set.

    Attributes:
      bands: band names in ascending order of wavelength (the image channels).
      stamp_size: S, images are (S, S, C).
      mag_bands: bands with a ``mag_<band>`` column (AB, NaN where unknown).
      extras: (name, dtype) of the extra per-object columns, dtype one of
        ``float32``, ``int64``, ``bool``.
      id_kind: ``int64`` or ``string`` (``ids.KINDS``): the ids' dtype name in
        ``columns`` (string ids are numpy unicode in the catalogue, UTF-8 bytes
        in the records).
    """

    bands: tuple[str, ...]
    stamp_size: int
    mag_bands: tuple[str, ...] = ()
    extras: tuple[tuple[str, str], ...] = ()
    id_kind: str = "int64"

    def __post_init__(self):
        object.__setattr__(self, "bands", check_wavelength_order(self.bands))
        object.__setattr__(self, "mag_bands", parse_bands(self.mag_bands)
                           if self.mag_bands else ())
        if int(self.stamp_size) < 1:
            raise ValueError(f"stamp size must be positive, got {self.stamp_size}")
        object.__setattr__(self, "stamp_size", int(self.stamp_size))
        object.__setattr__(self, "extras", tuple((str(n), str(d)) for n, d in self.extras))
        if self.id_kind not in ID_KINDS:
            raise ValueError(f"id kind must be one of {ID_KINDS}, got {self.id_kind!r}")

    @property
    def n_bands(self) -> int:
        return len(self.bands)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.stamp_size, self.stamp_size, self.n_bands)

    def columns(self) -> dict[str, tuple[str, tuple[int, ...]]]:
        """Every non-image feature: name -> (dtype name, per-object shape)."""
        cols = {"z_spec": ("float32", ()), "ebv": ("float32", ()), "id": (self.id_kind, ()),
                "fold": ("int32", ()), "band_mask": ("bool", (self.n_bands,))}
        cols.update({MAG_PREFIX + b: ("float32", ()) for b in self.mag_bands})
        cols.update({name: (dtype, ()) for name, dtype in self.extras})
        return cols

    def features(self):
        """The tensorflow-datasets ``FeaturesDict`` of one object."""
        import tensorflow_datasets as tfds  # heavy import, only where needed

        feats: dict[str, Any] = {
            # Raw little-endian float32 bytes: one bytes field, cheap to parse.
            "image": tfds.features.Tensor(shape=self.image_shape, dtype=np.float32,
                                          encoding="bytes"),
        }
        for name, (dtype, shape) in self.columns().items():
            if dtype == "string":  # UTF-8 bytes in a bytes_list
                feats[name] = tfds.features.Text()
                continue
            feats[name] = (tfds.features.Tensor(shape=shape, dtype=np.dtype(dtype))
                           if shape else tfds.features.Scalar(dtype=np.dtype(dtype)))
        return tfds.features.FeaturesDict(feats)

    def to_json(self) -> dict[str, Any]:
        return {"bands": "".join(self.bands), "stamp_size": self.stamp_size,
                "mag_bands": "".join(self.mag_bands), "extras": [list(e) for e in self.extras],
                "id_kind": self.id_kind}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Schema":
        return cls(bands=tuple(d["bands"]), stamp_size=int(d["stamp_size"]),
                   mag_bands=tuple(d.get("mag_bands", "")),
                   extras=tuple(tuple(e) for e in d.get("extras", ())),
                   id_kind=d.get("id_kind", "int64"))  # absent: written before string ids

    @classmethod
    def infer(cls, bands: Sequence[str] | str, images_shape: Sequence[int],
              mags: Mapping[str, Any] | None, extras: Mapping[str, Any] | None,
              id_kind: str = "int64") -> "Schema":
        """Schema of a first batch: stamp from ``images_shape`` (B, S, S, C)."""
        extras = extras or {}
        return cls(bands=tuple(parse_bands(bands)), stamp_size=int(images_shape[1]),
                   mag_bands=sort_by_wavelength(list(mags)) if mags else (),
                   extras=tuple((n, extra_dtype(n, v)) for n, v in extras.items()),
                   id_kind=id_kind)
