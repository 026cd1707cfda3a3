"""Colours of simulated samples against the committed tables of real galaxies."""

import numpy as np
import pytest

from multimodal_photoz.simulate import colours, population
from multimodal_photoz.simulate.reference_colours import HSC_PDR2_GZ, MAGNITUDE_MATCHED


def test_reference_table_is_the_real_sample():
    # the table (HSC PDR2 spec-z, i < 24), z = 0.8-0.9: 26964 objects, 1.15 / 1.68 / 3.32
    row = HSC_PDR2_GZ[8]
    assert row[:3] == (0.8, 0.9, 26964)
    np.testing.assert_allclose(row[3:], (1.15, 1.68, 3.32), atol=0.005)
    assert len(HSC_PDR2_GZ) == 16 and set(MAGNITUDE_MATCHED) == set(population.SPECTROSCOPIC_SAMPLES)


def test_magnitude_density_integrates_to_one_and_follows_the_fractions():
    sample = population.SPECTROSCOPIC_SAMPLES["cfhtls_spec"]
    m = np.linspace(14.0, 26.0, 120001)
    density = sample.mag_density(m)
    assert np.trapezoid(density, m) == pytest.approx(1.0, abs=1e-3)
    bright = m <= 19.5
    assert np.trapezoid(density[bright], m[bright]) == pytest.approx(0.34, abs=1e-3)


# The target: p16 and p84 of g - z within 0.3 mag of the real galaxies (same i mix) in
# every 0.1-wide bin from z = 0 to 1.6, on a sample of the preset's own size (at 10,000
# objects a bin holds a few hundred and its percentiles scatter by ~0.1 mag).
PRESET_ENVELOPE_TOLERANCE = 0.3  # mag


@pytest.mark.parametrize("survey", ["hsc9", "hsc6", "cfhtls"])
def test_deep_field_envelopes_within_target_at_the_presets_own_size(survey):
    n = colours.own_size(survey)  # 51,000 and 108,500: catalogues only, seconds
    assert n == {"hsc9": 51_000, "hsc6": 51_000, "cfhtls": 108_500}[survey]
    sim = colours.gz_envelopes(colours.simulated_columns(survey, n, seed=2))  # not fitted on
    delta = sim[:, [1, 3]] - colours.real_gz(survey)[:, [1, 3]]
    assert np.isfinite(delta).all()  # every bin from z = 0 to 1.6 holds >= 30 objects
    assert np.abs(delta).max() < PRESET_ENVELOPE_TOLERANCE, np.round(delta, 2)


def test_deep_field_galaxies_get_more_young_light_at_high_redshift_and_low_luminosity():
    rng = np.random.default_rng(0)
    z = np.array([0.1, 1.0, 0.1])
    mag = np.array([17.0, 22.0, 21.0])  # M ~ -21.3, ~ -22.1, ~ -17.3
    f = np.median([population.young_light_fraction(rng, z, mag, np.zeros(3, bool))
                   for _ in range(2001)], axis=0)
    assert f[1] > f[0] and f[2] > f[0]
    red = np.median([population.young_light_fraction(rng, z, mag, np.ones(3, bool))
                     for _ in range(2001)], axis=0)
    assert (red < f).all()


def test_star_formation_dust_against_hand_computed_values(monkeypatch):
    monkeypatch.setattr(population, "SF_DUST_EBV", 0.08)
    monkeypatch.setattr(population, "SF_DUST_YOUNG_SLOPE", 0.5)
    monkeypatch.setattr(population, "SF_DUST_LUMINOSITY_SLOPE", 0.25)
    z = np.full(3, 0.5)
    m21 = -21.0 + float(population.distance_modulus(0.5))  # mag_sel of M = -21
    mag = np.array([m21, m21, m21 - 2.5])
    f = np.array([0.1, 0.4, 0.4])
    ebv = population.star_formation_dust(z, mag, f)
    # 0.08 (f / 0.1)^0.5 (L / L(-21))^0.25; L ratio 10 at M = -23.5
    np.testing.assert_allclose(ebv, [0.08, 0.16, 0.16 * 10**0.25], rtol=1e-9)


def _inclination_dust(cos_i):
    from multimodal_photoz.simulate import morphology

    return np.clip(morphology.INCLINATION_DUST * (1 / cos_i - 1), 0, morphology.MAX_DISK_EBV)


def test_deep_field_disks_carry_their_star_formation_dust_and_sdss_targets_none():
    from multimodal_photoz.simulate import morphology

    cols = colours.simulated_columns("hsc9", 400, seed=2)
    dust = population.star_formation_dust(cols["z_spec"], cols["selection_mag"],
                                          cols["young_fraction"])
    assert np.median(dust) > 0.03  # the dust is not negligible
    np.testing.assert_allclose(cols["ebv_int"], np.minimum(
        _inclination_dust(cols["cos_inclination"]) + dust, morphology.MAX_DISK_EBV))
    sdss = colours.simulated_columns("sdss", 200, seed=2)
    np.testing.assert_allclose(sdss["ebv_int"], _inclination_dust(sdss["cos_inclination"]))


SDSS_MEDIAN_TOLERANCE = 0.15  # mag, median u-g, g-r, r-i, i-z in every 0.05-wide bin


def test_sdss_median_colours_follow_real_main_sample_galaxies():
    sim, real = colours.sdss_medians(colours.simulated_columns("sdss", 10000, seed=1))
    delta = sim - real
    assert np.isfinite(delta).all() and delta.shape == (6, 4)
    assert np.abs(delta).max() < SDSS_MEDIAN_TOLERANCE, np.round(delta, 3)


def test_sdss_template_correction_is_minus_the_fit_residual_median():
    from multimodal_photoz.simulate import library

    z = library._fitted_sample()[0]
    residuals = library.fit_residuals()
    in_bin = (z >= 0.15) & (z < 0.20)
    expected = -np.median(residuals[in_bin], axis=0)  # at the bin's centre, z = 0.175
    centres, _ = library.residuals_by_redshift()
    correction = library.template_correction(np.array([0.175, 0.0, 5.0]))
    np.testing.assert_allclose(correction[0], expected, atol=1e-12)
    assert centres[0] == pytest.approx(0.025) and correction.shape == (3, 5)
    # beyond the end bins the end values hold
    np.testing.assert_allclose(correction[1], library.template_correction([centres[0]])[0])
    np.testing.assert_allclose(correction[2], library.template_correction([centres[-1]])[0])
    # the u correction makes the templates fainter (redder u-g) at z = 0.2, g..z barely move
    assert correction[0, 0] > 0.1 and np.abs(correction[0, 1:]).max() < 0.03
