"""Photometric band names and their wavelength order.

A band is named by one lower-case letter, as in the paper (``u g r i z y j h k``);
a band list is a string such as ``"ugrizyjhk"`` or a sequence of names. Bands are
always kept in ascending order of wavelength, the order of the image channels.
"""

from __future__ import annotations

from collections.abc import Sequence

# Approximate effective (pivot) wavelengths in nm, used only to order bands.
# u: CFHT MegaCam u*/u, g..y: HSC/SDSS, j h k: VISTA J H Ks.
EFFECTIVE_WAVELENGTH_NM: dict[str, float] = {
    "u": 360.0,
    "g": 475.0,
    "r": 620.0,
    "i": 765.0,
    "z": 900.0,
    "y": 1000.0,
    "j": 1250.0,
    "h": 1650.0,
    "k": 2150.0,
}



def parse_bands(bands: str | Sequence[str]) -> tuple[str, ...]:
    """Returns band names as a tuple, checking each name and their uniqueness.

    Args:
      bands: ``"ugriz"``, ``"u,g,r"`` or ``("u", "g", "r")``.

    Raises:
      ValueError: an unknown or repeated band, or an empty list.
    """
    if isinstance(bands, str):
        names = tuple(b for b in bands.replace(",", " ").replace("_", " ").split()) if (
            "," in bands or "_" in bands or " " in bands) else tuple(bands)
    else:
        names = tuple(bands)
    names = tuple(n.strip().lower() for n in names)
    if not names:
        raise ValueError("empty band list")
    for name in names:
        if name not in EFFECTIVE_WAVELENGTH_NM:
            raise ValueError(
                f"unknown band {name!r} in {bands!r}; known bands are "
                f"{''.join(EFFECTIVE_WAVELENGTH_NM)}")
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f"band {name!r} appears twice in {bands!r}")
        seen.add(name)
    return names


def sort_by_wavelength(bands: str | Sequence[str]) -> tuple[str, ...]:
    """Returns the bands sorted in ascending order of effective wavelength."""
    return tuple(sorted(parse_bands(bands), key=EFFECTIVE_WAVELENGTH_NM.__getitem__))


def check_wavelength_order(bands: str | Sequence[str]) -> tuple[str, ...]:
    """Returns the parsed bands; raises if they are not in wavelength order."""
    names = parse_bands(bands)
    if names != sort_by_wavelength(names):
        raise ValueError(
            f"bands {''.join(names)!r} are not in ascending order of wavelength; "
            f"expected {''.join(sort_by_wavelength(names))!r}")
    return names
