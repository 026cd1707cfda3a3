"""Tests of the galaxy-stamp simulator (multimodal_photoz.simulate)."""

import argparse

import numpy as np
import pytest

from multimodal_photoz.simulate import SURVEYS, get_survey, simulate
from multimodal_photoz.simulate import dust, igm
from multimodal_photoz.simulate.distances import distance_modulus
from multimodal_photoz.simulate.filters import FILTER_SOURCES, load_filter, pivot_wavelength
from multimodal_photoz.simulate.library import sdss_library
from multimodal_photoz.simulate.seds import ab_mag, photometry_grid
from multimodal_photoz.simulate.simulate import build_scenes

SDSS = tuple(f"sdss2010-{b}" for b in "ugriz")


@pytest.fixture(scope="module")
def sdss_grid():
    return photometry_grid(SDSS)


def _mags(grid, coeffs, z):
    return ab_mag(grid.maggies_of(np.repeat(coeffs[None], z.size, 0), z))


# ---- physics ingredients -------------------------------------------------------------------

def test_every_survey_filter_is_a_published_curve_with_the_right_pivot():
    expected = {"sdss2010-r": 6177, "hsc2017-i": 7689, "cfht_megacam-ustar": 3799,
                "vista_vircam_Ks": 21503}
    for name, pivot in expected.items():
        assert pivot_wavelength(load_filter(name)) == pytest.approx(pivot, abs=5)
    for preset in SURVEYS.values():
        for name in preset.filters:
            assert name in FILTER_SOURCES
    with pytest.raises(KeyError, match="unknown filter 'sdss2010-q'"):
        load_filter("sdss2010-q")


def test_calzetti_and_galactic_laws_match_published_values():
    # Calzetti et al. 2000: k'(V) = R'_V = 4.05, k'(B) = 4.05 + 1
    k = dust.calzetti_k(np.array([5500.0, 4400.0]))
    assert k[0] == pytest.approx(4.048, abs=0.01)
    assert k[1] == pytest.approx(5.06, abs=0.03)
    assert dust.galactic_a_over_ebv(np.array([5500.0]))[0] == pytest.approx(3.1, abs=0.1)


def test_madau_igm_transmission():
    lam = np.array([3500.0, 4500.0, 6000.0])
    assert np.all(igm.madau_transmission(lam, 0.0) == 1.0)
    t3, t4 = igm.madau_transmission(lam, 3.0), igm.madau_transmission(lam, 4.0)
    assert t3[2] == 1.0 and t4[2] < 1.0  # 6000 A is bluewards of Ly-alpha only at z=4
    assert t4[0] < t3[0] < 1.0 and t4[0] < 0.01  # Lyman-limit absorption deepens with z


def test_fluxes_fall_with_distance_at_fixed_luminosity(sdss_grid):
    coeffs = sdss_library().coeffs[0]
    z = np.array([0.02, 0.05, 0.1, 0.2, 0.4])
    m_r = _mags(sdss_grid, coeffs, z)[:, 2] + distance_modulus(z)  # same template, same mass
    assert np.all(np.diff(m_r) > 0)


def test_passive_template_reddens_with_redshift(sdss_grid):
    lib = sdss_library()
    passive = lib.coeffs[np.argmin(np.abs(lib.u_minus_r - 2.5))]  # a typical elliptical
    g_r = np.diff(_mags(sdss_grid, passive, np.array([0.0, 0.1, 0.2, 0.3, 0.4]))[:, 1:3],
                  axis=1)[:, 0] * -1
    assert np.all(np.diff(g_r) > 0)
    assert g_r[0] == pytest.approx(0.75, abs=0.15) and g_r[-1] > 1.4


def test_lyman_break_makes_high_redshift_u_dropouts(sdss_grid):
    blue = sdss_library().coeffs[np.argmin(sdss_library().u_minus_r)]
    mags = _mags(sdss_grid, blue, np.array([0.5, 3.5]))
    assert mags[1, 0] - mags[1, 1] > mags[0, 0] - mags[0, 1] + 1.5


# ---- samples -------------------------------------------------------------------------------

def test_sdss_sample_obeys_the_main_galaxy_sample_cuts():
    _, cols = build_scenes(get_survey("sdss"), 1500, seed=3, stamp=64)
    assert cols["selection_mag"].max() <= 17.8 and cols["z_spec"].max() <= 0.4
    assert np.median(cols["z_spec"]) == pytest.approx(0.1, abs=0.03)
    a_r = cols["mag_r"] - cols["selection_mag"]  # Galactic extinction only
    assert np.all(np.abs(a_r - 2.55 * cols["ebv"]) < 0.01 + 0.1 * cols["ebv"])


def test_deep_samples_follow_the_papers_magnitude_fractions():
    _, cols = build_scenes(get_survey("cfhtls"), 4000, seed=4, stamp=64)
    i = cols["selection_mag"]
    assert np.mean(i <= 19.5) == pytest.approx(0.34, abs=0.03)
    assert np.mean(i > 22.5) == pytest.approx(0.09, abs=0.02)
    assert cols["z_spec"].max() > 3.0 and i.max() <= 25.0


