"""Cosmological distances (Planck 2018, built into astropy; no download), tabulated."""

from __future__ import annotations

import functools

import numpy as np

from multimodal_photoz.simulate.seds import Z_MAX


@functools.lru_cache(maxsize=1)
def _table():
    from astropy.cosmology import Planck18

    z = np.concatenate([[0.0], np.geomspace(1e-4, Z_MAX + 0.5, 2000)])
    da_kpc = Planck18.angular_diameter_distance(z[1:]).to_value("kpc")
    dm = Planck18.distmod(z[1:]).value
    return z, np.concatenate([[0.0], da_kpc]), np.concatenate([[-np.inf], dm])


def distance_modulus(z: np.ndarray) -> np.ndarray:
    """(N,) distance modulus 5 log10(D_L / 10 pc) in mag for redshifts z (N,) > 0."""
    zt, _, dm = _table()
    return np.interp(z, zt[1:], dm[1:])


def kpc_per_arcsec(z: np.ndarray) -> np.ndarray:
    """(N,) proper kpc per arcsec, D_A(z) * (pi / 648000), for redshifts z (N,) > 0."""
    zt, da, _ = _table()
    return np.interp(z, zt, da) * np.pi / 648000.0
