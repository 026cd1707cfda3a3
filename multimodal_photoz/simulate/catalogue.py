"""Builds the scenes of a chunk of stamps: the central galaxy, its neighbours, their fluxes.

All random draws of a chunk of ``CHUNK`` stamps come from one generator seeded by
(seed, chunk index), so a sample of n objects is a prefix of any larger one and does not
depend on how rendering is spread over processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from multimodal_photoz.simulate import morphology, population
from multimodal_photoz.simulate.distances import distance_modulus
from multimodal_photoz.simulate.library import SDSS_FILTERS, SedLibrary
from multimodal_photoz.simulate.seds import PhotometryGrid, ab_mag
from multimodal_photoz.simulate.surveys import SurveyPreset

CHUNK = 512
BULGE, DISK = 0, 1
N_PSF = 9  # seeing values per band (quantiles of the log-normal)
NO_FLUX_MAG = 99.0
_NEIGHBOUR_MARGIN_ARCSEC = 1.5  # neighbours centred just outside the stamp still spill in


@dataclass(frozen=True)
class Scenes:
    """Light profiles to render for N stamps (M components in all, each object's contiguous).

    Per component: obj (M,) stamp index; profile (M,) BULGE or DISK; flux (M, C) image units
    (total flux of the component in each band); hlr, q, beta (M,) half-light radius
    (arcsec), axis ratio, position angle (rad); dx, dy (M,) offsets from the stamp centre
    (arcsec); central (M,) bool, part of the target galaxy (False: a neighbour).
    Per stamp: psf_index (N, C) index into the seeing bank; band_mask (N, C).
    """

    obj: np.ndarray
    profile: np.ndarray
    flux: np.ndarray
    hlr: np.ndarray
    q: np.ndarray
    beta: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    central: np.ndarray
    psf_index: np.ndarray
    band_mask: np.ndarray

    def select(self, start: int, stop: int) -> "Scenes":
        """The scenes of stamps [start, stop), renumbered from 0."""
        rows = (self.obj >= start) & (self.obj < stop)
        comp = {k: getattr(self, k)[rows] for k in ("profile", "flux", "hlr", "q", "beta",
                                                    "dx", "dy", "central")}
        return Scenes(obj=self.obj[rows] - start, psf_index=self.psf_index[start:stop],
                      band_mask=self.band_mask[start:stop], **comp)

    @staticmethod
    def concatenate(parts: list["Scenes"]) -> "Scenes":
        """Stacks scenes of consecutive chunks."""
        offsets = np.cumsum([0] + [p.psf_index.shape[0] for p in parts[:-1]])
        cat = lambda k: np.concatenate([getattr(p, k) for p in parts])  # noqa: E731
        return Scenes(obj=np.concatenate([p.obj + o for p, o in zip(parts, offsets)]),
                      **{k: cat(k) for k in ("profile", "flux", "hlr", "q", "beta", "dx",
                                             "dy", "central", "psf_index", "band_mask")})

    def without_neighbours(self) -> "Scenes":
        """The same stamps with only the target galaxies."""
        keep = self.central
        comp = {k: getattr(self, k)[keep] for k in ("obj", "profile", "flux", "hlr", "q",
                                                    "beta", "dx", "dy", "central")}
        return Scenes(psf_index=self.psf_index, band_mask=self.band_mask, **comp)


def band_filter_choice(rng, preset: SurveyPreset, n: int) -> np.ndarray:
    """(n, C) column of each band's filter in ``preset.filters`` (per-object u / u*)."""
    out = np.empty((n, len(preset.bands)), dtype=int)
    for c, band in enumerate(preset.bands):
        cols = [preset.filters.index(f) for f in band.filters]
        out[:, c] = np.asarray(cols)[rng.choice(len(cols), size=n, p=band.filter_weights)]
    return out


def _correction_factors(grid: PhotometryGrid, draw) -> np.ndarray:
    """(N, F) flux factors over the grid's filters: 10^(-0.4 ``draw.sdss_correction``) in
    the SDSS filters the grid has, 1 elsewhere (and everywhere without a correction)."""
    factor = np.ones((draw.z.size, len(grid.filters)))
    if draw.sdss_correction is not None:
        for k, name in enumerate(SDSS_FILTERS):
            if name in grid.filters:
                factor[:, grid.column(name)] = 10.0 ** (-0.4 * draw.sdss_correction[:, k])
    return factor


def component_fluxes(grid: PhotometryGrid, preset: SurveyPreset, draw, structure,
                     ebv: np.ndarray, columns: np.ndarray):
    """Bulge and disk fluxes (image units, (N, C) each), true magnitudes and M_r.

    The total Galactic-extinction-free flux in the selection filter is set to ``mag_sel``;
    a draw's ``sdss_correction`` multiplies both components' fluxes in the SDSS filters.
    Returns (bulge_flux, disk_flux, abs_mag_r).
    """
    z, s = draw.z, grid.column(preset.selection_filter)
    factor = _correction_factors(grid, draw)
    bulge = grid.maggies_of(structure.bulge_coeffs, z, None, ebv) * factor
    disk = grid.maggies_of(structure.disk_coeffs, z, structure.ebv_int, ebv) * factor
    sel = (grid.maggies_of(structure.bulge_coeffs, z)[:, s]
           + grid.maggies_of(structure.disk_coeffs, z, structure.ebv_int)[:, s]) * factor[:, s]
    scale = 10.0 ** (-0.4 * (draw.mag_sel - preset.zeropoint_ab)) / sel
    rows = np.arange(z.size)[:, None]
    zero = np.zeros_like(z)
    rest_r = (grid.maggies_of(structure.bulge_coeffs, zero)
              + grid.maggies_of(structure.disk_coeffs, zero, structure.ebv_int))
    abs_mag_r = draw.mag_sel - distance_modulus(z) - ab_mag(
        rest_r[:, grid.column("sdss2010-r")] / sel)
    return (bulge[rows, columns] * scale[:, None], disk[rows, columns] * scale[:, None],
            abs_mag_r)


def _galaxies(rng, preset, grid, library, draw, ebv, columns, stamp):
    """Component arrays of galaxies given their population draw."""
    structure = morphology.add_young_population(
        morphology.split_bulge_disk(rng, draw.sed_index, library), draw.young_fraction, library,
        draw.disk_ebv)
    bulge_flux, disk_flux, abs_mag_r = component_fluxes(grid, preset, draw, structure, ebv,
                                                        columns)
    max_hlr = preset.max_hlr_fraction * stamp * preset.pixel_scale_arcsec
    hlr_b, hlr_d = morphology.half_light_radii(rng, abs_mag_r, draw.z, structure.early,
                                               max_hlr)
    return structure, bulge_flux, disk_flux, abs_mag_r, hlr_b, hlr_d


def _neighbours(rng, preset, grid, library, n, ebv, columns, stamp):
    """Neighbour positions and components for n stamps: (owner, dx, dy, galaxies...)."""
    half = stamp * preset.pixel_scale_arcsec / 2 + _NEIGHBOUR_MARGIN_ARCSEC
    mean = preset.neighbour_density_arcmin2 * (2 * half / 60.0) ** 2
    count = rng.poisson(mean, n)
    owner = np.repeat(np.arange(n), count)
    dx, dy = rng.uniform(-half, half, (2, owner.size))
    keep = np.hypot(dx, dy) > 2.0 * max(b.fwhm_arcsec for b in preset.bands)
    owner, dx, dy = owner[keep], dx[keep], dy[keep]
    draw = population.draw_field(rng, owner.size, preset.neighbour_mag_range,
                                 preset.selection_filter.endswith("-r"), library)
    gal = _galaxies(rng, preset, grid, library, draw, ebv[owner], columns[owner], stamp)
    return owner, dx, dy, gal


def _components(owner, dx, dy, gal, central):
    structure, bulge_flux, disk_flux, _, hlr_b, hlr_d = gal
    two = lambda a, b: np.stack([a, b], axis=1).reshape(-1, *a.shape[1:])  # noqa: E731
    return dict(obj=np.repeat(owner, 2), profile=np.tile([BULGE, DISK], owner.size),
                flux=two(bulge_flux, disk_flux), hlr=two(hlr_b, hlr_d),
                q=two(structure.q_bulge, structure.q_disk),
                beta=np.repeat(structure.position_angle, 2), dx=np.repeat(dx, 2),
                dy=np.repeat(dy, 2), central=np.full(2 * owner.size, central))


def build_chunk(preset: SurveyPreset, grid: PhotometryGrid, library: SedLibrary, seed: int,
                chunk: int, stamp: int):
    """Draws the CHUNK stamps of chunk ``chunk``: returns (Scenes, catalogue columns dict)."""
    rng = np.random.default_rng([seed, 0, chunk])
    n = CHUNK
    draw = population.POPULATIONS[preset.population](rng, n, library)
    ebv = draw.ebv if draw.ebv is not None else preset.ebv_median * np.exp(
        preset.ebv_sigma_ln * rng.standard_normal(n))
    filter_cols = band_filter_choice(rng, preset, n)
    gal = _galaxies(rng, preset, grid, library, draw, ebv, filter_cols, stamp)
    centre = rng.normal(0.0, 0.03, (2, n))  # astrometric centring error, arcsec
    owner, dx, dy, nb = _neighbours(rng, preset, grid, library, n, ebv, filter_cols, stamp)
    comps = [_components(np.arange(n), centre[0], centre[1], gal, True),
             _components(owner, dx, dy, nb, False)]
    comps = {k: np.concatenate([c[k] for c in comps]) for k in comps[0]}
    order = np.argsort(comps["obj"], kind="stable")
    band_mask = np.ones((n, len(preset.bands)), bool)
    nir = [preset.band_names.index(b) for b in preset.nir_bands]
    band_mask[:, nir] = (rng.random(n) >= preset.nir_missing_fraction)[:, None]
    psf_index = rng.integers(0, N_PSF, (n, len(preset.bands)))
    scenes = Scenes(psf_index=psf_index, band_mask=band_mask,
                    **{k: v[order] for k, v in comps.items()})
    columns = _columns(preset, draw, ebv, filter_cols, gal, owner, band_mask, psf_index)
    columns["red_sequence"] = library.is_red[draw.sed_index]
    return scenes, columns


def _columns(preset, draw, ebv, columns, gal, owner, band_mask, psf_index):
    structure, bulge_flux, disk_flux, abs_mag_r, hlr_b, hlr_d = gal
    total = bulge_flux + disk_flux
    # no flux at all (IGM-absorbed u band at z > 4): the usual 99 of non-detections
    mags = np.minimum(preset.zeropoint_ab + ab_mag(total), NO_FLUX_MAG)
    out = {"z_spec": draw.z, "ebv": ebv, "selection_mag": draw.mag_sel, "abs_mag_r": abs_mag_r,
           "bulge_fraction": structure.bulge_fraction, "hlr_bulge": hlr_b, "hlr_disk": hlr_d,
           "q_bulge": structure.q_bulge, "q_disk": structure.q_disk,
           "position_angle": structure.position_angle,
           "cos_inclination": structure.cos_inclination, "ebv_int": structure.ebv_int,
           "sed_index": draw.sed_index, "young_fraction": draw.young_fraction,
           "n_neighbours": np.bincount(owner, minlength=draw.z.size)}
    coeffs = structure.bulge_coeffs + structure.disk_coeffs
    for k in range(coeffs.shape[1]):
        out[f"template_weight_{k}"] = coeffs[:, k] / coeffs.sum(1)
    fwhm = seeing_bank(preset)
    for c, band in enumerate(preset.bands):
        out[f"mag_{band.band}"] = np.where(band_mask[:, c], mags[:, c], np.nan)
        out[f"psf_fwhm_{band.band}"] = fwhm[c, psf_index[:, c]]
        if len(band.filters) > 1:
            out[f"filter_choice_{band.band}"] = np.array(
                [band.filters.index(preset.filters[i]) for i in columns[:, c]])
    return out


def seeing_bank(preset: SurveyPreset) -> np.ndarray:
    """(C, N_PSF) FWHM in arcsec: quantiles of each band's log-normal seeing distribution."""
    from scipy.stats import norm

    q = norm.ppf((np.arange(N_PSF) + 0.5) / N_PSF)
    return np.array([[b.fwhm_arcsec * np.exp(preset.seeing_scatter * x) for x in q]
                     for b in preset.bands])