def test_hsc9_nir_is_missing_for_about_a_quarter():
    scenes, cols = build_scenes(get_survey("hsc9"), 4000, seed=5, stamp=64)
    nir = scenes.band_mask[:, 6:]
    assert np.all(nir == nir[:, :1]) and np.all(scenes.band_mask[:, :6])
    assert 1.0 - nir[:, 0].mean() == pytest.approx(1.0 - 37.4 / 51.0, abs=0.03)
    assert np.all(np.isnan(cols["mag_k"][~nir[:, 0]]))
    assert np.all(np.isfinite(cols["mag_k"][nir[:, 0]]))
    assert np.all(np.isfinite(cols["mag_u"]))  # 99 where the IGM leaves no flux, never inf
    assert np.any(cols["mag_u"] == 99.0)


# ---- images --------------------------------------------------------------------------------

def test_shapes_dtypes_and_metadata():
    s = simulate("hsc9", 8, seed=1, stamp=32, n_workers=1)
    assert s.images.shape == (8, 32, 32, 9) and s.images.dtype == np.float32
    assert s.band_mask.shape == (8, 9) and s.band_mask.dtype == bool
    assert s.z_spec.dtype == np.float32 and s.ebv.dtype == np.float32
    assert s.ids.dtype == np.int64 and len(set(s.ids)) == 8
    assert s.bands == tuple("ugrizyjhk") and set(s.mags) == set("ugrizyjhk")
    assert all(v.shape == (8,) for v in s.extras.values())
    assert (~s.band_mask).any()  # seed 1 has objects without NIR: zero-filled
    assert np.all(s.images.transpose(0, 3, 1, 2)[~s.band_mask] == 0.0)
    assert np.all(s.images.transpose(0, 3, 1, 2)[s.band_mask].std((1, 2)) > 0)
    assert s.metadata["zeropoint_ab"] == 27.0 and s.metadata["pixel_scale_arcsec"] == 0.168


def test_same_seed_same_arrays_whatever_the_number_of_workers():
    a = simulate("sdss", 6, seed=7, stamp=32, n_workers=1)
    b = simulate("sdss", 6, seed=7, stamp=32, n_workers=2)
    c = simulate("sdss", 4, seed=7, stamp=32, n_workers=1)
    assert np.array_equal(a.images, b.images)
    assert np.array_equal(a.images[:4], c.images) and np.array_equal(a.z_spec[:4], c.z_spec)
    for k in a.extras:
        assert np.array_equal(a.extras[k], b.extras[k], equal_nan=True)
    d = simulate("sdss", 6, seed=8, stamp=32, n_workers=1)
    assert not np.array_equal(a.images, d.images)


def test_catalogue_magnitude_matches_the_flux_in_the_stamp():
    s = simulate("cfhtls", 24, seed=2, stamp=64, noise=False, neighbours=False, n_workers=1)
    i = s.bands.index("i")
    stamp_mag = s.metadata["zeropoint_ab"] - 2.5 * np.log10(s.images[..., i].sum((1, 2)))
    lost = stamp_mag - s.mags["i"]  # light outside the stamp can only be lost
    assert np.all(lost > -1e-3) and np.all(lost < 0.4)
    compact = np.maximum(s.extras["hlr_disk"], s.extras["hlr_bulge"]) < 0.5
    assert compact.sum() >= 5 and np.all(np.abs(lost[compact]) < 0.01)


def test_sky_noise_matches_the_survey_depth():
    s = simulate("hsc6", 6, seed=3, stamp=64, neighbours=False, n_workers=1)
    preset = get_survey("hsc6")
    corners = s.images[:, :12, :12, :].reshape(-1, 6)
    for c, band in enumerate(preset.bands):
        sigma = band.sky_sigma(preset.zeropoint_ab, preset.pixel_scale_arcsec)
        assert corners[:, c].std() == pytest.approx(sigma, rel=0.1)


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="unknown survey 'euclid'"):
        simulate("euclid", 4, seed=0)
    with pytest.raises(ValueError, match="n=0"):
        simulate("sdss", 0, seed=0)


def test_cli_writes_a_readable_data_set(tmp_path):
    from multimodal_photoz import data
    from multimodal_photoz.simulate import cli

    parser = argparse.ArgumentParser(prog="photoz")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["simulate", "--survey", "sdss", "--n", "5", "--seed", "1",
                              "--out", str(tmp_path / "sim"), "--stamp", "32",
                              "--workers", "1"])
    assert args.func(args) == 0
    source = data.open_dataset(str(tmp_path / "sim"))
    assert len(source) == 5 and source.bands == tuple("ugriz") and source.stamp_size == 32
    assert source.metadata["zeropoint_ab"] == 22.5
    assert source.metadata["pixel_scale_arcsec"] == 0.396
    assert source[0]["image"].shape == (32, 32, 5)
