"""The classical photometric baseline against hand-computed numbers."""

import numpy as np
import pytest

from multimodal_photoz import photometric


def test_aperture_flux_and_error_by_hand():
    # 8x8 stamp, centre (3.5, 3.5): pixels within 1.6 px are the central 2x2 (r=0.71)
    # and the 8 next ones at r=1.58; the outermost ring (r > 3.95) measures the noise.
    img = np.zeros((1, 8, 8, 2))
    img[0, 3:5, 3:5, 0] = 10.0                       # 4 pixels of 10 in band 0
    r = photometric._radii(8)
    outer = r > r.max() - 1.0
    signs = np.where(np.arange(outer.sum()) % 2, 1.0, -1.0)
    img[0][outer] = signs[:, None] * [2.0, 0.5]      # noise +-2 (band 0), +-0.5 (band 1)
    flux, err = photometric.aperture_photometry(img, radius=1.6, sky_inner=100.0)
    n_inside = (r <= 1.6).sum()
    assert n_inside == 12
    np.testing.assert_allclose(flux[0], [40.0, 0.0])
    # median 0, MAD 2 (band 0) and 0.5 (band 1)
    np.testing.assert_allclose(err[0], 1.4826 * np.array([2.0, 0.5]) * np.sqrt(12))


def test_asinh_magnitude_is_the_usual_one_when_bright_and_finite_at_zero():
    flux, err = np.array([[1e6, 0.0, -5.0]]), np.array([[1.0, 1.0, 1.0]])
    mag = photometric.asinh_magnitudes(flux, err, zeropoint_ab=27.0)
    assert mag[0, 0] == pytest.approx(27.0 - 2.5 * np.log10(1e6), abs=1e-6)
    assert mag[0, 1] == pytest.approx(27.0)          # zp - 2.5 log10(b), b = 1
    assert np.isfinite(mag[0, 2]) and mag[0, 2] > mag[0, 1]


def test_features_colours_reference_magnitude_and_absent_bands():
    flux = np.array([[1e4, 1e5, 1e6], [1e4, 1e5, 1e6]])
    err = np.full_like(flux, 1e-3)
    mask = np.array([[True, True, True], [True, False, True]])
    feats = photometric.catalogue_features(flux, err, mask, np.array([0.01, 0.02]),
                                           bands=("g", "r", "i"), zeropoint_ab=27.0)
    assert feats.shape == (2, 4)
    np.testing.assert_allclose(feats[0], [2.5, 2.5, 27.0 - 15.0, 0.01], atol=1e-6)
    assert np.isnan(feats[1, 0]) and np.isnan(feats[1, 1])   # both colours use the absent r
    assert feats[1, 2] == pytest.approx(12.0, abs=1e-6)      # i is the reference band


def test_knn_is_the_mean_of_the_ten_nearest_training_redshifts():
    rng = np.random.default_rng(0)
    n = 60
    x = rng.random((n, 3))
    z = rng.random(n)
    fold = np.arange(n) % 3
    out = photometric.out_of_fold_estimates(x, z, fold, lambda f: np.flatnonzero(fold != f),
                                            folds=[0])
    train = np.flatnonzero(fold != 0)
    scaled = (x - x[train].mean(0)) / x[train].std(0)
    for i in np.flatnonzero(fold == 0):
        d = np.linalg.norm(scaled[train] - scaled[i], axis=1)
        expected = z[train][np.argsort(d)[:10]].mean()
        assert out["z_knn"][i] == pytest.approx(expected, rel=1e-5)
    assert np.isnan(out["z_knn"][fold != 0]).all()    # other folds are not predicted
    assert np.isfinite(out["z_gbt"][fold == 0]).all()


def test_estimates_never_see_the_held_out_fold():
    rng = np.random.default_rng(1)
    x, z = rng.random((90, 2)), rng.random(90)
    fold = np.arange(90) % 3
    rows = lambda f: np.flatnonzero(fold != f)  # noqa: E731
    a = photometric.out_of_fold_estimates(x, z, fold, rows, folds=[1])
    z_changed = z.copy()
    z_changed[fold == 1] += 5.0                       # only the held-out fold's labels
    b = photometric.out_of_fold_estimates(x, z_changed, fold, rows, folds=[1])
    for name in photometric.ESTIMATORS:
        np.testing.assert_array_equal(a[name], b[name])


def test_photometry_recovers_redshift_of_a_colour_redshift_relation():
    # colours that are a smooth function of z: both estimators must learn it
    rng = np.random.default_rng(2)
    z = rng.uniform(0.0, 1.0, 600)
    flux = np.stack([10 ** (0.4 * (2.0 * z)), 10 ** (0.4 * z), np.ones_like(z)], 1) * 1e4
    feats = photometric.catalogue_features(flux, np.full_like(flux, 1.0), np.ones_like(flux, bool),
                                           np.zeros_like(z), ("g", "r", "i"))
    fold = np.arange(600) % 5
    out = photometric.out_of_fold_estimates(feats, z, fold, lambda f: np.flatnonzero(fold != f),
                                            folds=range(5))
    for name in photometric.ESTIMATORS:
        assert np.median(np.abs(out[name] - z)) < 0.02
