"""What each galaxy looks like: bulge + disk split of its SED, shapes, dust and sizes.

- Bulge/disk: the bulge is made only of the library SED's old templates (rest u-r > 2.22),
  the disk of the rest (young + the remaining old light), so the two have different colours
  and their sum is exactly the library SED. The wanted bulge-to-total ratio B/T (rest-frame r,
  before disk dust) is ~U(0.45, 0.95) for red galaxies and ~Beta(1.2, 5) for blue ones,
  capped by the old-light fraction.
- Shapes: disks are thin oblate discs (intrinsic axis ratio 0.2) seen at a random inclination,
  bulges have axis ratio ~N(0.75, 0.15); both share one random position angle.
- Young stars: the population's young light (``add_young_population``) goes into the disk,
  with the dust of its star formation (``population.star_formation_dust``).
- Internal dust: the disk also gets an extra Calzetti E_s(B-V) = 0.0129 (1/cos(i) - 1), so
  edge-on disks are redder (the sum capped at 0.45); the library SED already holds the
  average attenuation, and the coefficient is the one that, with the young population,
  fits the colours of deep spectroscopic samples (population.py).
- Sizes: half-light radius against absolute magnitude M_r (rest-frame SDSS r) following the
  forms of Shen et al. (2003, MNRAS 343, 978) for early and late types, with log-normal
  scatter, shrinking as (1+z)^-1 (early) and (1+z)^-0.75 (late) (van der Wel et al. 2014),
  converted to arcsec through the Planck18 angular-diameter distance.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from multimodal_photoz.simulate.distances import kpc_per_arcsec
from multimodal_photoz.simulate.library import SedLibrary

DISK_THICKNESS = 0.2
INCLINATION_DUST = 0.0129  # E_s(B-V) per unit (1/cos i - 1); see population.py for the fit
MAX_DISK_EBV = 0.45  # cap of the disk's extra E_s(B-V) (the grid reaches 0.6)
MIN_HLR_ARCSEC = 0.03


@dataclass(frozen=True)
class Structure:
    """Bulge/disk decomposition of N galaxies (sizes are filled in by ``half_light_radii``).

    Attributes:
      bulge_coeffs, disk_coeffs: (N, K) template weights of each component.
      bulge_fraction: (N,) B/T in rest-frame SDSS r before disk dust.
      q_bulge, q_disk: (N,) projected axis ratios b/a.
      position_angle: (N,) radians.
      cos_inclination: (N,) disk inclination cosine (1 = face-on).
      ebv_int: (N,) extra Calzetti E_s(B-V) of the disk (mag).
      early: (N,) bool, B/T > 0.5 (early-type size relation).
    """

    bulge_coeffs: np.ndarray
    disk_coeffs: np.ndarray
    bulge_fraction: np.ndarray
    q_bulge: np.ndarray
    q_disk: np.ndarray
    position_angle: np.ndarray
    cos_inclination: np.ndarray
    ebv_int: np.ndarray
    early: np.ndarray


def split_bulge_disk(rng: np.random.Generator, sed_index: np.ndarray,
                     library: SedLibrary) -> Structure:
    """Draws B/T, shapes and disk dust, and splits each library SED into bulge + disk."""
    n = sed_index.size
    coeffs = library.coeffs[sed_index]
    red = library.is_red[sed_index]
    light = coeffs * library.template_rest_r  # rest-frame r light per template
    old_share = light[:, library.old_templates].sum(1) / light.sum(1)
    wanted = np.where(red, rng.uniform(0.45, 0.95, n), rng.beta(1.2, 5.0, n))
    f = np.clip(wanted / np.maximum(old_share, 1e-9), 0.0, 1.0)  # share of old light in bulge
    bulge = coeffs * library.old_templates * f[:, None]
    cos_i = rng.random(n)
    q_disk = np.sqrt(cos_i**2 + DISK_THICKNESS**2 * (1.0 - cos_i**2))
    return Structure(
        bulge_coeffs=bulge, disk_coeffs=coeffs - bulge, bulge_fraction=f * old_share,
        q_bulge=np.clip(rng.normal(0.75, 0.15, n), 0.4, 1.0), q_disk=q_disk,
        position_angle=rng.uniform(0.0, np.pi, n), cos_inclination=cos_i,
        ebv_int=np.clip(INCLINATION_DUST * (1.0 / np.maximum(cos_i, 1e-3) - 1.0), 0.0,
                        MAX_DISK_EBV),
        early=f * old_share > 0.5)


def add_young_population(structure: Structure, young_fraction: np.ndarray,
                         library: SedLibrary, disk_ebv: np.ndarray | None = None) -> Structure:
    """Adds a young population, ``young_fraction`` (N,) of the rest-frame r light after
    it is added, to each disk as the library's youngest template, and its dust,
    ``disk_ebv`` (N,) Calzetti E_s(B-V) (mag) or None, to the disk's (the sum capped at
    ``MAX_DISK_EBV``)."""
    light = ((structure.bulge_coeffs + structure.disk_coeffs) * library.template_rest_r).sum(1)
    f = np.asarray(young_fraction, np.float64)
    disk = structure.disk_coeffs.copy()
    disk[:, library.young_template] += (light * f / (1.0 - f)
                                        / library.template_rest_r[library.young_template])
    bulge_fraction = structure.bulge_fraction * (1.0 - f)
    ebv_int = structure.ebv_int if disk_ebv is None else np.minimum(
        structure.ebv_int + disk_ebv, MAX_DISK_EBV)
    return dataclasses.replace(structure, disk_coeffs=disk, bulge_fraction=bulge_fraction,
                               early=bulge_fraction > 0.5, ebv_int=ebv_int)


def _log_r50_kpc(abs_mag_r, early):
    """Shen et al. (2003)-form log10 R50 [kpc] and its scatter (dex) against M_r."""
    late_mean = (-0.4 * 0.21 * abs_mag_r
                 + (0.53 - 0.21) * np.log10(1.0 + 10.0 ** (-0.4 * (abs_mag_r + 20.52))) - 1.31)
    early_mean = -0.4 * 0.65 * abs_mag_r - 5.06
    sig_lo, sig_hi = np.where(early, 0.45, 0.48), np.where(early, 0.27, 0.25)
    sigma_ln = sig_hi + (sig_lo - sig_hi) / (1.0 + 10.0 ** (-0.8 * (abs_mag_r + 20.52)))
    return np.where(early, early_mean, late_mean), sigma_ln / np.log(10.0)


def half_light_radii(rng: np.random.Generator, abs_mag_r: np.ndarray, z: np.ndarray,
                     early: np.ndarray, max_hlr_arcsec: float):
    """Bulge and disk half-light radii (arcsec), each (N,).

    Args:
      abs_mag_r: (N,) rest-frame SDSS r absolute magnitude (AB).
      z: (N,) redshift. early: (N,) bool. max_hlr_arcsec: cap (keeps light in the stamp).
    """
    mean, sigma = _log_r50_kpc(np.clip(abs_mag_r, -25.0, -12.0), early)
    evolution = np.where(early, -1.0, -0.75) * np.log10(1.0 + z)
    r50 = 10.0 ** (mean + evolution + sigma * rng.standard_normal(z.shape))
    r50_arcsec = r50 / kpc_per_arcsec(z)
    bulge = np.where(early, r50_arcsec, r50_arcsec * rng.uniform(0.15, 0.45, z.shape))
    disk = np.where(early, r50_arcsec * rng.uniform(1.5, 2.5, z.shape), r50_arcsec)
    clip = lambda r: np.clip(r, MIN_HLR_ARCSEC, max_hlr_arcsec)  # noqa: E731
    return clip(bulge), clip(disk)
