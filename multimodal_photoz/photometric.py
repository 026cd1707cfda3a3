"""The classical photometric baseline: what a catalogue alone gives.

An image network earns its place only if it beats the photo-z a survey catalogue
gives without images. This module measures that catalogue from the same stamps
the network sees and fits the two usual machine-learning photo-z methods on it:

- **Photometry** (``aperture_photometry``): flux in a circular aperture centred
  on the stamp (radius ``APERTURE_RADIUS_PIX``), its error from the robust
  scatter (1.4826 MAD) of the pixels beyond ``SKY_INNER_RADIUS_PIX`` scaled to
  the aperture's area, as a catalogue's aperture fluxes and errors would be.
- **Features** (``catalogue_features``): asinh magnitudes (Lupton, Gunn & Szalay
  1999, AJ 118, 1406; softening b = the flux error) of each band, so that faint
  and negative fluxes stay finite; the colours of adjacent bands, the magnitude of
  the reference band (i, else the middle band) and Galactic E(B-V). An absent band
  (``band_mask`` False) gives NaN features.
- **Estimators** (``ESTIMATORS``): k nearest neighbours (k = 10 on standardized
  features, absent values replaced by the training median, as in the kNN photo-z
  of Csabai et al. 2003 and Ball et al. 2008) and gradient-boosted trees
  (scikit-learn's ``HistGradientBoostingRegressor``, which handles absent values
  natively), both fitted to z_spec of the training folds and asked for the objects
  of the held-out fold: out-of-fold point estimates on the same objects, folds and
  selection as the CNN ensemble.

scikit-learn is imported only when an estimator is fitted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

APERTURE_RADIUS_PIX = 3.0   # 2 arcsec diameter at HSC's 0.168"/px: a typical catalogue aperture
SKY_INNER_RADIUS_PIX = 6.0  # pixels farther than this from the centre measure the noise
MAD_TO_SIGMA = 1.4826
REFERENCE_BANDS = ("i", "r")  # the magnitude feature: the first present, else the middle band
CHUNK = 4096  # objects read at once: memory does not grow with the data set


def _radii(stamp: int) -> np.ndarray:
    """(H, W) distance of each pixel centre from the stamp centre, in pixels."""
    c = (stamp - 1) / 2.0
    y, x = np.mgrid[:stamp, :stamp]
    return np.hypot(y - c, x - c)


def aperture_photometry(images: np.ndarray, radius: float = APERTURE_RADIUS_PIX,
                        sky_inner: float = SKY_INNER_RADIUS_PIX) -> tuple[np.ndarray, np.ndarray]:
    """Aperture fluxes and their errors.

    Args:
      images: (N, H, W, C) float32 background-subtracted flux per pixel (image units).
      radius: aperture radius in pixels (pixels whose centre is within it).
      sky_inner: pixels farther than this from the centre estimate the noise; with
        stamps too small for that, the outermost ring of pixels is used.
    Returns:
      flux (N, C) float64, the sum inside the aperture (image units), and
      flux_err (N, C) float64, the per-pixel noise sigma times sqrt(aperture pixels).
    """
    images = np.asarray(images, np.float64)
    r = _radii(images.shape[1])
    inside = r <= radius
    outer = r > min(sky_inner, r.max() - 1.0)
    flux = images[:, inside, :].sum(axis=1)
    sky = images[:, outer, :]
    mad = np.median(np.abs(sky - np.median(sky, axis=1, keepdims=True)), axis=1)
    return flux, MAD_TO_SIGMA * mad * np.sqrt(inside.sum())


def asinh_magnitudes(flux: np.ndarray, flux_err: np.ndarray, zeropoint_ab: float) -> np.ndarray:
    """(N, C) asinh magnitudes (Lupton et al. 1999) with softening b = ``flux_err``.

    mag = zeropoint - 2.5 log10(b) - (2.5 / ln 10) asinh(flux / (2 b)); equal to the
    usual magnitude for flux >> b, finite for faint and negative fluxes.
    """
    b = np.maximum(flux_err, 1e-30)
    return zeropoint_ab - 2.5 * np.log10(b) - 2.5 / np.log(10.0) * np.arcsinh(flux / (2.0 * b))


def reference_band(bands: Sequence[str]) -> int:
    """Index of the band whose magnitude is a feature (i, else r, else the middle one)."""
    for name in REFERENCE_BANDS:
        if name in bands:
            return list(bands).index(name)
    return len(bands) // 2


def catalogue_features(flux: np.ndarray, flux_err: np.ndarray, band_mask: np.ndarray,
                       ebv: np.ndarray, bands: Sequence[str],
                       zeropoint_ab: float = 27.0) -> np.ndarray:
    """(N, C + 1) features: C - 1 adjacent colours, the reference magnitude, E(B-V).

    Args:
      flux, flux_err: (N, C) aperture fluxes and errors (image units).
      band_mask: (N, C) bool, False where a band is absent (its features are NaN).
      ebv: (N,) Galactic E(B-V) (mag).
      bands: the C band names in channel order.
      zeropoint_ab: mag_AB = zeropoint_ab - 2.5 log10(flux); colours do not depend on it.
    """
    mags = np.where(band_mask, asinh_magnitudes(flux, flux_err, zeropoint_ab), np.nan)
    colours = mags[:, :-1] - mags[:, 1:]
    ref = mags[:, reference_band(bands)][:, None]
    return np.concatenate([colours, ref, np.asarray(ebv, np.float64)[:, None]], axis=1)


def _knn():
    from sklearn.impute import SimpleImputer
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                         StandardScaler(), KNeighborsRegressor(n_neighbors=10))


def _boosted_trees():
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.1, random_state=0)


# Column name in predictions -> (description, factory of an unfitted scikit-learn estimator).
ESTIMATORS: dict[str, tuple[str, Callable]] = {
    "z_knn": ("kNN (k=10) on aperture colours", _knn),
    "z_gbt": ("gradient-boosted trees on aperture colours", _boosted_trees),
}


def out_of_fold_estimates(features: np.ndarray, z_spec: np.ndarray, fold: np.ndarray,
                          train_rows: Callable[[int], np.ndarray],
                          folds: Sequence[int]) -> dict[str, np.ndarray]:
    """Point estimates of every object of ``folds`` by estimators that never saw it.

    Args:
      features: (N, F) from ``catalogue_features``.
      z_spec: (N,) spectroscopic redshifts (NaN: not used for fitting).
      fold: (N,) fold of each object.
      train_rows: fold -> indices of that fold's training objects (the CNN's).
      folds: the folds to predict.
    Returns:
      name -> (N,) float32 estimate, NaN for objects of other folds.
    """
    out = {name: np.full(len(z_spec), np.nan, np.float32) for name in ESTIMATORS}
    z_spec = np.asarray(z_spec, np.float64)
    for f in folds:
        rows = np.asarray(train_rows(f))
        rows = rows[np.isfinite(z_spec[rows])]
        test = np.flatnonzero(fold == f)
        if not len(rows) or not len(test):
            continue
        for name, (_, factory) in ESTIMATORS.items():
            model = factory().fit(features[rows], z_spec[rows])
            out[name][test] = np.maximum(model.predict(features[test]), 0.0)
    return out


def source_features(source, channels: np.ndarray | None, bands: Sequence[str],
                    zeropoint_ab: float | None) -> np.ndarray:
    """``catalogue_features`` of every object of a data set, read ``CHUNK`` at a time.

    Args:
      source: an open data set (``read_images``, ``catalogue()``).
      channels: the data set's channels the model reads (None: all), in ``bands`` order.
      bands: the model's band names.
      zeropoint_ab: the data set's zeropoint (None: 27; colours do not depend on it).
    """
    catalogue = source.catalogue()
    n = len(catalogue["z_spec"])
    mask = np.asarray(catalogue["band_mask"], bool)
    if channels is not None:
        mask = mask[:, channels]
    flux, err = np.empty((n, len(bands))), np.empty((n, len(bands)))
    for start in range(0, n, CHUNK):
        idx = np.arange(start, min(n, start + CHUNK))
        images = source.read_images(idx)
        if channels is not None:
            images = images[..., channels]
        flux[idx], err[idx] = aperture_photometry(images)
    return catalogue_features(flux, err, mask, catalogue["ebv"], bands,
                              27.0 if zeropoint_ab is None else zeropoint_ab)
