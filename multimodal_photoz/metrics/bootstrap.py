"""The paired bootstrap test of Appendix D, exact and vectorized."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from multimodal_photoz.metrics._checks import _as_1d, _redshift_pair, _row_chunks, _same_length
from multimodal_photoz.metrics.residuals import (
    MAD_TO_SIGMA,
    MeanOfDeltaZ,
    SigmaMAD,
    _metric_name,
    _resolve_metric,
    delta_z,
)

_BOOTSTRAP_CHUNK_ELEMENTS = 1 << 21  # resamples x objects per bootstrap step (16 MB of int64)

N_RESAMPLES = 10_000  # K of Appendix D: p-values resolved to 1e-4

# H1 of the test: "observed" picks the one-sided direction from the sign of delta_test
ALTERNATIVES = ("observed", "multimodal_better", "baseline_better", "two-sided")
NO_DIFFERENCE = "none"  # what "observed" tested when delta_test == 0: p = 1


@dataclasses.dataclass(frozen=True, eq=False)
class PairedBootstrap:
    """Result of ``paired_bootstrap`` (the ingredients of Fig. D.1).

    Attributes:
      metric: metric name.
      m_baseline, m_multimodal: the metric of each model on the test set.
      delta_test: |M_B| - |M_M| on the test set (> 0: multimodal better).
      delta_boot: (K,) the same difference on each paired resample (green histogram).
      p_value: the p-value of the test named by ``tested`` (see ``paired_bootstrap``).
      alternative: the H1 asked for, one of ``ALTERNATIVES``.
      tested: the test the p-value belongs to: "multimodal_better",
        "baseline_better", "two-sided", or "none" ("observed" on a tie, p = 1).
    """

    metric: str
    m_baseline: float
    m_multimodal: float
    delta_test: float
    delta_boot: np.ndarray
    p_value: float
    alternative: str
    tested: str

    @property
    def delta_null(self) -> np.ndarray:
        """delta_boot shifted by -delta_test: the H0 distribution (red histogram)."""
        return self.delta_boot - self.delta_test


def _draw_resamples(rng: np.random.Generator, n_objects: int, n_rows: int) -> list[np.ndarray]:
    """n_rows resamples of (N,) indices, one ``rng.integers(0, N, N)`` call each, so
    that the resamples depend on the seed only, not on the chunk size."""
    return [rng.integers(0, n_objects, size=n_objects) for _ in range(n_rows)]


def _resample_counts(indices: list[np.ndarray]) -> np.ndarray:
    """(c, N) int32 multiplicity of each object in each resample (row-wise
    bincount: each row's counts stay in cache, unlike one flat bincount)."""
    n = len(indices[0])
    counts = np.empty((len(indices), n), dtype=np.int32 if n < 2**31 else np.int64)
    for row, idx in zip(counts, indices):
        row[:] = np.bincount(idx, minlength=n)
    return counts


def _mean_evaluator(metric: MeanOfDeltaZ, dz: np.ndarray, **_: Any) -> Callable:
    """Evaluates a mean metric of both models on resamples: counts @ values / N."""
    values = np.stack([metric.per_object(d) for d in dz])  # (2, N)

    def evaluate(indices: list[np.ndarray]) -> np.ndarray:
        counts = _resample_counts(indices)
        return np.stack([values @ row for row in counts]) / counts.shape[1]
    return evaluate


@dataclasses.dataclass(frozen=True)
class _SortedCounts:
    """Resamples of one model's dz as cumulative counts over its sorted values.

    values: (N,) sorted dz. cum: (c*N,) flattened cumulative counts, row r
    shifted by r*(N+1) so that the whole array is non-decreasing and one
    searchsorted finds order statistics of every resample at once.
    """

    values: np.ndarray
    cum: np.ndarray

    @classmethod
    def build(cls, values: np.ndarray, order: np.ndarray, counts: np.ndarray) -> "_SortedCounts":
        c, n = counts.shape
        # int32 halves the memory traffic of the take and cumsum when it cannot overflow
        dtype = np.int32 if (c + 1) * (n + 1) < np.iinfo(np.int32).max else np.int64
        cum = np.take(counts, order, axis=1).astype(dtype, copy=False)
        cum[:, 0] += np.arange(c, dtype=dtype) * dtype(n + 1)
        return cls(values, np.cumsum(cum, axis=1, dtype=dtype, out=cum).ravel())

    def stat(self, row: np.ndarray, rank: np.ndarray) -> np.ndarray:
        """The rank-th smallest (1-based) value of resample ``row`` (arrays)."""
        n = len(self.values)
        target = (rank + row * (n + 1)).astype(self.cum.dtype)  # same dtype: no copy of cum
        return self.values[np.searchsorted(self.cum, target, side="left") - row * n]


def _kth_abs_deviation(sc: _SortedCounts, row: np.ndarray, centre: np.ndarray,
                       k: np.ndarray) -> np.ndarray:
    """k-th smallest |x - centre| of resample ``row``, exactly as NumPy computes it.

    The k values nearest the centre are k consecutive order statistics
    [t+1, t+k]; their largest deviation is max(centre - x_(t+1), x_(t+k) - centre)
    (signed differences, each monotone in t), so the first t where the second
    term reaches the first is found by bisection; the answer is the smaller of
    x_(t+k) - centre there and centre - x_(t) just before.
    """
    n = len(sc.values)
    lo, hi = np.zeros_like(k), n - k + 1
    while (lo < hi).any():
        active = lo < hi
        mid = np.minimum((lo + hi) // 2, n - k)  # finished rows stay in range
        right_reached = centre - sc.stat(row, mid + 1) <= sc.stat(row, mid + k) - centre
        hi = np.where(active & right_reached, mid, hi)
        lo = np.where(active & ~right_reached, mid + 1, lo)
    from_right = np.where(lo <= n - k, sc.stat(row, np.minimum(lo, n - k) + k) - centre, np.inf)
    from_left = np.where(lo >= 1, centre - sc.stat(row, np.maximum(lo, 1)), np.inf)
    return np.minimum(from_right, from_left)


def _sigma_mad_evaluator(metric: SigmaMAD, dz: np.ndarray, **_: Any) -> Callable:
    """Evaluates sigma_MAD of both models on resamples, bit-identical to ``sigma_mad``
    on the resampled arrays: medians are order statistics read off cumulative
    counts in sorted order (O(N) passes per resample, no partition). NumPy's
    median of an even number of values is the mean of ranks N/2 and N/2 + 1."""
    orders = [np.argsort(d, kind="stable") for d in dz]
    n = dz.shape[1]
    ranks = [n // 2, n // 2 + 1] if n % 2 == 0 else [(n + 1) // 2]

    def middle(x: np.ndarray) -> np.ndarray:  # (len(ranks) * c,) -> (c,)
        x = x.reshape(len(ranks), -1)
        return x[0] if len(ranks) == 1 else (x[0] + x[1]) / 2

    def evaluate(indices: list[np.ndarray]) -> np.ndarray:
        counts = _resample_counts(indices)
        row = np.tile(np.arange(len(indices)), len(ranks))  # each resample once per rank
        k = np.repeat(np.array(ranks, dtype=np.int64), len(indices))
        out = np.empty((len(indices), 2))
        for model, (d, order) in enumerate(zip(dz, orders)):
            sc = _SortedCounts.build(d[order], order, counts)
            centre = np.tile(middle(sc.stat(row, k)), len(ranks))
            out[:, model] = MAD_TO_SIGMA * middle(_kth_abs_deviation(sc, row, centre, k))
        return out
    return evaluate


def _any_evaluator(metric: Callable, dz: np.ndarray, *, z_spec: np.ndarray,
                   z_models: tuple[np.ndarray, np.ndarray]) -> Callable:
    """Evaluates any metric f(z_phot, z_spec): one call per resample and model."""
    def evaluate(indices: list[np.ndarray]) -> np.ndarray:
        return np.array([[metric(z[i], z_spec[i]) for z in z_models] for i in indices])
    return evaluate


_EVALUATORS = {SigmaMAD: _sigma_mad_evaluator, MeanOfDeltaZ: _mean_evaluator}

# one-sided p-values from the H0 deltas (delta_boot - delta_test) and delta_test:
# eq. D.3, and the same test with the two networks' roles exchanged (delta -> -delta)
_ONE_SIDED = {
    "multimodal_better": lambda delta_null, delta_test: float(np.mean(delta_null >= delta_test)),
    "baseline_better": lambda delta_null, delta_test: float(np.mean(delta_null <= delta_test)),
}


def _p_value(delta_boot: np.ndarray, delta_test: float, alternative: str) -> tuple[float, str]:
    """(p, tested) of ``alternative`` (definitions in ``paired_bootstrap``)."""
    delta_null = delta_boot - delta_test
    if alternative in _ONE_SIDED:
        return _ONE_SIDED[alternative](delta_null, delta_test), alternative
    if delta_test == 0:  # no observed direction; every |delta_null| >= 0
        return 1.0, ("two-sided" if alternative == "two-sided" else NO_DIFFERENCE)
    observed = "multimodal_better" if delta_test > 0 else "baseline_better"
    p = _ONE_SIDED[observed](delta_null, delta_test)
    return (min(1.0, 2 * p), "two-sided") if alternative == "two-sided" else (p, observed)


def paired_bootstrap(metric: str | Callable, z_spec: Any, z_baseline: Any, z_multimodal: Any,
                     n_resamples: int = N_RESAMPLES, seed: int = 0,
                     alternative: str = "observed") -> PairedBootstrap:
    """Paired bootstrap significance test of Appendix D (Efron & Tibshirani 1994).

    delta(D) = |M_B(D)| - |M_M(D)|, oriented like the gain of eq. 2 (> 0: the
    multimodal model is better; eq. D.1 prints M_M - M_B, but H0 there is "M_M
    equal or worse" and Table 3 tests M_B - M_M). K resamples of the test set, of
    its size, with replacement and the *same* indices for both models (paired),
    give delta_boot; shifted by -delta_test they are the H0 distribution
    delta_null = delta_boot - delta_test. With d = delta_test:

    * "multimodal_better": p = Freq(delta_null >= d) (eq. D.3).
    * "baseline_better": p = Freq(delta_null <= d), eq. D.3 with the networks
      exchanged (exactly the "multimodal_better" p of the swapped call).
    * "observed" (default; what Table 3 reports): the one of the two above that
      the sign of d picks (d > 0: multimodal better), so the p-value tests the
      network that is better on the test set; d == 0: tested "none", p = 1.
      The direction is chosen after seeing the data: p < alpha here is a
      two-sided test at level 2 alpha.
    * "two-sided": p = min(1, 2 p_observed) (equal tails; 1 when d == 0).

    Resample k is the k-th call ``rng.integers(0, N, N)`` of
    ``Generator(PCG64(seed))``, so a seed gives the same resamples for every
    metric and alternative. Registry metrics are evaluated on many resamples at
    once (weighted sums, or medians from sorted counts); any other callable is
    called once per resample.

    Args:
      metric: a name in ``METRICS`` (outliers at 0.15; pass
        ``survey_metrics('sdss')['outlier_fraction']`` for SDSS) or f(z_phot, z_spec).
      z_spec, z_baseline, z_multimodal: (N,) spectroscopic redshifts and the two
        models' point estimates for the same objects.
      n_resamples: K.
      seed: seed of the PCG64 generator.
      alternative: H1, one of ``ALTERNATIVES``.
    """
    fn = _resolve_metric(metric)
    z_base, z_spec = _redshift_pair(z_baseline, z_spec)
    z_multi = _as_1d("z_multimodal", z_multimodal)
    n = _same_length(z_spec=z_spec, z_baseline=z_base, z_multimodal=z_multi)
    if not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples: must be a positive integer, got {n_resamples!r}")
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative: must be one of {', '.join(ALTERNATIVES)}, got {alternative!r}")
    m_b, m_m = float(fn(z_base, z_spec)), float(fn(z_multi, z_spec))
    delta_test = abs(m_b) - abs(m_m)
    dz = np.stack([delta_z(z_base, z_spec), delta_z(z_multi, z_spec)])
    evaluate = _EVALUATORS.get(type(fn), _any_evaluator)(
        fn, dz, z_spec=z_spec, z_models=(z_base, z_multi))
    rng = np.random.Generator(np.random.PCG64(seed))
    delta_boot = np.empty(n_resamples)
    for rows in _row_chunks(n_resamples, n, _BOOTSTRAP_CHUNK_ELEMENTS):
        indices = _draw_resamples(rng, n, rows.stop - rows.start)
        m = evaluate(indices)
        delta_boot[rows] = np.abs(m[:, 0]) - np.abs(m[:, 1])
    p_value, tested = _p_value(delta_boot, delta_test, alternative)
    return PairedBootstrap(_metric_name(fn), m_b, m_m, delta_test, delta_boot, p_value, alternative, tested)


def paired_bootstrap_pvalue(metric: str | Callable, z_spec: Any, z_baseline: Any,
                            z_multimodal: Any, n_resamples: int = N_RESAMPLES, seed: int = 0,
                            alternative: str = "observed") -> float:
    """p-value of Appendix D's paired bootstrap test; see ``paired_bootstrap``."""
    return paired_bootstrap(metric, z_spec, z_baseline, z_multimodal, n_resamples, seed,
                            alternative).p_value
