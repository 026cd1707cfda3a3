"""Colours of simulated samples against the committed tables of real galaxies."""

import numpy as np
import pytest

from multimodal_photoz.simulate import colours, population
from multimodal_photoz.simulate.reference_colours import HSC_PDR2_GZ, MAGNITUDE_MATCHED

# Percentiles of a few hundred objects scatter by ~0.1 mag, and the red envelope (p84) of a
# bimodal colour distribution jumps between the populations: bins with fewer simulated
# objects than WELL_SAMPLED are not compared. docs/simulation.md gives the full comparison.
WELL_SAMPLED = 300
BLUE_ENVELOPE_TOLERANCE = 0.3  # mag, p16 at 0.5 < z < 1.3 (it was 1.0-1.5 mag too red)
ENVELOPE_TOLERANCE = 0.5  # mag, p16 and p84 everywhere


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


@pytest.mark.parametrize("survey", ["hsc9", "cfhtls"])
def test_deep_field_g_minus_z_envelopes_follow_real_galaxies(survey):
    sim = colours.gz_envelopes(colours.simulated_columns(survey, 10000, seed=1))
    real = colours.real_gz(survey)
    centre = np.array([(lo + hi) / 2 for lo, hi, *_ in HSC_PDR2_GZ])
    sampled = sim[:, 0] >= WELL_SAMPLED
    assert sampled[1:10].all()  # 0.1 < z < 1.0 is well sampled in every preset
    delta = sim[:, 1:] - real[:, 1:]
    shown = np.round(delta, 2)
    blue = sampled & (centre > 0.5) & (centre < 1.3)
    assert np.abs(delta[blue, 0]).max() < BLUE_ENVELOPE_TOLERANCE, shown
    assert np.abs(delta[sampled][:, [0, 2]]).max() < ENVELOPE_TOLERANCE, shown


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
