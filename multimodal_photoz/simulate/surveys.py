"""Survey presets: pixel grid, bands, seeing, depth and sample of each data set of the paper.

Depths are 5-sigma limits in 2"-diameter apertures (AB); the sky noise per pixel follows from
them (``BandConditions.sky_sigma``). Seeing values are typical medians of each survey; each
object gets its own FWHM (log-normal scatter ``SurveyPreset.seeing_scatter``).
Sources: SDSS DR7/DR12 documentation (95% completeness limits, median PSF widths); CFHTLS
T0007 (Hudelot et al. 2012); HSC-SSP PDR2 Deep+UltraDeep (Aihara et al. 2019); CLAUDS
(Sawicki et al. 2019); UltraVISTA DR3 / VIDEO (McCracken et al. 2012; Jarvis et al. 2013).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

APERTURE_DIAMETER_ARCSEC = 2.0


@dataclass(frozen=True)
class BandConditions:
    """Observing conditions of one band.

    Attributes:
      band: one-letter band name (``multimodal_photoz.bands``).
      filters: filter curve names; several = a per-object choice (CLAUDS u or u*).
      filter_weights: probability of each filter.
      fwhm_arcsec: median PSF FWHM (Moffat).
      depth_ab: 5-sigma depth in a 2"-diameter aperture (AB mag).
      sky_ab_arcsec2: sky surface brightness (AB mag/arcsec^2); sets the source Poisson
        noise relative to the sky noise.
      instrument: where the band's images come from.
    """

    band: str
    filters: tuple[str, ...]
    fwhm_arcsec: float
    depth_ab: float
    sky_ab_arcsec2: float
    instrument: str
    filter_weights: tuple[float, ...] = (1.0,)

    def sky_sigma(self, zeropoint_ab: float, pixel_scale_arcsec: float) -> float:
        """Sky noise per pixel (image units) giving 5 sigma at ``depth_ab`` in a 2" aperture."""
        aperture_flux = 10.0 ** (-0.4 * (self.depth_ab - zeropoint_ab))
        n_pix = math.pi * (APERTURE_DIAMETER_ARCSEC / 2) ** 2 / pixel_scale_arcsec**2
        return aperture_flux / 5.0 / math.sqrt(n_pix)

    def variance_per_flux(self, zeropoint_ab: float, pixel_scale_arcsec: float) -> float:
        """Poisson variance per unit of source flux (image units), sigma_sky^2 / sky level."""
        sky = 10.0 ** (-0.4 * (self.sky_ab_arcsec2 - zeropoint_ab)) * pixel_scale_arcsec**2
        return self.sky_sigma(zeropoint_ab, pixel_scale_arcsec) ** 2 / sky


@dataclass(frozen=True)
class SurveyPreset:
    """Everything that makes a simulated data set look like one of the paper's.

    Attributes:
      name: preset name (``sdss``, ``cfhtls``, ``hsc6``, ``hsc9``).
      pixel_scale_arcsec: pixel size.
      zeropoint_ab: mag_AB = zeropoint_ab - 2.5 log10(pixel flux sum).
      bands: per-band conditions, in wavelength order.
      population: key of ``population.POPULATIONS``.
      selection_filter: filter of the (Galactic-extinction-corrected) magnitude selection.
      nir_bands: bands that are missing for ``nir_missing_fraction`` of the objects.
      moffat_beta: Moffat PSF index.
      seeing_scatter: log-normal sigma of the per-object FWHM.
      neighbour_density_arcmin2: galaxies per arcmin^2 brighter than ``neighbour_mag_limit``.
      neighbour_mag_range: (bright, faint) selection-band magnitudes of neighbours.
      ebv_median, ebv_sigma_ln: log-normal Galactic E(B-V) (unless the population gives it).
      max_hlr_fraction: cap on half-light radii, as a fraction of the stamp width.
      description: the paper's description of the real sample (Sect. 2).
    """

    name: str
    pixel_scale_arcsec: float
    zeropoint_ab: float
    bands: tuple[BandConditions, ...]
    population: str
    selection_filter: str
    neighbour_density_arcmin2: float
    neighbour_mag_range: tuple[float, float]
    ebv_median: float
    ebv_sigma_ln: float
    description: str
    nir_bands: tuple[str, ...] = ()
    nir_missing_fraction: float = 0.0
    moffat_beta: float = 3.5
    seeing_scatter: float = 0.1
    max_hlr_fraction: float = 0.25

    @property
    def band_names(self) -> tuple[str, ...]:
        """Band names in wavelength (channel) order."""
        return tuple(b.band for b in self.bands)

    @property
    def filters(self) -> tuple[str, ...]:
        """All filter curves needed (photometry grid columns), selection filter last."""
        names = [f for b in self.bands for f in b.filters]
        return tuple(dict.fromkeys(names + [self.selection_filter, "sdss2010-r"]))


