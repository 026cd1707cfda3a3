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
SEDs come from the empirical library: red (u-r > 2.22) with probability ``red_fraction(z)``,
and, beyond z ~ 1, the bluest library members are favoured (younger populations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from multimodal_photoz.simulate.library import SedLibrary

# Median redshift of magnitude-limited samples against i (AB); zCOSMOS, VVDS, DEEP2-like.
_MEDIAN_Z_I = ((14.0, 0.04), (16.0, 0.08), (17.5, 0.13), (19.0, 0.22), (20.5, 0.38),
               (22.0, 0.62), (23.0, 0.80), (24.0, 1.00), (25.0, 1.20), (26.5, 1.45))
_R_MINUS_I = 0.4  # typical r - i, to use the i-band relation for r-selected field galaxies


@dataclass(frozen=True)
class Draw:
    """One draw of a sample (arrays of length N).

    Attributes:
      z: redshift. mag_sel: Galactic-extinction-corrected magnitude in the selection filter.
      ebv: Galactic E(B-V) or None (the preset's log-normal is used).
      sed_index: row of the SED library.
    """

    z: np.ndarray
    mag_sel: np.ndarray
    ebv: np.ndarray | None
    sed_index: np.ndarray


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
    """(N,) probability that a galaxy at redshift z takes a red-sequence SED."""
    return 0.6 / (1.0 + (np.asarray(z) / 1.0) ** 2.5)


def draw_sed_index(rng: np.random.Generator, z: np.ndarray, library: SedLibrary) -> np.ndarray:
    """(N,) library rows: red or blue by ``red_fraction(z)``, bluer SEDs favoured at z > 1."""
    red = rng.random(z.shape) < red_fraction(z)
    red_rows, blue_rows = np.flatnonzero(library.is_red), np.flatnonzero(~library.is_red)
    out = red_rows[rng.integers(0, red_rows.size, z.shape)]
    # blue galaxies: weight exp(-gamma(z) (u-r)), gamma rising from 0 at z=1 to 4 at z>=3
    colour = library.u_minus_r[blue_rows]
    for gamma in np.unique(np.round(2.0 * np.clip(z[~red] - 1.0, 0.0, 2.0), 1)):
        pick = ~red & (np.round(2.0 * np.clip(z - 1.0, 0.0, 2.0), 1) == gamma)
        w = np.exp(-gamma * (colour - colour.min()))
        out[pick] = rng.choice(blue_rows, size=int(pick.sum()), p=w / w.sum())
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
        return Draw(z, mag, None, draw_sed_index(rng, z, library))


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
    return Draw(z, mag, library.ebv[idx], idx)


def draw_field(rng: np.random.Generator, n: int, mag_range: tuple[float, float],
               selection_is_r: bool, library: SedLibrary) -> Draw:
    """n field galaxies (stamp neighbours) with dN/dm ~ 10^(0.3 m) in ``mag_range``."""
    mag = _power_law_mags(rng, n, *mag_range)
    z = np.clip(redshift_given_mag(rng, mag - (_R_MINUS_I if selection_is_r else 0.0)),
                0.005, 5.9)
    return Draw(z, mag, None, draw_sed_index(rng, z, library))


# Population name -> draw(rng, n, library) -> Draw.
POPULATIONS = {
    "sdss_mgs": draw_sdss_mgs,
    "cfhtls_spec": SpectroscopicSample(
        ((15.0, 19.5, 0.34), (19.5, 22.5, 0.57), (22.5, 25.0, 0.09))).draw,
    "hsc_spec": SpectroscopicSample(
        ((17.0, 22.0, 0.45), (22.0, 24.0, 0.45), (24.0, 25.5, 0.10))).draw,
}
