"""An empirical library of galaxy SEDs: kcorrect template weights of real SDSS galaxies.

The ``kcorrect`` package ships a sample of 10,000 SDSS main-sample galaxies
(``data/test/gst_tests_small.fits``: SDSS model and Petrosian fluxes, SFD extinction, spectroscopic
redshift). Fitting each galaxy's extinction-corrected ugriz model fluxes with non-negative
template weights (the method of Blanton & Roweis 2007) gives a library of realistic SEDs,
including their scatter (ages, metallicities, dust, emission lines). The same file gives real
(z, r_petro, E(B-V)) triplets for the SDSS preset.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls

from multimodal_photoz.simulate.seds import ab_mag, photometry_grid

SDSS_FILTERS = tuple(f"sdss2010-{b}" for b in "ugriz")
# SDSS magnitudes are close to AB except u and z (Abazajian et al. 2004): m_AB = m_SDSS + offset.
SDSS_AB_OFFSETS = np.array([-0.04, 0.0, 0.0, 0.0, 0.02])
# SDSS r-band A_r / E(B-V) used by the SDSS pipeline for the EXTINCTION column (SFD 1998).
SDSS_R_OVER_EBV = 2.751
# Strateva et al. (2001) rest-frame colour separating red and blue galaxies.
RED_U_MINUS_R = 2.22
_FLUX_FLOOR = 0.03  # fractional calibration floor added to the flux errors


@dataclass(frozen=True)
class SedLibrary:
    """Template weights of real galaxies.

    Attributes:
      coeffs: (M, K) non-negative weights, normalized to unit rest-frame SDSS r maggies.
      u_minus_r: (M,) rest-frame SDSS u - r (AB).
      z: (M,) spectroscopic redshifts of the fitted galaxies.
      r_petro: (M,) extinction-corrected Petrosian r (AB).
      ebv: (M,) SFD E(B-V) (mag).
      old_templates: (K,) bool, templates redder than the red/blue separator at rest (the
        stellar populations a bulge is made of).
      template_rest_r: (K,) rest-frame SDSS r maggies of each template (no dust).
      young_template: the template bluest in rest-frame u - r (the youngest stars, with
        their emission lines): the star formation added to high-sSFR galaxies.
    """

    coeffs: np.ndarray = field(repr=False)
    u_minus_r: np.ndarray = field(repr=False)
    z: np.ndarray = field(repr=False)
    r_petro: np.ndarray = field(repr=False)
    ebv: np.ndarray = field(repr=False)
    old_templates: np.ndarray = field(repr=False)
    template_rest_r: np.ndarray = field(repr=False)
    young_template: int = 1

    @property
    def is_red(self) -> np.ndarray:
        """(M,) bool, rest-frame u - r above the Strateva et al. (2001) separator."""
        return self.u_minus_r > RED_U_MINUS_R


def _read_sdss_sample():
    import kcorrect
    from astropy.io import fits

    path = os.path.join(os.path.dirname(kcorrect.__file__), "data", "test",
                        "gst_tests_small.fits")
    with fits.open(path) as hdul:
        d = hdul[1].data
        z = np.asarray(d["Z"], float)
        ext = np.asarray(d["EXTINCTION"], float)
        dered = 10.0 ** (0.4 * (ext - SDSS_AB_OFFSETS))  # also moves SDSS -> AB scale
        flux = np.asarray(d["MODELFLUX"], float) * 1e-9 * dered
        ivar = np.asarray(d["MODELFLUX_IVAR"], float) * 1e18 / dered**2
        petro_r = np.asarray(d["PETROFLUX"], float)[:, 2] * 1e-9 * dered[:, 2]
    return z, flux, ivar, petro_r, ext[:, 2] / SDSS_R_OVER_EBV


def _fit(grid, z, flux, ivar):
    sigma = np.sqrt(1.0 / np.clip(ivar, 1e-30, None) + (_FLUX_FLOOR * flux) ** 2)
    basis = np.stack([grid.maggies_of(np.eye(5)[k][None].repeat(z.size, 0), z)
                      for k in range(5)], axis=2)  # (N, F, K)
    coeffs = np.zeros((z.size, 5))
    for i in range(z.size):
        a, b = basis[i] / sigma[i][:, None], flux[i] / sigma[i]
        norm = np.linalg.norm(a, axis=0)  # unit columns keep NNLS well conditioned
        coeffs[i] = nnls(a / norm, b, maxiter=200)[0] / norm
    return coeffs


@functools.lru_cache(maxsize=1)
def _fitted_sample():
    """The usable SDSS galaxies and their template weights: (z, flux, petro_r, ebv, grid, coeffs),
    fitted once per process (``sdss_library``, ``fit_residuals`` and
    ``residuals_by_redshift`` share it; callers do not modify the arrays)."""
    z, flux, ivar, petro_r, ebv = _read_sdss_sample()
    good = (z > 0.005) & (z < 0.6) & np.all(flux > 0, axis=1) & (petro_r > 0)
    z, flux, ivar, petro_r, ebv = z[good], flux[good], ivar[good], petro_r[good], ebv[good]
    grid = photometry_grid(SDSS_FILTERS)
    return z, flux, petro_r, ebv, grid, _fit(grid, z, flux, ivar)


def fit_residuals() -> np.ndarray:
    """(M, 5) AB magnitude residuals (model - observed) of the library fit in ugriz."""
    z, flux, _, _, grid, coeffs = _fitted_sample()
    return ab_mag(grid.maggies_of(coeffs, z)) - ab_mag(flux)


# The library fit's median residual per redshift bin (template_correction): bin width and
# the fewest galaxies a bin needs to be used (beyond, the nearest used bin's value holds).
RESIDUAL_Z_STEP = 0.05
RESIDUAL_MIN_GALAXIES = 100


@functools.lru_cache(maxsize=1)
def residuals_by_redshift() -> tuple[np.ndarray, np.ndarray]:
    """The library fit's median magnitude residual (model - observed) in ugriz against z.

    Returns (centres (K,), medians (K, 5)) over the 0.05-wide redshift bins from 0 that
    hold at least ``RESIDUAL_MIN_GALAXIES`` fitted galaxies. The u residual grows from 0 at
    z < 0.05 to -0.14 mag at z = 0.2-0.25: the five templates cannot make these galaxies'
    rest-frame near-UV, which SDSS u samples there; g, r, i and z stay within 0.02 mag.
    """
    z = _fitted_sample()[0]
    residuals = fit_residuals()
    centres, medians = [], []
    for lo in np.arange(0.0, z.max(), RESIDUAL_Z_STEP):
        sel = (z >= lo) & (z < lo + RESIDUAL_Z_STEP)
        if sel.sum() >= RESIDUAL_MIN_GALAXIES:
            centres.append(lo + RESIDUAL_Z_STEP / 2)
            medians.append(np.median(residuals[sel], axis=0))
    return np.array(centres), np.array(medians)


def template_correction(z: np.ndarray) -> np.ndarray:
    """(N, 5) magnitudes to add to the template (model) ugriz magnitudes of SDSS galaxies
    at redshifts ``z`` (N,) so that their median matches the observed galaxies': minus
    ``residuals_by_redshift()``, linear between bin centres and constant beyond the end
    bins. The SDSS preset's galaxies are the library's own, within 2% in 1 + z of their
    redshift, so the correction measured on them applies (a redshift-dependent form of the
    template corrections of SED-fitting codes, e.g. Ilbert et al. 2006, Brammer et al. 2008)."""
    centres, medians = residuals_by_redshift()
    z = np.asarray(z, np.float64)
    return -np.stack([np.interp(z, centres, medians[:, k]) for k in range(medians.shape[1])],
                     axis=1)


@functools.lru_cache(maxsize=1)
def sdss_library() -> SedLibrary:
    """Fits (once per process, ~2 s) and returns the empirical SED library."""
    z, flux, petro_r, ebv, grid, coeffs = _fitted_sample()
    rest = grid.maggies_of(coeffs, np.zeros_like(z))
    ok = rest[:, 2] > 0
    coeffs = coeffs[ok] / rest[ok, 2:3]
    rest = rest[ok] / rest[ok, 2:3]
    tpl_rest = grid.maggies[:, 0, 0, :]  # (K, F) at z=0, no dust
    template_u_minus_r = ab_mag(tpl_rest[:, 0]) - ab_mag(tpl_rest[:, 2])
    return SedLibrary(coeffs, ab_mag(rest[:, 0]) - ab_mag(rest[:, 2]), z[ok],
                      ab_mag(petro_r[ok]), ebv[ok], template_u_minus_r > RED_U_MINUS_R,
                      tpl_rest[:, 2], int(np.argmin(template_u_minus_r)))


if __name__ == "__main__":
    # python -m multimodal_photoz.simulate.library: quality of the library fit
    residuals = fit_residuals()
    for band, r in zip("ugriz", np.median(np.abs(residuals), axis=0)):
        print(f"{band}: median |model - observed| = {r:.4f} mag")
