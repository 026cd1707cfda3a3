"""Intergalactic HI absorption of a source's light, Madau (1995, ApJ 441, 18).

The mean transmission exp(-tau) is the product of Lyman-series line blanketing by the
Lyman-alpha forest (Madau 1995, eq. 15 and Table 2, first four lines) and photoelectric
absorption by Lyman-limit systems below the redshifted Lyman limit (Madau 1995, footnote 3,
the analytic approximation of eq. 16).
"""

from __future__ import annotations

import numpy as np

LYMAN_LIMIT_ANGSTROM = 911.75
# (rest wavelength in Angstrom, A_j) for Ly-alpha, beta, gamma, delta (Madau 1995, Table 2).
LYMAN_SERIES = ((1215.67, 3.6e-3), (1025.72, 1.7e-3), (972.537, 1.2e-3), (949.743, 9.3e-4))


def _tau_lines(lam_obs: np.ndarray, z_source: float) -> np.ndarray:
    tau = np.zeros_like(lam_obs)
    for lam_j, a_j in LYMAN_SERIES:
        # absorbers lie between us and the source: lam_j <= lam_obs < lam_j (1 + z_source)
        absorbed = (lam_obs < lam_j * (1.0 + z_source)) & (lam_obs >= lam_j)
        tau += np.where(absorbed, a_j * (lam_obs / lam_j) ** 3.46, 0.0)
    return tau


def _tau_lyman_continuum(lam_obs: np.ndarray, z_source: float) -> np.ndarray:
    x_em = 1.0 + z_source
    x_c = np.clip(lam_obs / LYMAN_LIMIT_ANGSTROM, 1.0, None)
    tau = (0.25 * x_c**3 * (x_em**0.46 - x_c**0.46)
           + 9.4 * x_c**1.5 * (x_em**0.18 - x_c**0.18)
           - 0.7 * x_c**3 * (x_c**-1.32 - x_em**-1.32)
           - 0.023 * (x_em**1.68 - x_c**1.68))
    below_limit = lam_obs < LYMAN_LIMIT_ANGSTROM * x_em
    return np.where(below_limit, np.clip(tau, 0.0, None), 0.0)


def madau_transmission(lam_obs: np.ndarray, z_source: float) -> np.ndarray:
    """Mean IGM transmission exp(-tau_eff) towards a source at ``z_source``.

    Args:
      lam_obs: (L,) observed-frame wavelengths in Angstrom.
      z_source: source redshift (>= 0).

    Returns:
      (L,) transmission in [0, 1]; 1 redwards of Ly-alpha at the source redshift.
    """
    lam_obs = np.asarray(lam_obs, dtype=float)
    if z_source <= 0:
        return np.ones_like(lam_obs)
    tau = _tau_lines(lam_obs, z_source) + _tau_lyman_continuum(lam_obs, z_source)
    return np.exp(-tau)
