"""Top level: ``simulate(survey, n, seed)`` -> images and catalogue of a mock sample."""

from __future__ import annotations

import math
import multiprocessing
import os
from dataclasses import dataclass, field

import numpy as np

from multimodal_photoz.simulate import catalogue
from multimodal_photoz.simulate.library import sdss_library
from multimodal_photoz.simulate.render import StampRenderer, render_stamps
from multimodal_photoz.simulate.seds import photometry_grid
from multimodal_photoz.simulate.surveys import SurveyPreset, get_survey

# 2: deep-field star formation and red fraction fitted to HSC colours; 3: SDSS galaxies'
# template magnitudes corrected by the library fit's median residual at their redshift;
# 4: deep-field disks carry dust that rises with star formation, constants refitted
SIMULATOR_VERSION = "4"
WORK_UNIT = 128  # stamps per task sent to a worker process
_ID_STRIDE = 1_000_000_000  # id = seed * stride + index


@dataclass(frozen=True)
class SimulatedSample:
    """A simulated data set, in the shapes ``multimodal_photoz.data.write_dataset`` takes.

    Attributes:
      images: (N, H, W, C) float32 background-subtracted fluxes per pixel;
        mag_AB = metadata['zeropoint_ab'] - 2.5 log10(sum of pixels).
      band_mask: (N, C) bool, False for absent (zero-filled) bands.
      z_spec, ebv: (N,) float32 redshift and Galactic E(B-V) (mag).
      ids: (N,) int64 unique ids, seed * 1e9 + index.
      bands: band names in channel order.
      mags: band -> (N,) float32 true total AB magnitude of the target galaxy, Galactic
        extinction included (NaN where the band is absent).
      extras: name -> (N,) simulated physical parameters (see docs/simulation.md).
      metadata: JSON-able description (survey, pixel_scale_arcsec, zeropoint_ab, ...).
    """

    images: np.ndarray = field(repr=False)
    band_mask: np.ndarray = field(repr=False)
    z_spec: np.ndarray = field(repr=False)
    ebv: np.ndarray = field(repr=False)
    ids: np.ndarray = field(repr=False)
    bands: tuple[str, ...]
    mags: dict = field(repr=False)
    extras: dict = field(repr=False)
    metadata: dict = field(repr=False)

    def write(self, out_dir: str, name: str | None = None) -> str:
        """Writes the sample with ``multimodal_photoz.data.write_dataset``; returns its path."""
        from multimodal_photoz.data import write_dataset

        return write_dataset(
            out_dir, images=self.images, z_spec=self.z_spec, ebv=self.ebv, ids=self.ids,
            bands=self.bands, band_mask=self.band_mask, mags=self.mags, extras=self.extras,
            name=name or f"sim_{self.metadata['survey']}", metadata=self.metadata)


def build_scenes(preset: SurveyPreset, n: int, seed: int, stamp: int):
    """Scenes and catalogue columns of objects 0..n-1 (chunks of ``catalogue.CHUNK``)."""
    grid, library = photometry_grid(preset.filters), sdss_library()
    parts = [catalogue.build_chunk(preset, grid, library, seed, c, stamp)
             for c in range(math.ceil(n / catalogue.CHUNK))]
    scenes = catalogue.Scenes.concatenate([p[0] for p in parts]).select(0, n)
    columns = {k: np.concatenate([p[1][k] for p in parts])[:n] for k in parts[0][1]}
    return scenes, columns


_WORKER = {}


def _init_worker(survey: str, stamp: int):
    _WORKER["renderer"] = StampRenderer(get_survey(survey), stamp)


def _render_unit(args):
    scenes, start, seed, noise = args
    return start, render_stamps(_WORKER["renderer"], scenes, start, seed, noise)


