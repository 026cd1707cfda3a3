"""Who is in each simulated sample: redshift, selection magnitude, Galactic E(B-V), SED.

- ``sdss_mgs``: real (z, dereddened Petrosian r, E(B-V), SED) quadruplets of the SDSS
  galaxies shipped with kcorrect (``library.sdss_library``), resampled with small jitters
  (0.05 mag, 2% in 1+z), then cut to r <= 17.8 and z <= 0.4 like the Main Galaxy Sample.
- ``cfhtls_spec`` / ``hsc_spec``: the i-band magnitude follows the fractions the paper gives
  per magnitude range (Sect. 2.4), with dN/dm ~ 10^(0.3 m) inside each range; the redshift
  given i follows dN/dz ~ z^2 exp(-(z/z0)^1.5) (Baugh & Efstathiou 1993) with a median
  ``median_z(i)`` typical of magnitude-limited redshift surveys, plus a Lyman-break tail
  (z ~ 2-6, as from VUDS/VANDELS/CLAMATO) whose share grows for i > 22.5.
- field galaxies (stamp neighbours): dN/dm ~ 10^(0.3 m) down to the image depth.
SEDs come from the empirical library: red (u-r > 2.22) with probability ``red_fraction(z)``
and, within that class, a galaxy of about the same absolute r magnitude (colours depend on
luminosity: faint deep-field galaxies take the SEDs of the library's dwarfs). Deep-field
galaxies (not the SDSS main sample, whose SEDs are the real ones) also get a young stellar
population on top of their library SED (``young_light_fraction``): the
library holds luminous z ~ 0.1 galaxies, while deep samples hold fainter galaxies at
higher redshift, both with higher specific star-formation rates; the dust that comes with
that star formation (``star_formation_dust``) goes on the disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from multimodal_photoz.simulate.distances import distance_modulus
from multimodal_photoz.simulate.library import SedLibrary, template_correction

# Median redshift of magnitude-limited samples against i (AB); zCOSMOS, VVDS, DEEP2-like.
_MEDIAN_Z_I = ((14.0, 0.04), (16.0, 0.08), (17.5, 0.13), (19.0, 0.22), (20.5, 0.38),
               (22.0, 0.62), (23.0, 0.80), (24.0, 1.00), (25.0, 1.20), (26.5, 1.45))
_R_MINUS_I = 0.4  # typical r - i, to use the i-band relation for r-selected field galaxies

# Star formation added to deep-field galaxies (``young_light_fraction``), its dust
# (``star_formation_dust``) and the red fraction of deep spectroscopic samples. The forms
# are published physics: the cosmic star-formation history (Madau & Dickinson 2014, ARA&A
# 52, 415, eq. 15), a specific star-formation rate falling with luminosity (Salim et al.
# 2007, ApJS 173, 267) and an attenuation rising with the star-formation rate (Hopkins et
# al. 2001, AJ 122, 288; Garn & Best 2010, MNRAS 409, 421). The numbers are fitted to the
# g-z envelopes of the HSC PDR2 spectroscopic sample (``reference_colours``) at the hsc9
# and cfhtls presets' own sample sizes, seeds 0 and 1 (scripts/fit_deep_field_colours.py).
YOUNG_LN_AMPLITUDE = -2.406   # ln of the young light fraction at M = -21, z = 0.1
YOUNG_LUMINOSITY_SLOPE = 0.476  # d ln f / d(0.4 ln10 M): f ~ L^-0.476
YOUNG_SFH_POWER = 0.758       # f ~ (psi(z) / psi(0.1))^0.758
YOUNG_LN_SCATTER = 1.109      # log-normal scatter between galaxies
YOUNG_LN_RED_OFFSET = -1.398  # red-sequence galaxies: e^-1.398 as much ("frosting")
YOUNG_MAX_FRACTION = 0.539
RED_FRACTION_LOW_Z = 0.55     # red_fraction(z) = 0.55 / (1 + (z / 0.951)^5.1)
RED_FRACTION_Z = 0.951
RED_FRACTION_POWER = 5.1
# Dust that comes with star formation: a Calzetti E_s(B-V) on the disk (young stars
# included) rising with the star-formation rate, taken from the young light fraction f and
# the luminosity L of ``young_light_fraction`` (M = mag_sel - DM(z)):
# E_s = SF_DUST_EBV (f / 0.1)^SF_DUST_YOUNG_SLOPE (L / L(M = -21))^SF_DUST_LUMINOSITY_SLOPE
# (the disk's total is capped at ``morphology.MAX_DISK_EBV``). Without it the youngest
# galaxies at z > 1 are bluer than real ones (their rest-frame UV slope is set by dust)
# while faint galaxies at z < 0.3 are redder.
SF_DUST_EBV = 0.13
SF_DUST_YOUNG_SLOPE = 0.055
SF_DUST_LUMINOSITY_SLOPE = 0.14


@dataclass(frozen=True)
class Draw:
    """One draw of a sample (arrays of length N).

    Attributes:
      z: redshift. mag_sel: Galactic-extinction-corrected magnitude in the selection filter.
      ebv: Galactic E(B-V) or None (the preset's log-normal is used).
      sed_index: row of the SED library.
      young_fraction: share of rest-frame r light added as the library's youngest
        template (0 for the SDSS main sample).
      sdss_correction: (N, 5) magnitudes added to the template magnitudes in the SDSS
        ugriz filters (``library.template_correction``), or None (no correction).
      disk_ebv: (N,) Calzetti E_s(B-V) (mag) added to the disk with the young population
        (``star_formation_dust``), or None (none: the SDSS main sample).
    """

    z: np.ndarray
    mag_sel: np.ndarray
    ebv: np.ndarray | None
    sed_index: np.ndarray
    young_fraction: np.ndarray
    sdss_correction: np.ndarray | None = None
    disk_ebv: np.ndarray | None = None


def median_z(mag_i: np.ndarray) -> np.ndarray:
    """(N,) median redshift of a magnitude-limited sample at i-band magnitude ``mag_i`` (N,)."""
    m, z = np.array(_MEDIAN_Z_I).T
    return np.interp(mag_i, m, z)


def redshift_given_mag(rng: np.random.Generator, mag_i: np.ndarray) -> np.ndarray:
    """(N,) redshifts from dN/dz ~ z^2 exp(-(z/z0)^1.5), z0 = median_z / 1.412."""
    # with u = (z/z0)^1.5 the law is u exp(-u): a Gamma(2) variable
    z0 = median_z(mag_i) / 1.412
    return z0 * rng.gamma(2.0, 1.0, size=mag_i.shape) ** (2.0 / 3.0)


def red_fraction(z: np.ndarray) -> np.ndarray:
    """(N,) probability that a galaxy of a deep spectroscopic sample at redshift z
    takes a red-sequence SED (spectroscopic samples beyond z ~ 1 target star-forming,
    emission-line galaxies)."""
    return RED_FRACTION_LOW_Z / (1.0 + (np.asarray(z) / RED_FRACTION_Z) ** RED_FRACTION_POWER)


def cosmic_sfr_density(z: np.ndarray) -> np.ndarray:
    """(N,) Madau & Dickinson (2014) eq. 15 star-formation rate density, M_sun/yr/Mpc^3."""
    z = np.asarray(z, np.float64)
    return 0.015 * (1.0 + z) ** 2.7 / (1.0 + ((1.0 + z) / 2.9) ** 5.6)


def young_light_fraction(rng: np.random.Generator, z: np.ndarray, mag_sel: np.ndarray,
                         red: np.ndarray) -> np.ndarray:
    """(N,) share of rest-frame r light in a young population added to each galaxy.

    ln f = ln A + b (0.4 ln 10)(M + 21) + p ln(psi(z) / psi(0.1)) + s N(0, 1) (+ an
    offset for red-sequence galaxies), M = mag_sel - DM(z) (no k-correction): more
    star formation at higher redshift (psi, the cosmic SFR density) and in fainter
    galaxies, clipped to ``YOUNG_MAX_FRACTION``.
    """
    abs_mag = mag_sel - distance_modulus(z)
    ln_f = (YOUNG_LN_AMPLITUDE + YOUNG_LUMINOSITY_SLOPE * 0.4 * np.log(10.0) * (abs_mag + 21.0)
            + YOUNG_SFH_POWER * np.log(cosmic_sfr_density(z) / cosmic_sfr_density(0.1))
            + YOUNG_LN_SCATTER * rng.standard_normal(z.shape)
            + np.where(red, YOUNG_LN_RED_OFFSET, 0.0))
    return np.minimum(np.exp(ln_f), YOUNG_MAX_FRACTION)


def star_formation_dust(z: np.ndarray, mag_sel: np.ndarray,
                        young_fraction: np.ndarray) -> np.ndarray:
    """(N,) Calzetti E_s(B-V) (mag) of the dust that comes with star formation:
    SF_DUST_EBV (f / 0.1)^a (L / L(M = -21))^b for a young light fraction f (N,),
    M = mag_sel - DM(z) as in ``young_light_fraction``, a = SF_DUST_YOUNG_SLOPE,
    b = SF_DUST_LUMINOSITY_SLOPE (the disk caps its total, ``add_young_population``)."""
    abs_mag = mag_sel - distance_modulus(z)
    return (SF_DUST_EBV * (np.asarray(young_fraction) / 0.1) ** SF_DUST_YOUNG_SLOPE
            * 10.0 ** (-0.4 * SF_DUST_LUMINOSITY_SLOPE * (abs_mag + 21.0)))


def _deep_draw(rng, z, mag, library, r_minus_sel: float = _R_MINUS_I) -> Draw:
    """A Draw of deep-field galaxies: a library SED of their luminosity plus their young
    population (``mag`` in the selection band, ``r_minus_sel`` the typical r - band)."""
    sed = draw_sed_index(rng, z, library, mag + r_minus_sel - distance_modulus(z))
    young = young_light_fraction(rng, z, mag, library.is_red[sed])
    return Draw(z, mag, None, sed, young, disk_ebv=star_formation_dust(z, mag, young))


LUMINOSITY_NEIGHBOURS = 64  # library members of the nearest luminosity to draw from


def _library_abs_mag_r(library: SedLibrary) -> np.ndarray:
    """(M,) absolute Petrosian r of the library galaxies (no k-correction)."""
    return library.r_petro - distance_modulus(library.z)


def draw_sed_index(rng: np.random.Generator, z: np.ndarray, library: SedLibrary,
                   abs_mag_r: np.ndarray | None = None) -> np.ndarray:
    """(N,) library rows: red or blue by ``red_fraction(z)``; within that class, one of
    the ``LUMINOSITY_NEIGHBOURS`` members closest in absolute r magnitude to
    ``abs_mag_r`` (N,) (colour depends on luminosity), or any member if None."""
    red = rng.random(z.shape) < red_fraction(z)
    out = np.empty(z.shape, np.int64)
    lib_mag = _library_abs_mag_r(library)
    for in_class, rows in ((red, np.flatnonzero(library.is_red)),
                           (~red, np.flatnonzero(~library.is_red))):
        n = int(in_class.sum())
        if abs_mag_r is None:
            out[in_class] = rows[rng.integers(0, rows.size, n)]
            continue
        rows = rows[np.argsort(lib_mag[rows])]
        centre = np.searchsorted(lib_mag[rows], abs_mag_r[in_class])
        half = LUMINOSITY_NEIGHBOURS // 2
        lo = np.clip(centre - half, 0, max(rows.size - LUMINOSITY_NEIGHBOURS, 0))
        out[in_class] = rows[np.minimum(lo + rng.integers(0, LUMINOSITY_NEIGHBOURS, n),
                                        rows.size - 1)]
    return out


def _power_law_mags(rng, n, lo, hi, slope=0.3):
    """n magnitudes in [lo, hi] (scalars or (n,) arrays) with dN/dm ~ 10^(slope m)."""
    a = np.log(10.0) * slope
    u = rng.random(n)
    return lo + np.log1p(u * np.expm1(a * (hi - lo))) / a


@dataclass(frozen=True)
class SpectroscopicSample:
    """A deep spectroscopic compilation described by its i-band magnitude fractions.

    Within each range dN/dm ~ 10^(0.3 m): a union of magnitude-limited surveys, each with a
    cliff at its limit (e.g. i = 22.5 of VVDS-Wide, VIPERS, zCOSMOS-bright).

    Attributes:
      mag_bins: ((lo, hi, fraction), ...) of the selection magnitude (paper Sect. 2.4).
      lbg_share_max: share of the Lyman-break (z ~ 2-6) tail reached at i = 25.5.
    """

    mag_bins: tuple[tuple[float, float, float], ...]
    lbg_share_max: float = 0.35

    def mag_density(self, mag: np.ndarray) -> np.ndarray:
        """(M,) probability density of the selection magnitude at ``mag`` (M,) (per mag)."""
        a = np.log(10.0) * 0.3
        mag = np.asarray(mag, np.float64)
        out = np.zeros_like(mag)
        for lo, hi, frac in self.mag_bins:
            norm = (np.exp(a * hi) - np.exp(a * lo)) / a
            inside = (mag >= lo) & (mag < hi)
            out += np.where(inside, frac * np.exp(a * mag) / norm, 0.0)
        return out / sum(f for *_, f in self.mag_bins)

    def draw(self, rng: np.random.Generator, n: int, library: SedLibrary) -> Draw:
        """Draws n objects (no cut needed: every draw is in the sample)."""
        lo, hi, frac = np.array(self.mag_bins).T
        which = rng.choice(lo.size, size=n, p=frac / frac.sum())
        mag = _power_law_mags(rng, n, lo[which], hi[which])
        z = redshift_given_mag(rng, mag)
        lbg_share = self.lbg_share_max * np.clip((mag - 22.5) / 3.0, 0.0, 1.0)
        lbg = rng.random(n) < lbg_share
        z[lbg] = 1.8 + rng.gamma(3.0, 0.45, size=int(lbg.sum()))
        z = np.clip(z, 0.005, 5.9)
        return _deep_draw(rng, z, mag, library)


def draw_sdss_mgs(rng: np.random.Generator, n: int, library: SedLibrary) -> Draw:
    """n objects resampled from the real SDSS galaxies, cut to r <= 17.8 and z <= 0.4."""
    keep_z, keep_m, keep_i = [], [], []
    while sum(x.size for x in keep_z) < n:
        idx = rng.integers(0, library.z.size, size=2 * n + 16)
        z = (1.0 + library.z[idx]) * np.exp(rng.normal(0.0, 0.02, idx.size)) - 1.0
        mag = library.r_petro[idx] + rng.normal(0.0, 0.05, idx.size)
        ok = (mag <= 17.8) & (z <= 0.4) & (z >= 0.005) & (mag >= 12.0)
        keep_z.append(z[ok]), keep_m.append(mag[ok]), keep_i.append(idx[ok])
    z, mag, idx = (np.concatenate(a)[:n] for a in (keep_z, keep_m, keep_i))
    return Draw(z, mag, library.ebv[idx], idx, np.zeros_like(z), template_correction(z))


def draw_field(rng: np.random.Generator, n: int, mag_range: tuple[float, float],
               selection_is_r: bool, library: SedLibrary) -> Draw:
    """n field galaxies (stamp neighbours) with dN/dm ~ 10^(0.3 m) in ``mag_range``."""
    mag = _power_law_mags(rng, n, *mag_range)
    z = np.clip(redshift_given_mag(rng, mag - (_R_MINUS_I if selection_is_r else 0.0)),
                0.005, 5.9)
    return _deep_draw(rng, z, mag, library, 0.0 if selection_is_r else _R_MINUS_I)


# The deep spectroscopic compilations of the paper (Sect. 2.4).
SPECTROSCOPIC_SAMPLES = {
    "cfhtls_spec": SpectroscopicSample(
        ((15.0, 19.5, 0.34), (19.5, 22.5, 0.57), (22.5, 25.0, 0.09))),
    "hsc_spec": SpectroscopicSample(
        ((17.0, 22.0, 0.45), (22.0, 24.0, 0.45), (24.0, 25.5, 0.10))),
}
# Population name -> draw(rng, n, library) -> Draw.
POPULATIONS = {"sdss_mgs": draw_sdss_mgs,
               **{name: sample.draw for name, sample in SPECTROSCOPIC_SAMPLES.items()}}
