"""GalSim rendering of bulge + disk galaxies through each band's PSF, with sky noise.

Each light profile (de Vaucouleurs bulge, exponential disk; sheared and shifted) is drawn
once by GalSim in Fourier space (``drawKImage``) on the stamp's padded k grid. A band image is
the inverse FFT of  sum_components flux[c, band] * profile_c(k) * ePSF_band(k), where ePSF is
GalSim's Moffat (x) pixel response, tabulated for ``N_PSF`` seeing values per band. This is
exactly what ``galsim.Convolve(...).drawImage(method='auto')`` computes, band by band, but
shares the profile transforms between bands, which is what makes 9-band stamps fast.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from multimodal_photoz.simulate.catalogue import BULGE, N_PSF, Scenes, seeing_bank
from multimodal_photoz.simulate.surveys import SurveyPreset

GSPARAMS = dict(folding_threshold=5e-3, maxk_threshold=1e-3, kvalue_accuracy=1e-4,
                maximum_fft_size=8192)


class StampRenderer:
    """Renders (H, W, C) stamps of a survey preset.

    Args:
      preset: the survey. stamp: stamp width H = W in pixels.
      pad_factor: FFT grid = pad_factor * stamp (light wrapping beyond it is lost).
    """

    def __init__(self, preset: SurveyPreset, stamp: int, pad_factor: int = 2):
        import galsim

        self.preset, self.stamp = preset, stamp
        self.n_fft = pad_factor * stamp
        scale = preset.pixel_scale_arcsec
        self._dk = 2.0 * np.pi / (self.n_fft * scale)
        self._gsparams = galsim.GSParams(**GSPARAMS)
        self._profiles = {BULGE: galsim.DeVaucouleurs(half_light_radius=1.0,
                                                      gsparams=self._gsparams),
                          1: galsim.Exponential(half_light_radius=1.0,
                                                gsparams=self._gsparams)}
        half = self.n_fft // 2
        self._bounds = galsim.BoundsI(0, half, -half, half - 1)  # rfft half plane
        self.psf_fwhm = seeing_bank(preset)
        pixel = galsim.Pixel(scale, gsparams=self._gsparams)
        self.epsf = np.stack([np.stack([self._kimage(galsim.Convolve(
            galsim.Moffat(beta=preset.moffat_beta, fwhm=f, gsparams=self._gsparams), pixel))
            for f in row]) for row in self.psf_fwhm])  # (C, N_PSF, n_fft, n_fft//2 + 1)
        self.sky_sigma = np.array([b.sky_sigma(preset.zeropoint_ab, scale)
                                   for b in preset.bands], np.float32)
        self.variance_per_flux = np.array(
            [b.variance_per_flux(preset.zeropoint_ab, scale) for b in preset.bands], np.float32)

    def _kimage(self, obj) -> np.ndarray:
        """(n_fft, n_fft//2+1) complex64 Fourier image, rows from k_y = -k_max (centred)."""
        import galsim

        image = galsim.ImageCF(self._bounds, scale=self._dk)
        obj.drawKImage(image=image, recenter=False)
        return image.array

    def component_kimage(self, profile: int, hlr: float, q: float, beta: float, dx: float,
                         dy: float) -> np.ndarray:
        """Unit-flux Fourier image of one sheared, shifted profile (arcsec, radians)."""
        import galsim

        obj = self._profiles[profile].dilate(hlr).shear(q=q, beta=beta * galsim.radians)
        return self._kimage(obj.shift(dx, dy))

    def render_noiseless(self, scenes: Scenes, index: int) -> np.ndarray:
        """(H, W, C) float32 noise-free stamp ``index`` of ``scenes`` (absent bands zero)."""
        rows = np.flatnonzero(scenes.obj == index)
        kimages = np.stack([self.component_kimage(scenes.profile[r], scenes.hlr[r],
                                                  scenes.q[r], scenes.beta[r], scenes.dx[r],
                                                  scenes.dy[r]) for r in rows])
        bands = np.arange(len(self.preset.bands))
        # sum_m flux[m, c] kimage[m] over (re, im) pairs; einsum avoids multithreaded BLAS
        flat = kimages.view(np.float32).reshape(rows.size, -1)
        k_band = np.einsum("mc,mp->cp", scenes.flux[rows].astype(np.float32), flat)
        k_band = k_band.view(np.complex64)
        k_band = k_band.reshape(bands.size, *kimages.shape[1:])
        k_band *= self.epsf[bands, scenes.psf_index[index]]
        k_band = np.fft.ifftshift(k_band, axes=1)  # rows to FFT order
        full = scipy.fft.irfft2(k_band, s=(self.n_fft, self.n_fft), axes=(1, 2))
        full = np.fft.fftshift(full, axes=(1, 2))
        lo = self.n_fft // 2 - self.stamp // 2
        image = full[:, lo:lo + self.stamp, lo:lo + self.stamp].transpose(1, 2, 0)
        return (image * scenes.band_mask[index]).astype(np.float32)

    def add_noise(self, image: np.ndarray, band_mask: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
        """Adds sky + source Poisson (Gaussian approximation) noise to present bands."""
        var = self.sky_sigma**2 + np.clip(image, 0, None) * self.variance_per_flux
        noise = rng.standard_normal(image.shape, dtype=np.float32) * np.sqrt(var)
        return image + noise * band_mask


def render_stamps(renderer: StampRenderer, scenes: Scenes, first_index: int, seed: int,
                  noise: bool = True) -> np.ndarray:
    """(N, H, W, C) float32 stamps of ``scenes``; stamp j is object first_index + j.

    The noise of object i comes from a generator seeded by (seed, 1, i) only.
    """
    n = scenes.psf_index.shape[0]
    out = np.empty((n, renderer.stamp, renderer.stamp, len(renderer.preset.bands)), np.float32)
    for j in range(n):
        image = renderer.render_noiseless(scenes, j)
        if noise:
            rng = np.random.default_rng([seed, 1, first_index + j])
            image = renderer.add_noise(image, scenes.band_mask[j], rng)
        out[j] = image
    return out