def _render_all(preset, scenes, seed, stamp, noise, n_workers, out):
    n = scenes.psf_index.shape[0]
    size = max(1, min(WORK_UNIT, math.ceil(n / (4 * n_workers))))  # >= 4 tasks per worker
    units = [(scenes.select(a, min(a + size, n)), a, seed, noise) for a in range(0, n, size)]
    if n_workers == 1 or len(units) == 1:
        _init_worker(preset.name, stamp)
        results = map(_render_unit, units)
        for start, images in results:
            out[start:start + images.shape[0]] = images
        return
    # spawn: safe next to JAX/threads; one BLAS/OpenMP thread per worker process
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    os.environ.update({k: "1" for k in saved})
    try:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(n_workers, _init_worker, (preset.name, stamp)) as pool:
            for start, images in pool.imap_unordered(_render_unit, units):
                out[start:start + images.shape[0]] = images
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def _metadata(preset: SurveyPreset, n, seed, stamp, noise, neighbours):
    return {
        "survey": preset.name, "simulated": True, "simulator_version": SIMULATOR_VERSION,
        "pixel_scale_arcsec": preset.pixel_scale_arcsec, "zeropoint_ab": preset.zeropoint_ab,
        "stamp": stamp, "seed": seed, "n": n, "bands": "".join(preset.band_names),
        "filters": {b.band: list(b.filters) for b in preset.bands},
        "psf": f"Moffat beta={preset.moffat_beta}",
        "median_fwhm_arcsec": {b.band: b.fwhm_arcsec for b in preset.bands},
        "depth_5sigma_2arcsec_ab": {b.band: b.depth_ab for b in preset.bands},
        "selection_filter": preset.selection_filter, "population": preset.population,
        "nir_missing_fraction": preset.nir_missing_fraction, "noise": noise,
        "neighbours": neighbours, "real_sample": preset.description,
        "templates": "kcorrect v4 (Blanton & Roweis 2007)", "igm": "Madau 1995",
        "internal_dust": "Calzetti et al. 2000", "galactic_dust": "Fitzpatrick 1999, R_V=3.1",
        "cosmology": "Planck18",
    }


def simulate(survey: str, n: int, seed: int, stamp: int = 64, n_workers: int | None = None,
             *, noise: bool = True, neighbours: bool = True,
             images: np.ndarray | None = None) -> SimulatedSample:
    """Simulates n galaxy stamps looking like the paper's ``survey`` data set.

    Args:
      survey: ``sdss``, ``cfhtls``, ``hsc6`` or ``hsc9``.
      n: number of objects (>= 1). seed: integer >= 0; object i depends only on (seed, i).
      stamp: stamp width in pixels (even, >= 16).
      n_workers: processes used to render (None: all cores); results do not depend on it.
      noise: add sky and source noise (False: noise-free images, for tests).
      neighbours: render the neighbouring galaxies (False: the target galaxy only).
      images: optional preallocated (n, stamp, stamp, C) float32 array (e.g. a memmap).

    Returns:
      A ``SimulatedSample``.
    """
    preset = get_survey(survey)
    if n < 1 or stamp < 16 or stamp % 2 or not 0 <= seed < 9 * _ID_STRIDE:
        raise ValueError(f"simulate: need n >= 1, an even stamp >= 16 and 0 <= seed < 9e9; "
                         f"got n={n}, stamp={stamp}, seed={seed}")
    shape = (n, stamp, stamp, len(preset.bands))
    if images is None:
        images = np.empty(shape, np.float32)
    elif images.shape != shape or images.dtype != np.float32:
        raise ValueError(f"simulate: images must be float32 {shape}, got {images.dtype} "
                         f"{images.shape}")
    scenes, columns = build_scenes(preset, n, seed, stamp)
    if not neighbours:
        scenes = scenes.without_neighbours()
    _render_all(preset, scenes, seed, stamp, noise, n_workers or os.cpu_count() or 1, images)
    mags = {b: columns.pop(f"mag_{b}").astype(np.float32) for b in preset.band_names}
    return SimulatedSample(
        images=images, band_mask=scenes.band_mask.copy(),
        z_spec=columns.pop("z_spec").astype(np.float32),
        ebv=columns.pop("ebv").astype(np.float32),
        ids=(np.int64(seed) * _ID_STRIDE + np.arange(n, dtype=np.int64)),
        bands=preset.band_names, mags=mags,
        extras={k: v.astype(np.int32 if v.dtype.kind in "iub" else np.float32)
                for k, v in columns.items()},
        metadata=_metadata(preset, n, seed, stamp, noise, neighbours))
