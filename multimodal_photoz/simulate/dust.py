"""Dust laws: internal attenuation (Calzetti et al. 2000) and Galactic extinction (F99).

Internal: starburst attenuation curve k'(lambda) of Calzetti et al. (2000, ApJ 533, 682,
eq. 4, R'_V = 4.05), applied in the rest frame as 10**(-0.4 E_s(B-V) k'). Below 1200 A the
curve is extended linearly with the slope it has at 1200 A (a common convention).
Galactic: Fitzpatrick (1999) with R_V = 3.1 as implemented by the dust_extinction package,
applied in the observed frame as 10**(-0.4 E(B-V) A_lambda/E(B-V)).
"""

from __future__ import annotations

import functools

import numpy as np

CALZETTI_RV = 4.05
GALACTIC_RV = 3.1


def _calzetti_formula(lam_um: np.ndarray) -> np.ndarray:
    blue = 2.659 * (-2.156 + 1.509 / lam_um - 0.198 / lam_um**2 + 0.011 / lam_um**3)
    red = 2.659 * (-1.857 + 1.040 / lam_um)
    return np.where(lam_um < 0.63, blue, red) + CALZETTI_RV


def calzetti_k(lam_rest: np.ndarray) -> np.ndarray:
    """Calzetti et al. (2000) k'(lambda) = A(lambda)/E_s(B-V).

    Args:
      lam_rest: (L,) rest-frame wavelengths in Angstrom.

    Returns:
      (L,) k' >= 0 (linear extension below 0.12 micron, clipped at 0 beyond ~2.9 micron).
    """
    lam_um = np.asarray(lam_rest, dtype=float) / 1e4
    k = _calzetti_formula(np.clip(lam_um, 0.12, None))
    slope = (_calzetti_formula(np.array(0.12)) - _calzetti_formula(np.array(0.121))) / 0.001
    k = np.where(lam_um < 0.12, k + slope * (0.12 - lam_um), k)
    return np.clip(k, 0.0, None)


@functools.lru_cache(maxsize=1)
def _f99():
    from dust_extinction.parameter_averages import F99

    return F99(Rv=GALACTIC_RV)


def galactic_a_over_ebv(lam_obs: np.ndarray) -> np.ndarray:
    """Galactic A(lambda)/E(B-V) of Fitzpatrick (1999), R_V = 3.1.

    Args:
      lam_obs: (L,) observed wavelengths in Angstrom; values outside the law's range
        (0.1 to 3.33 micron) take the value at the nearest end.

    Returns:
      (L,) extinction in magnitudes per magnitude of E(B-V).
    """
    import astropy.units as u

    law = _f99()
    inv_um = np.clip(1e4 / np.asarray(lam_obs, dtype=float), law.x_range[0] + 1e-6,
                     law.x_range[1] - 1e-6)
    return GALACTIC_RV * np.asarray(law(inv_um / u.micron), dtype=float)