def _bands(instrument, specs):
    return tuple(BandConditions(b, (f,), fwhm, depth, sky, instrument)
                 for b, f, fwhm, depth, sky in specs)


_SDSS = _bands("SDSS imaging camera", (
    ("u", "sdss2010-u", 1.53, 22.0, 22.1), ("g", "sdss2010-g", 1.44, 22.2, 21.8),
    ("r", "sdss2010-r", 1.32, 22.2, 20.8), ("i", "sdss2010-i", 1.26, 21.3, 20.2),
    ("z", "sdss2010-z", 1.29, 20.5, 18.9)))
_CFHTLS = _bands("CFHT MegaCam (CFHTLS-Wide T0007)", (
    ("u", "cfht_megacam-ustar", 0.85, 25.3, 22.7), ("g", "cfht_megacam-g", 0.78, 25.5, 21.9),
    ("r", "cfht_megacam-r", 0.71, 25.0, 21.1), ("i", "cfht_megacam-i", 0.64, 24.8, 20.3),
    ("z", "cfht_megacam-z", 0.68, 23.9, 19.0)))
_CLAUDS_U = BandConditions("u", ("cfht_megacam-u", "cfht_megacam-ustar"), 0.88, 27.0, 22.7,
                           "CFHT MegaCam (CLAUDS u or u*)", (0.55, 0.45))
_HSC = _bands("Subaru HSC (HSC-SSP PDR2 Deep/UltraDeep)", (
    ("g", "hsc2017-g", 0.81, 26.8, 21.9), ("r", "hsc2017-r", 0.74, 26.4, 21.1),
    ("i", "hsc2017-i", 0.62, 26.2, 20.3), ("z", "hsc2017-z", 0.63, 25.6, 19.0),
    ("y", "hsc2017-y", 0.71, 24.8, 18.2)))
_VISTA = _bands("VISTA VIRCAM (UltraVISTA DR3 / VIDEO DR4)", (
    ("j", "vista_vircam_J", 0.80, 24.5, 17.4), ("h", "vista_vircam_H", 0.78, 24.2, 15.8),
    ("k", "vista_vircam_Ks", 0.75, 24.0, 14.9)))

_HSC_TEXT = ("HSC-Deep (COSMOS, XMM-LSS, ELAIS-N1, DEEP2-3): HSC grizy (PDR2, g=26.5-27, "
             "y=24.5-25.5), CLAUDS u/u* (u~27), UltraVISTA/VIDEO YJHKs (J,H,Ks~24.7 to "
             "Ks=23.8), 0.168\"/pix; ~51k secure redshifts, 45% with i<22, 10% with i>24, "
             "reaching z~4 and beyond; ~37.4k of them with NIR.")

SURVEYS: dict[str, SurveyPreset] = {
    "sdss": SurveyPreset(
        "sdss", 0.396, 22.5, _SDSS, "sdss_mgs", "sdss2010-r", 5.0, (16.0, 22.2), 0.026, 0.65,
        "SDSS DR12 Main Galaxy Sample: 516,525 galaxies with dereddened Petrosian r<=17.8 and "
        "z<=0.4, ugriz stacks at 0.396\"/pix, 64x64, with the SFD E(B-V).",
        moffat_beta=3.0, max_hlr_fraction=0.25),
    "cfhtls": SurveyPreset(
        "cfhtls", 0.186, 30.0, _CFHTLS, "cfhtls_spec", "cfht_megacam-i", 40.0, (17.0, 24.8),
        0.025, 0.5,
        "CFHTLS-Wide T0007: u*griz at 0.186\"/pix, median seeing ~0.7\", i~24.8 (5 sigma, 2\"); "
        "~108.5k secure redshifts, 34% i<=19.5, 57% 19.5<i<=22.5, 9% 22.5<i<=25."),
    "hsc6": SurveyPreset(
        "hsc6", 0.168, 27.0, (_CLAUDS_U,) + _HSC, "hsc_spec", "hsc2017-i", 80.0, (18.0, 25.7),
        0.02, 0.45, _HSC_TEXT),
    "hsc9": SurveyPreset(
        "hsc9", 0.168, 27.0, (_CLAUDS_U,) + _HSC + _VISTA, "hsc_spec", "hsc2017-i", 80.0,
        (18.0, 25.7), 0.02, 0.45, _HSC_TEXT, nir_bands=("j", "h", "k"),
        nir_missing_fraction=1.0 - 37.4 / 51.0),
}


def get_survey(name: str) -> SurveyPreset:
    """Returns the preset ``name``; raises ValueError listing the known presets."""
    if name not in SURVEYS:
        raise ValueError(f"unknown survey {name!r}; known surveys: {sorted(SURVEYS)}")
    return SURVEYS[name]
