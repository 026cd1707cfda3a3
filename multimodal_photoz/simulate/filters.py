"""Published filter transmission curves, per survey band.

Every curve is read from a PyPI package, never downloaded at run time:
 - speclite (Kirkby et al.): SDSS (Doi et al. 2010, airmass 1.3), HSC (Kawanomoto et al.
   2018, "hsc2017"), CFHT MegaCam (the MP9301..MP9801 filters of the CFHTLS, and the new u
   MP9302 used by CLAUDS);
 - astro-sedpy (B. Johnson): VISTA/VIRCAM J, H, Ks (ESO filter x mirrors x QE x atmosphere).
A filter is named ``"<package-specific name>"`` and looked up in ``FILTER_SOURCES``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class FilterCurve:
    """A total system response (photon-counting) as published.

    Attributes:
      name: filter name, e.g. ``"hsc2017-i"``.
      wavelength: (L,) float64, Angstrom, increasing.
      throughput: (L,) float64, dimensionless, >= 0 (any normalization).
      source: the package the curve comes from.
    """

    name: str
    wavelength: np.ndarray = field(repr=False)
    throughput: np.ndarray = field(repr=False)
    source: str


def _from_speclite(name: str) -> FilterCurve:
    import speclite.filters

    curve = speclite.filters.load_filter(name)
    return FilterCurve(name, np.asarray(curve.wavelength, float),
                       np.clip(np.asarray(curve.response, float), 0, None), "speclite")


def _from_sedpy(name: str) -> FilterCurve:
    from sedpy import observate

    curve = observate.Filter(name)
    return FilterCurve(name, np.asarray(curve.wavelength, float),
                       np.clip(np.asarray(curve.transmission, float), 0, None), "astro-sedpy")


# Filter name -> loader; the only place that knows which package ships which curve.
FILTER_SOURCES = {
    **{f"sdss2010-{b}": _from_speclite for b in "ugriz"},
    **{f"hsc2017-{b}": _from_speclite for b in "grizy"},
    **{f"cfht_megacam-{b}": _from_speclite for b in ("u", "ustar", "g", "r", "i", "z")},
    **{f"vista_vircam_{b}": _from_sedpy for b in ("J", "H", "Ks")},
}


@functools.lru_cache(maxsize=None)
def load_filter(name: str) -> FilterCurve:
    """Returns the published curve of filter ``name`` (a key of ``FILTER_SOURCES``).

    Raises:
      KeyError: unknown filter name (the message lists the known ones).
    """
    if name not in FILTER_SOURCES:
        raise KeyError(f"unknown filter {name!r}; known filters: {sorted(FILTER_SOURCES)}")
    return FILTER_SOURCES[name](name)


def pivot_wavelength(curve: FilterCurve) -> float:
    """Pivot wavelength in Angstrom, sqrt(int T l dl / int T dl / l) (photon counting)."""
    lam, t = curve.wavelength, curve.throughput
    return float(np.sqrt(np.trapezoid(t * lam, lam) / np.trapezoid(t / lam, lam)))
