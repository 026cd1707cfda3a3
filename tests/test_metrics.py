"""Tests of multimodal_photoz.metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from multimodal_photoz import metrics

# dz = z_phot for z_spec = 0: five residuals used by several hand computations.
DZ5 = np.array([0.1, -0.2, 0.3, 0.0, 0.05])
ZERO5 = np.zeros(5)


# ---------------------------------------------------------------- dz metrics

def test_delta_z_hand_values():
    # (1.2 - 1) / (1 + 1) = 0.1 ; (0.5 - 0.5) / 1.5 = 0 ; (0 - 3) / 4 = -0.75
    got = metrics.delta_z([1.2, 0.5, 0.0], [1.0, 0.5, 3.0])
    np.testing.assert_allclose(got, [0.1, 0.0, -0.75], rtol=1e-12)


def test_sigma_mad_odd_length():
    # median(dz) = 0.05; |dz - 0.05| = [0.05, 0.25, 0.25, 0.05, 0] -> median 0.05
    assert metrics.sigma_mad(DZ5, ZERO5) == pytest.approx(1.4826 * 0.05, rel=1e-12)


def test_sigma_mad_even_length_averages_middle_values():
    # dz = [0, 1, 2, 10] via z_spec = 1, z_phot = 1 + 2 dz; median = (1 + 2) / 2 = 1.5
    # |dz - 1.5| = [1.5, 0.5, 0.5, 8.5] -> sorted [0.5, 0.5, 1.5, 8.5] -> median 1.0
    dz = np.array([0.0, 1.0, 2.0, 10.0])
    assert metrics.sigma_mad(1 + 2 * dz, np.ones(4)) == pytest.approx(1.4826, rel=1e-12)


def test_outlier_fraction_thresholds_inclusive():
    # |dz| >= 0.15: -0.2, 0.3 -> 2/5 ; |dz| >= 0.05: 0.1, -0.2, 0.3, 0.05 -> 4/5
    assert metrics.outlier_fraction(DZ5, ZERO5, 0.15) == pytest.approx(0.4)
    assert metrics.outlier_fraction(DZ5, ZERO5, 0.05) == pytest.approx(0.8)


def test_bias_is_mean_of_dz():
    # (0.1 - 0.2 + 0.3 + 0 + 0.05) / 5 = 0.05
    assert metrics.bias(DZ5, ZERO5) == pytest.approx(0.05, rel=1e-12)


def test_gain_eq2():
    # (|0.010| - |0.008|) / |0.010| = 0.2 ; (|-0.002| - |0.001|) / 0.002 = 0.5
    assert metrics.gain(0.010, 0.008) == pytest.approx(0.2)
    assert metrics.gain(-0.002, 0.001) == pytest.approx(0.5)
    # worse multimodal: (1 - 2) / 1 = -1 ; zero baseline -> NaN
    got = metrics.gain(np.array([1.0, 0.0]), np.array([2.0, 1.0]))
    assert got[0] == pytest.approx(-1.0) and np.isnan(got[1])


def test_registry_binds_outlier_threshold():
    assert set(metrics.METRICS) == {"sigma_mad", "outlier_fraction", "bias"}
    assert metrics.METRICS["outlier_fraction"](DZ5, ZERO5) == pytest.approx(0.4)  # 0.15
    sdss = metrics.survey_metrics("sdss")
    assert sdss["outlier_fraction"](DZ5, ZERO5) == pytest.approx(0.8)  # 0.05
    assert metrics.metric_functions(0.25)["outlier_fraction"](DZ5, ZERO5) == pytest.approx(0.2)
    assert sdss["sigma_mad"](DZ5, ZERO5) == metrics.sigma_mad(DZ5, ZERO5)
    assert sdss["bias"](DZ5, ZERO5) == metrics.bias(DZ5, ZERO5)
    assert metrics.OUTLIER_THRESHOLD == {"sdss": 0.05, "cfhtls": 0.15, "hsc6": 0.15,
                                         "hsc9": 0.15}


# ----------------------------------------------------------- point estimates

EDGES2 = np.array([0.0, 1.0, 2.0])
PDF2 = np.array([[0.25, 0.75]])


def test_pdf_median_one_bin_delta_is_bin_centre():
    edges = np.linspace(0.0, 1.0, 11)
    pdf = np.zeros((1, 10))
    pdf[0, 3] = 1.0  # all mass uniform in [0.3, 0.4] -> median at the centre 0.35
    assert metrics.pdf_median(pdf, edges)[0] == pytest.approx(0.35, rel=1e-12)


def test_pdf_median_two_bins_interpolates():
    # CDF: 0.25 at z=1, then rises by 0.75 over [1, 2]: 0.5 at 1 + 0.25/0.75 = 4/3
    assert metrics.pdf_median(PDF2, EDGES2)[0] == pytest.approx(4 / 3, rel=1e-12)
    # CDF reaches exactly 0.5 at the shared edge z = 1
    assert metrics.pdf_median([[0.5, 0.5]], EDGES2)[0] == pytest.approx(1.0)
    # rows are normalized: [1, 3] is [0.25, 0.75]; float32 input works too
    got = metrics.pdf_median(np.array([[1.0, 3.0]], np.float32), EDGES2)
    assert got[0] == pytest.approx(4 / 3, rel=1e-6)


def test_pdf_mean_and_mode():
    # mean = 0.25 * 0.5 + 0.75 * 1.5 = 1.25 ; mode = centre of bin 1 = 1.5
    assert metrics.pdf_mean(PDF2, EDGES2)[0] == pytest.approx(1.25, rel=1e-12)
    assert metrics.pdf_mode(PDF2, EDGES2)[0] == pytest.approx(1.5)
    # a tie picks the first bin
    assert metrics.pdf_mode([[0.5, 0.5]], EDGES2)[0] == pytest.approx(0.5)


def random_pdfs(rng, n, n_bins):
    """Dirichlet PDFs over irregular edges in [0, 3]."""
    edges = np.concatenate([[0.0], np.sort(rng.uniform(0, 3, n_bins - 1)), [3.0]])
    return rng.dirichlet(np.full(n_bins, 0.3), size=n), edges


def test_pdf_functions_do_not_depend_on_chunking(monkeypatch):
    rng = np.random.default_rng(0)
    pdf, edges = random_pdfs(rng, 300, 17)
    z = rng.uniform(-0.5, 3.5, 300)
    funcs = {
        "median": lambda: metrics.pdf_median(pdf, edges),
        "mean": lambda: metrics.pdf_mean(pdf, edges),
        "mode": lambda: metrics.pdf_mode(pdf, edges),
        "pit": lambda: metrics.pit(pdf, edges, z),
        "crps": lambda: metrics.crps(pdf, edges, z),
    }
    whole = {k: f() for k, f in funcs.items()}
    monkeypatch.setattr(metrics._checks, "_CHUNK_ELEMENTS", 50)  # 2 rows per chunk
    for k, f in funcs.items():  # the mean's matrix product may round differently
        np.testing.assert_allclose(f(), whole[k], rtol=1e-14, atol=1e-15, err_msg=k)


# ------------------------------------------------------------------ PIT, CRPS

def test_pit_hand_values():
    # F(0.5) = 0.25 * 0.5 = 0.125 ; F(1.5) = 0.25 + 0.75 * 0.5 = 0.625 ;
    # below the grid 0, at and above its end 1
    pdf = np.repeat(PDF2, 5, axis=0)
    got = metrics.pit(pdf, EDGES2, [0.5, 1.5, -1.0, 2.0, 3.0])
    np.testing.assert_allclose(got, [0.125, 0.625, 0.0, 1.0, 1.0], rtol=1e-12)


def test_pit_is_uniform_for_calibrated_pdfs():
    rng = np.random.default_rng(1)
    pdf, edges = random_pdfs(rng, 4000, 12)
    # z drawn from each PDF itself: a bin with probability p_i, uniform inside it
    bins = (pdf.cumsum(axis=1) < rng.random((4000, 1))).sum(axis=1)
    z = edges[bins] + rng.random(4000) * np.diff(edges)[bins]
    u = np.sort(metrics.pit(pdf, edges, z))
    ks = np.max(np.abs(u - (np.arange(1, 4001) - 0.5) / 4000))
    assert ks < 0.04  # the 1% KS critical value for N = 4000 is 0.026


def brute_force_crps(p, edges, z_spec, n=400_001):
    """Midpoint-rule integral of (F - H)^2 on a fine grid covering grid and z_spec."""
    lo, hi = min(edges[0], z_spec) - 0.1, max(edges[-1], z_spec) + 0.1
    step = (hi - lo) / n
    z = lo + (np.arange(n) + 0.5) * step
    cdf = np.interp(z, edges, np.concatenate([[0.0], np.cumsum(p) / p.sum()]))
    return np.sum((cdf - (z >= z_spec)) ** 2) * step


def test_crps_matches_brute_force_integration():
    rng = np.random.default_rng(2)
    pdf, edges = random_pdfs(rng, 6, 9)
    z_spec = np.array([0.7, 1.9, -0.4, 3.6, edges[3], 0.0])  # inside, outside, on edges
    got = metrics.crps(pdf, edges, z_spec)
    want = [brute_force_crps(p, edges, z) for p, z in zip(pdf, z_spec)]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_crps_hand_values():
    # uniform on [0, 1]: z_spec = 0.5 -> 2 * integral_0^0.5 z^2 dz = 1/12
    # z_spec = 2 -> integral_0^1 z^2 + (2 - 1) = 4/3 ; z_spec = -1 -> 1/3 + 1 = 4/3
    got = metrics.crps(np.ones((3, 1)), [0.0, 1.0], [0.5, 2.0, -1.0])
    np.testing.assert_allclose(got, [1 / 12, 4 / 3, 4 / 3], rtol=1e-12)


def test_crps_of_a_delta_at_z_spec_is_near_zero():
    # a narrow bin of width w = 1e-3 centred on z_spec scores w / 12
    edges = np.array([0.0, 0.9995, 1.0005, 3.0])
    got = metrics.crps([[0.0, 1.0, 0.0]], edges, [1.0])[0]
    assert got == pytest.approx(1e-3 / 12, rel=1e-6)
    assert got < 1e-4


# ------------------------------------------------------------------- binning

def test_binned_equal_counts_and_values():
    rng = np.random.default_rng(3)
    x = rng.normal(22.0, 1.5, 800)
    z_spec = rng.uniform(0, 2, 800)
    z_phot = z_spec + rng.normal(0, 0.05, 800) * (1 + z_spec)
    out = metrics.binned(x, z_phot, z_spec, ["sigma_mad", "bias"], n_bins=8)
    np.testing.assert_array_equal(out["counts"], np.full(8, 100))  # 800 / 8
    assert out["edges"].shape == (9,) and np.all(np.diff(out["edges"]) > 0)
    assert out["edges"][0] == x.min() and out["edges"][-1] == x.max()
    order = np.argsort(x)
    for b in range(8):
        sel = order[100 * b: 100 * (b + 1)]  # the b-th hundred in x order
        assert out["centers"][b] == pytest.approx(np.median(x[sel]))
        assert out["sigma_mad"][b] == pytest.approx(metrics.sigma_mad(z_phot[sel], z_spec[sel]))
        assert out["bias"][b] == pytest.approx(metrics.bias(z_phot[sel], z_spec[sel]))


def test_binned_accepts_callable_and_dict():
    x = np.arange(10.0)
    out = metrics.binned(x, x, x, {"n": lambda zp, zs: float(len(zp))}, n_bins=2)
    np.testing.assert_array_equal(out["n"], [5.0, 5.0])
    out = metrics.binned(x, x, x, metrics.sigma_mad, n_bins=2)
    np.testing.assert_array_equal(out["sigma_mad"], [0.0, 0.0])


def test_binned_by_fold_mean_and_std():
    # fold 0 has dz = 0.01 everywhere, fold 1 dz = 0.03: per bin mean 0.02, std 0.01
    x = np.tile(np.arange(40.0), 2)
    z_spec = np.full(80, 1.0)
    fold = np.repeat([0, 1], 40)
    z_phot = z_spec + np.where(fold == 0, 0.01, 0.03) * 2.0
    out = metrics.binned_by_fold(x, z_phot, z_spec, fold, "bias", n_bins=4)
    np.testing.assert_allclose(out["bias"], np.full(4, 0.02), rtol=1e-9)
    np.testing.assert_allclose(out["bias_std"], np.full(4, 0.01), rtol=1e-6)
    np.testing.assert_allclose(out["per_fold"]["bias"], [[0.01] * 4, [0.03] * 4], rtol=1e-9)
    np.testing.assert_array_equal(out["counts"], [20] * 4)
    np.testing.assert_array_equal(out["fold_counts"], [[10] * 4] * 2)
    np.testing.assert_array_equal(out["folds"], [0, 1])
    # sample std across the two folds: sqrt(2 * 0.01^2 / 1)
    out = metrics.binned_by_fold(x, z_phot, z_spec, fold, "bias", n_bins=4, ddof=1)
    np.testing.assert_allclose(out["bias_std"], np.full(4, 0.01 * np.sqrt(2)), rtol=1e-6)


# ---------------------------------------------------------- paired bootstrap

def bootstrap_reference(metric, z_spec, z_base, z_multi, n_resamples, seed):
    """Appendix D written naively: one metric call per resample and model."""
    rng = np.random.Generator(np.random.PCG64(seed))
    n = len(z_spec)
    deltas = []
    for _ in range(n_resamples):
        i = rng.integers(0, n, size=n)
        deltas.append(abs(metric(z_base[i], z_spec[i])) - abs(metric(z_multi[i], z_spec[i])))
    return np.array(deltas)


def tied_predictions(n, seed):
    """Predictions rounded to 0.01 so that resampled medians hit many ties."""
    rng = np.random.default_rng(seed)
    z_spec = np.round(rng.uniform(0, 2, n), 2)
    z_base = np.round(z_spec + rng.normal(0, 0.1, n), 2)
    z_multi = np.round(z_spec + rng.normal(0, 0.08, n), 2)
    return z_spec, z_base, z_multi


@pytest.mark.parametrize("n", [1, 2, 7, 100, 101])
@pytest.mark.parametrize("name", ["sigma_mad", "outlier_fraction", "bias"])
def test_bootstrap_fast_paths_equal_the_naive_loop(name, n):
    z_spec, z_base, z_multi = tied_predictions(n, seed=n)
    res = metrics.paired_bootstrap(name, z_spec, z_base, z_multi, n_resamples=150, seed=4)
    want = bootstrap_reference(metrics.METRICS[name], z_spec, z_base, z_multi, 150, 4)
    if name == "bias":  # weighted sums round differently from means of resamples
        np.testing.assert_allclose(res.delta_boot, want, rtol=0, atol=1e-14)
    else:  # sigma_MAD and outlier fractions are bit-identical
        np.testing.assert_array_equal(res.delta_boot, want)


def test_bootstrap_any_callable_and_chunking(monkeypatch):
    z_spec, z_base, z_multi = tied_predictions(60, seed=5)

    def median_abs(z_phot, z_spec):
        return float(np.median(np.abs(z_phot - z_spec)))

    res = metrics.paired_bootstrap(median_abs, z_spec, z_base, z_multi, n_resamples=100)
    want = bootstrap_reference(median_abs, z_spec, z_base, z_multi, 100, 0)
    np.testing.assert_array_equal(res.delta_boot, want)
    assert res.metric == "median_abs"
    # the resamples depend on the seed only, not on how they are chunked
    whole = metrics.paired_bootstrap("sigma_mad", z_spec, z_base, z_multi, n_resamples=100)
    monkeypatch.setattr(metrics.bootstrap, "_BOOTSTRAP_CHUNK_ELEMENTS", 7 * 60)
    chunked = metrics.paired_bootstrap("sigma_mad", z_spec, z_base, z_multi, n_resamples=100)
    np.testing.assert_array_equal(chunked.delta_boot, whole.delta_boot)


def gaussian_predictions(n, scatter_base, scatter_multi, seed):
    rng = np.random.default_rng(seed)
    z_spec = rng.uniform(0, 2, n)
    z_base = z_spec + rng.normal(0, scatter_base, n) * (1 + z_spec)
    z_multi = z_spec + rng.normal(0, scatter_multi, n) * (1 + z_spec)
    return z_spec, z_base, z_multi


def test_bootstrap_clear_gain_is_significant():
    z_spec, z_base, z_multi = gaussian_predictions(3000, 0.05, 0.03, seed=6)
    res = metrics.paired_bootstrap("sigma_mad", z_spec, z_base, z_multi, n_resamples=2000)
    assert res.delta_test == pytest.approx(abs(res.m_baseline) - abs(res.m_multimodal))
    assert res.delta_test > 0.015  # sigma_MAD about 0.05 vs 0.03
    assert res.p_value < 0.01
    assert res.p_value == metrics.paired_bootstrap_pvalue(
        "sigma_mad", z_spec, z_base, z_multi, n_resamples=2000)
    np.testing.assert_allclose(res.delta_null, res.delta_boot - res.delta_test)
    # the unshifted deltas centre on delta_test (the green histogram of Fig. D.1)
    assert np.median(res.delta_boot) == pytest.approx(res.delta_test, rel=0.2)


def test_bootstrap_no_gain_is_not_significant():
    z_spec, z_base, _ = gaussian_predictions(2000, 0.05, 0.05, seed=7)
    tested = {"observed": "none", "two-sided": "two-sided",  # "observed": no direction on a tie
              "multimodal_better": "multimodal_better", "baseline_better": "baseline_better"}
    for name in metrics.METRICS:  # identical predictions: every delta is 0, p = 1 in every direction
        for alternative in metrics.ALTERNATIVES:
            res = metrics.paired_bootstrap(name, z_spec, z_base, z_base.copy(), n_resamples=300,
                                           alternative=alternative)
            assert (res.p_value, res.alternative, res.tested) == (1.0, alternative, tested[alternative])
    # the same residuals given to other objects: equal metrics on the test set; one fixed
    # direction gives p ~ 0.5, "observed" has no direction to test on an exact tie and gives 1
    dz = metrics.delta_z(z_base, z_spec)
    z_multi = z_spec + np.random.default_rng(8).permutation(dz) * (1 + z_spec)
    for name in metrics.METRICS:
        res = metrics.paired_bootstrap(name, z_spec, z_base, z_multi, n_resamples=1000,
                                       alternative="multimodal_better")
        assert abs(res.delta_test) < 1e-12
        assert 0.2 < res.p_value < 0.8, name
        observed = metrics.paired_bootstrap(name, z_spec, z_base, z_multi, n_resamples=1000)
        if res.delta_test == 0:  # sigma_MAD, outliers: the same multiset of dz
            assert (observed.p_value, observed.tested) == (1.0, "none"), name
        else:  # the mean of permuted values may differ in the last bit
            assert 0.2 < observed.p_value <= 0.5 + 0.05, name


def p_value_reference(deltas, delta_test, alternative):
    """The p-value definitions written as a plain loop over the bootstrapped deltas."""
    if alternative == "two-sided":
        return min(1.0, 2 * p_value_reference(deltas, delta_test, "observed"))
    if alternative == "observed":
        if delta_test == 0:
            return 1.0
        alternative = "multimodal_better" if delta_test > 0 else "baseline_better"
    count = 0
    for delta in deltas:
        null = delta - delta_test  # H0: the bootstrapped deltas shifted to centre on 0
        count += (null >= delta_test) if alternative == "multimodal_better" else (null <= delta_test)
    return count / len(deltas)


@pytest.mark.parametrize("alternative", metrics.ALTERNATIVES)
@pytest.mark.parametrize("name", ["sigma_mad", "outlier_fraction"])
def test_bootstrap_p_values_equal_the_naive_loop(name, alternative):
    for n, seed in [(7, 1), (40, 2), (101, 3)]:
        z_spec, z_base, z_multi = tied_predictions(n, seed=n)
        for pair in [(z_base, z_multi), (z_multi, z_base)]:  # both signs of delta
            res = metrics.paired_bootstrap(name, z_spec, *pair, n_resamples=300, seed=seed,
                                           alternative=alternative)
            deltas = bootstrap_reference(metrics.METRICS[name], z_spec, *pair, 300, seed)
            assert res.p_value == p_value_reference(deltas, res.delta_test, alternative)
            assert res.p_value == metrics.paired_bootstrap_pvalue(
                name, z_spec, *pair, n_resamples=300, seed=seed, alternative=alternative)


def test_bootstrap_tiny_sample_by_hand():
    """Two objects at z_spec = 0 (dz = z_phot), bias = mean dz:
    baseline dz (0.1, 0.1): bias 0.1 on every resample; multimodal dz (0.0, 0.3): 0.15.
    delta = 0.1 - 0.15 = -0.05 (baseline better). A resample draws indices (i, j):
    (0, 0) -> delta 0.1, (0, 1) or (1, 0) -> -0.05, (1, 1) -> 0.1 - 0.3 = -0.2; shifted
    by +0.05: 0.15, 0, 0, -0.15. Only (1, 1) has null <= -0.05, so the "baseline
    better" p is the fraction of resamples (1, 1) (1/4 in expectation), the
    "multimodal better" p its complement, and two-sided p twice it."""
    z_spec, z_base, z_multi = np.zeros(2), np.array([0.1, 0.1]), np.array([0.0, 0.3])
    k, seed = 4000, 11
    rng = np.random.Generator(np.random.PCG64(seed))  # the resamples, drawn as documented
    n_both_one = sum(rng.integers(0, 2, size=2).tolist() == [1, 1] for _ in range(k))
    both_one = n_both_one / k
    assert both_one == pytest.approx(0.25, abs=0.03)

    def p(alternative):
        return metrics.paired_bootstrap("bias", z_spec, z_base, z_multi, n_resamples=k, seed=seed,
                                        alternative=alternative)

    res = p("observed")
    assert res.delta_test == pytest.approx(-0.05)
    assert (res.p_value, res.tested) == (both_one, "baseline_better")
    assert p("baseline_better").p_value == both_one
    assert p("multimodal_better").p_value == (k - n_both_one) / k
    assert (p("two-sided").p_value, p("two-sided").tested) == (2 * both_one, "two-sided")


def test_bootstrap_tests_the_observed_direction():
    """One network better in every metric (scatter 0.05 vs 0.03, 8% vs 1% outliers,
    bias 0.02 vs 0), given once as multimodal and once as baseline."""
    rng = np.random.default_rng(6)
    z_spec = rng.uniform(0, 2, 3000)
    dz_worse, dz_better = rng.normal(0.02, 0.05, 3000), rng.normal(0.0, 0.03, 3000)
    dz_worse[:240], dz_better[:30] = 0.5, 0.5
    z_worse, z_better = (z_spec + dz * (1 + z_spec) for dz in (dz_worse, dz_better))
    for name in metrics.METRICS:
        multi_wins = {a: metrics.paired_bootstrap(name, z_spec, z_worse, z_better, n_resamples=1000,
                                                  alternative=a) for a in metrics.ALTERNATIVES}
        base_wins = {a: metrics.paired_bootstrap(name, z_spec, z_better, z_worse, n_resamples=1000,
                                                 alternative=a) for a in metrics.ALTERNATIVES}
        # multimodal better: small p in its direction, large in the other
        assert multi_wins["observed"].tested == "multimodal_better"
        assert multi_wins["observed"].p_value == multi_wins["multimodal_better"].p_value < 0.01
        assert multi_wins["baseline_better"].p_value > 0.99
        # baseline better: "observed" follows, the paper's fixed direction (eq. D.3) gives p ~ 1
        assert base_wins["observed"].tested == "baseline_better"
        assert base_wins["observed"].p_value == base_wins["baseline_better"].p_value < 0.01
        assert base_wins["multimodal_better"].p_value > 0.99
        for a in ("multimodal_better", "baseline_better"):  # exchanging the networks mirrors delta exactly
            mirror = "baseline_better" if a == "multimodal_better" else "multimodal_better"
            assert base_wins[a].p_value == multi_wins[mirror].p_value
        for res in (multi_wins, base_wins):
            assert res["two-sided"].p_value == min(1.0, 2 * res["observed"].p_value)


# ---------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("call, field", [
    (lambda: metrics.sigma_mad([0.1, 0.2], [0.1]), "z_phot"),
    (lambda: metrics.bias([], []), "z_phot"),
    (lambda: metrics.bias([0.1, np.nan], [0.1, 0.2]), "z_phot"),
    (lambda: metrics.delta_z([0.1, 0.2], [0.1, np.inf]), "z_spec"),
    (lambda: metrics.delta_z([0.1], [-1.0]), "z_spec"),
    (lambda: metrics.outlier_fraction([0.1], [0.1], -0.1), "threshold"),
    (lambda: metrics.pdf_median([[0.5, 0.5]], [0.0, 1.0]), "pdf"),
    (lambda: metrics.pdf_median([[0.5, 0.5]], [0.0, 2.0, 1.0]), "bin_edges"),
    (lambda: metrics.pdf_median([[0.5, 0.5], [-0.5, 1.5]], EDGES2), "row 1"),
    (lambda: metrics.pdf_mean([[0.0, 0.0]], EDGES2), "pdf"),
    (lambda: metrics.pit(PDF2, EDGES2, [1.0, 1.5]), "z_spec"),
    (lambda: metrics.crps(PDF2, EDGES2, [np.nan]), "z_spec"),
    (lambda: metrics.binned(np.arange(4.0), np.arange(3.0), np.arange(3.0)), "x"),
    (lambda: metrics.binned(np.arange(4.0), np.arange(4.0), np.arange(4.0), n_bins=5), "x"),
    (lambda: metrics.binned(np.arange(4.0), np.arange(4.0), np.arange(4.0), "mad"), "metric"),
    (lambda: metrics.binned_by_fold(np.arange(4.0), np.arange(4.0), np.arange(4.0),
                                    np.zeros(4), n_bins=2), "fold"),
    (lambda: metrics.paired_bootstrap_pvalue("bias", [0.1, 0.2], [0.1, 0.2], [0.1]),
     "z_multimodal"),
    (lambda: metrics.paired_bootstrap_pvalue("bias", [0.1], [0.1], [0.1], n_resamples=0),
     "n_resamples"),
    (lambda: metrics.paired_bootstrap_pvalue("bias", [0.1], [0.1], [0.1], alternative="greater"),
     "alternative"),
    (lambda: metrics.survey_metrics("des"), "survey"),
    (lambda: metrics.gain([1.0, 2.0], [1.0]), "m_baseline"),
])
def test_bad_inputs_name_the_argument(call, field):
    with pytest.raises(ValueError, match=field):
        call()
