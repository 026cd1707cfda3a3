"""Photometric-redshift metrics, PDF point estimates and the paired bootstrap test.

NumPy only (no jax), so that reports and notebooks run anywhere.

* Point estimates from histogram PDFs (paper Sect. 5.1 uses the median):
  ``pdf_median``, ``pdf_mean``, ``pdf_mode``. A PDF is a histogram: row ``n`` of
  ``pdf`` (N, n_bins) holds probabilities ``p_i`` spread uniformly over bin ``i``
  of ``bin_edges`` (n_bins + 1,), so its CDF is piecewise linear.
* Metrics of the normalized residual ``dz = (z_phot - z_spec) / (1 + z_spec)``
  (Sect. 5.1): ``sigma_mad``, ``outlier_fraction`` (a fraction in [0, 1], not %),
  ``bias`` (the *mean* of dz, unlike qp/RAIL's median), and the relative gain
  ``gain`` (eq. 2).
* ``binned`` / ``binned_by_fold``: metrics in equal-count bins of any variable
  (Fig. 2), with the spread between the cross-validation folds as error bar.
* ``paired_bootstrap_pvalue`` / ``paired_bootstrap``: Appendix D's test.
* ``pit`` and ``crps`` of histogram PDFs, exact for the piecewise-linear CDF.

Redshifts are dimensionless; every metric returns a Python float.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

MAD_TO_SIGMA = 1.4826  # sigma of a Gaussian per unit median absolute deviation
OUTLIER_THRESHOLD = {"sdss": 0.05, "cfhtls": 0.15, "hsc6": 0.15, "hsc9": 0.15}
DEFAULT_OUTLIER_THRESHOLD = 0.15  # the paper's threshold for all surveys but SDSS
_CHUNK_ELEMENTS = 1 << 17  # 1 MB float64 temporaries: cache-sized; bounds memory at 1e6 x 400
_BOOTSTRAP_CHUNK_ELEMENTS = 1 << 21  # resamples x objects per bootstrap step (16 MB of int64)


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------

def _first_bad(mask: np.ndarray) -> int:
    """Index (row for 2-d) of the first True entry of ``mask``."""
    return int(np.argmax(mask.reshape(len(mask), -1).any(axis=1)))


def _as_1d(name: str, values: Any) -> np.ndarray:
    """``values`` as float64 (N,); ValueError naming ``name`` if not 1-d, empty or non-finite."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: empty array")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(f"{name}: non-finite value {arr[i]} at index {i}")
    return arr


def _same_length(**arrays: np.ndarray) -> int:
    """Common length of the named arrays; ValueError listing them if they differ."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"arrays of different lengths: {lengths}")
    return next(iter(lengths.values()))


def _redshift_pair(z_phot: Any, z_spec: Any) -> tuple[np.ndarray, np.ndarray]:
    z_phot = _as_1d("z_phot", z_phot)
    z_spec = _as_1d("z_spec", z_spec)
    _same_length(z_phot=z_phot, z_spec=z_spec)
    if (z_spec <= -1.0).any():  # 1 + z_spec is a denominator
        i = _first_bad(z_spec <= -1.0)
        raise ValueError(f"z_spec: value {z_spec[i]} <= -1 at index {i}")
    return z_phot, z_spec


def _check_edges(bin_edges: Any) -> np.ndarray:
    edges = _as_1d("bin_edges", bin_edges)
    if len(edges) < 2 or not (np.diff(edges) > 0).all():
        raise ValueError("bin_edges: need at least 2 strictly increasing edges")
    return edges


def _check_pdf(pdf: Any, edges: np.ndarray) -> np.ndarray:
    pdf = np.asarray(pdf)
    if pdf.ndim != 2:
        raise ValueError(f"pdf: expected shape (N, n_bins), got {pdf.shape}")
    if pdf.shape[0] == 0:
        raise ValueError("pdf: empty array")
    if pdf.shape[1] != len(edges) - 1:
        raise ValueError(
            f"pdf: {pdf.shape[1]} bins but bin_edges has {len(edges)} edges "
            f"(expected n_bins + 1)")
    return pdf


def _row_chunks(n_rows: int, row_size: int, chunk_elements: int | None = None) -> Iterator[slice]:
    """Slices of rows holding about ``chunk_elements`` (default ``_CHUNK_ELEMENTS``) values each."""
    step = max(1, (chunk_elements or _CHUNK_ELEMENTS) // max(row_size, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _chunk_probabilities(pdf_chunk: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """float64 probabilities (c, n_bins) and their row sums (c,), validated.

    A row with a negative or non-finite entry or a zero sum raises, naming its
    index; callers divide by the sum (absorbs float32 softmax rounding).
    """
    p = pdf_chunk.astype(np.float64, copy=False)
    total = p.sum(axis=1)
    if not np.isfinite(total).all() or p.min() < 0:  # one cheap test before locating
        bad = ~np.isfinite(p) | (p < 0)
        i = _first_bad(bad)
        raise ValueError(f"pdf: row {offset + i} has a negative or non-finite probability")
    if (total <= 0).any():
        raise ValueError(f"pdf: row {offset + _first_bad(total <= 0)} sums to zero")
    return p, total


def _chunk_cdf(pdf_chunk: np.ndarray, offset: int) -> np.ndarray:
    """Normalized CDF at the right edge of every bin, (c, n_bins) float64; the
    last column is exactly 1."""
    p, _ = _chunk_probabilities(pdf_chunk, offset)
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    return cdf


def _cdf_before(cdf: np.ndarray) -> np.ndarray:
    """CDF at the left edge of every bin, (c, n_bins)."""
    return np.concatenate([np.zeros((len(cdf), 1)), cdf[:, :-1]], axis=1)


# ---------------------------------------------------------------------------
# Point estimates from histogram PDFs
# ---------------------------------------------------------------------------

def pdf_median(pdf: Any, bin_edges: Any) -> np.ndarray:
    """Median of each histogram PDF: the paper's point estimate z_phot (Sect. 5.1).

    The redshift where the piecewise-linear CDF reaches 0.5, interpolated
    linearly inside the bin where it crosses (probability is uniform in a bin).

    Args:
      pdf: (N, n_bins) non-negative probabilities; each row is divided by its sum.
      bin_edges: (n_bins + 1,) strictly increasing redshift bin edges.
    Returns:
      (N,) float64 redshifts.
    """
    edges = _check_edges(bin_edges)
    pdf = _check_pdf(pdf, edges)
    out = np.empty(len(pdf))
    for rows in _row_chunks(len(pdf), pdf.shape[1]):
        cdf = _chunk_cdf(pdf[rows], rows.start)
        j = np.argmax(cdf >= 0.5, axis=1)  # first bin whose right-edge CDF reaches 0.5
        r = np.arange(len(cdf))
        before = np.where(j > 0, cdf[r, j - 1], 0.0)
        frac = (0.5 - before) / (cdf[r, j] - before)  # > 0 denominator: CDF rises in bin j
        out[rows] = edges[j] + np.clip(frac, 0.0, 1.0) * (edges[j + 1] - edges[j])
    return out


def pdf_mean(pdf: Any, bin_edges: Any) -> np.ndarray:
    """Mean of each histogram PDF, sum_i p_i * centre_i (rows normalized). (N,)."""
    edges = _check_edges(bin_edges)
    pdf = _check_pdf(pdf, edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    out = np.empty(len(pdf))
    for rows in _row_chunks(len(pdf), pdf.shape[1]):
        p, total = _chunk_probabilities(pdf[rows], rows.start)
        out[rows] = (p @ centres) / total
    return out


def pdf_mode(pdf: Any, bin_edges: Any) -> np.ndarray:
    """Centre of the most probable bin of each PDF (first one on ties). (N,)."""
    edges = _check_edges(bin_edges)
    pdf = _check_pdf(pdf, edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    out = np.empty(len(pdf))
    for rows in _row_chunks(len(pdf), pdf.shape[1]):
        _chunk_probabilities(pdf[rows], rows.start)  # validates the rows
        out[rows] = centres[np.argmax(pdf[rows], axis=1)]
    return out


# ---------------------------------------------------------------------------
# Metrics of dz (Sect. 5.1) and the gain (eq. 2)
# ---------------------------------------------------------------------------

def delta_z(z_phot: Any, z_spec: Any) -> np.ndarray:
    """Normalized residuals (z_phot - z_spec) / (1 + z_spec), (N,) float64."""
    z_phot, z_spec = _redshift_pair(z_phot, z_spec)
    return (z_phot - z_spec) / (1.0 + z_spec)


def sigma_mad(z_phot: Any, z_spec: Any) -> float:
    """1.4826 * median(|dz - median(dz)|); medians average the two middle values."""
    dz = delta_z(z_phot, z_spec)
    return float(MAD_TO_SIGMA * np.median(np.abs(dz - np.median(dz))))


def outlier_fraction(z_phot: Any, z_spec: Any, threshold: float) -> float:
    """Fraction (in [0, 1], not %) of objects with |dz| >= threshold.

    The paper uses threshold 0.05 for SDSS and 0.15 otherwise (``OUTLIER_THRESHOLD``).
    """
    if not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"threshold: must be a positive number, got {threshold!r}")
    return float(np.mean(np.abs(delta_z(z_phot, z_spec)) >= threshold))


def bias(z_phot: Any, z_spec: Any) -> float:
    """Mean of dz (the paper's bias; qp/RAIL call the median of dz 'bias')."""
    return float(np.mean(delta_z(z_phot, z_spec)))


def gain(m_baseline: Any, m_multimodal: Any) -> Any:
    """Relative gain G(M) = (|M_B| - |M_M|) / |M_B| (paper eq. 2); > 0 = multimodal better.

    Works on scalars or arrays (e.g. binned metrics); NaN inputs propagate and
    |M_B| = 0 gives NaN. Returns a float for scalar inputs, else an array.
    """
    m_b = np.abs(np.asarray(m_baseline, dtype=np.float64))
    m_m = np.abs(np.asarray(m_multimodal, dtype=np.float64))
    if m_b.shape != m_m.shape:
        raise ValueError(
            f"m_baseline and m_multimodal: different shapes {m_b.shape} and {m_m.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(m_b > 0, (m_b - m_m) / np.where(m_b > 0, m_b, 1.0), np.nan)
    return float(g) if g.ndim == 0 else g


# ---------------------------------------------------------------------------
# Metric registry: callables of (z_phot, z_spec) that also tell the bootstrap
# how to evaluate them on many resamples at once.
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SigmaMAD:
    """``sigma_mad`` as a registry entry (bootstrapped through sorted counts)."""

    name: str = "sigma_mad"

    def __call__(self, z_phot: Any, z_spec: Any) -> float:
        return sigma_mad(z_phot, z_spec)


@dataclasses.dataclass(frozen=True)
class MeanOfDeltaZ:
    """A metric that is the mean over objects of a function of dz (bias, outlier
    fraction); bootstrapped as weighted sums with the resample counts."""

    name: str
    per_object: Callable[[np.ndarray], np.ndarray]

    def __call__(self, z_phot: Any, z_spec: Any) -> float:
        return float(np.mean(self.per_object(delta_z(z_phot, z_spec))))


def _is_outlier(dz: np.ndarray, threshold: float) -> np.ndarray:
    return (np.abs(dz) >= threshold).astype(np.float64)


def _identity(dz: np.ndarray) -> np.ndarray:
    return dz


def metric_functions(outlier_threshold: float = DEFAULT_OUTLIER_THRESHOLD) -> dict[str, Callable]:
    """The paper's three metrics as name -> f(z_phot, z_spec) -> float, with the
    outlier threshold bound (0.05 for SDSS, 0.15 otherwise)."""
    if not np.isfinite(outlier_threshold) or outlier_threshold <= 0:
        raise ValueError(
            f"outlier_threshold: must be a positive number, got {outlier_threshold!r}")
    return {
        "sigma_mad": SigmaMAD(),
        "outlier_fraction": MeanOfDeltaZ(
            "outlier_fraction", functools.partial(_is_outlier, threshold=outlier_threshold)),
        "bias": MeanOfDeltaZ("bias", _identity),
    }


def survey_metrics(survey: str) -> dict[str, Callable]:
    """``metric_functions`` with the survey's outlier threshold (``OUTLIER_THRESHOLD``)."""
    if survey not in OUTLIER_THRESHOLD:
        raise ValueError(f"survey: unknown {survey!r}, expected one of {sorted(OUTLIER_THRESHOLD)}")
    return metric_functions(OUTLIER_THRESHOLD[survey])


METRICS = metric_functions(DEFAULT_OUTLIER_THRESHOLD)  # outliers at |dz| >= 0.15
_REGISTRY_FORM = {sigma_mad: METRICS["sigma_mad"], bias: METRICS["bias"]}


def _metric_name(metric: Callable) -> str:
    return getattr(metric, "name", None) or getattr(metric, "__name__", repr(metric))


def _resolve_metric(metric: str | Callable) -> Callable:
    """A registry name or a callable of (z_phot, z_spec) -> the callable."""
    if isinstance(metric, str):
        if metric not in METRICS:
            raise ValueError(f"metric: unknown name {metric!r}, expected one of {sorted(METRICS)}")
        return METRICS[metric]
    if not callable(metric):
        raise ValueError(f"metric: expected a name or a callable, got {type(metric).__name__}")
    return _REGISTRY_FORM.get(metric, metric)


def _metric_dict(metrics: Any) -> dict[str, Callable]:
    """Normalizes a name, callable, sequence of those, or dict to name -> callable."""
    if isinstance(metrics, Mapping):
        return {str(k): _resolve_metric(v) for k, v in metrics.items()}
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    if not isinstance(metrics, Sequence) or not metrics:
        raise ValueError(f"metrics: expected a name, callable, list or dict, got {metrics!r}")
    resolved = [_resolve_metric(m) for m in metrics]
    return {_metric_name(m): m for m in resolved}


# ---------------------------------------------------------------------------
# Binned metrics (Fig. 2)
# ---------------------------------------------------------------------------

_RESERVED_KEYS = ("edges", "centers", "counts", "fold_counts", "folds", "per_fold")


def equal_count_edges(x: Any, n_bins: int = 8) -> np.ndarray:
    """Bin edges splitting ``x`` into ``n_bins`` bins of (nearly) equal counts.

    Inner edge ``i`` is the midpoint between the sorted values of rank
    round(i N / n_bins) - 1 and round(i N / n_bins); outer edges are min and max.
    With distinct values every bin gets round(i N/n) - round((i-1) N/n) objects;
    tied values on an edge all go to the upper bin. Returns (n_bins + 1,).
    """
    x = _as_1d("x", x)
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins: must be a positive integer, got {n_bins!r}")
    if len(x) < n_bins:
        raise ValueError(f"x: {len(x)} objects for {n_bins} bins")
    xs = np.sort(x)
    ranks = np.round(np.arange(1, n_bins) * len(x) / n_bins).astype(np.int64)
    inner = 0.5 * (xs[ranks - 1] + xs[ranks])
    return np.concatenate([[xs[0]], inner, [xs[-1]]])


def _bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each x: edges[i] <= x < edges[i+1]; values beyond the ends go to the end bins."""
    return np.searchsorted(edges[1:-1], x, side="right")


def _metric_or_nan(metric: Callable, z_phot: np.ndarray, z_spec: np.ndarray) -> float:
    return float(metric(z_phot, z_spec)) if len(z_phot) else np.nan


def _check_binned_inputs(x, z_phot, z_spec):
    x = _as_1d("x", x)
    z_phot, z_spec = _redshift_pair(z_phot, z_spec)
    _same_length(x=x, z_phot=z_phot, z_spec=z_spec)
    return x, z_phot, z_spec


def binned(x: Any, z_phot: Any, z_spec: Any, metrics: Any = "sigma_mad",
           n_bins: int = 8) -> dict[str, np.ndarray]:
    """Metrics in equal-count bins of ``x`` (i magnitude, z_spec, z_phot...), as in Fig. 2.

    Args:
      x, z_phot, z_spec: (N,) arrays.
      metrics: a registry name, a callable f(z_phot, z_spec), a list of those or
        a dict name -> callable.
      n_bins: number of bins (edges from ``equal_count_edges``).
    Returns:
      dict with 'edges' (n_bins+1,), 'centers' (n_bins,) = median of x in each bin
      (a plotting abscissa that follows the data), 'counts' (n_bins,) int, and one
      (n_bins,) float array per metric name (NaN in an empty bin).
    """
    x, z_phot, z_spec = _check_binned_inputs(x, z_phot, z_spec)
    metrics = _metric_dict(metrics)
    _check_reserved(metrics)
    edges = equal_count_edges(x, n_bins)
    which = _bin_index(x, edges)
    masks = [which == b for b in range(n_bins)]
    out: dict[str, np.ndarray] = {
        "edges": edges,
        "centers": np.array([np.median(x[m]) if m.any() else np.nan for m in masks]),
        "counts": np.array([m.sum() for m in masks], dtype=np.int64),
    }
    for name, metric in metrics.items():
        out[name] = np.array([_metric_or_nan(metric, z_phot[m], z_spec[m]) for m in masks])
    return out


def _check_reserved(metrics: Mapping[str, Callable]) -> None:
    clash = [n for n in metrics if n in _RESERVED_KEYS or n.endswith("_std")]
    if clash:
        raise ValueError(f"metrics: names {clash} clash with result keys {_RESERVED_KEYS} / *_std")


def binned_by_fold(x: Any, z_phot: Any, z_spec: Any, fold: Any, metrics: Any = "sigma_mad",
                   n_bins: int = 8, ddof: int = 0) -> dict[str, Any]:
    """Per-bin metrics averaged over cross-validation folds, with their spread.

    The paper's Fig. 2 error bars are the standard deviation between the 5 folds.
    Edges are equal-count edges of ``x`` over all objects, common to every fold.

    Args:
      x, z_phot, z_spec: (N,) arrays; fold: (N,) integer fold of each object.
      metrics, n_bins: as in ``binned``.
      ddof: delta degrees of freedom of the std across folds (0: population std).
    Returns:
      dict with 'edges', 'centers' (median of x per bin, all folds), 'counts'
      (n_bins,), 'folds' (n_folds,) the fold labels, 'fold_counts' (n_folds, n_bins),
      per metric name the (n_bins,) mean over folds and '<name>_std' the std
      across folds (both ignore folds with an empty bin), and 'per_fold':
      {name: (n_folds, n_bins)}.
    """
    x, z_phot, z_spec = _check_binned_inputs(x, z_phot, z_spec)
    fold = np.asarray(fold)
    if fold.ndim != 1 or not np.issubdtype(fold.dtype, np.integer):
        raise ValueError(f"fold: expected a 1-d integer array, got {fold.dtype} {fold.shape}")
    _same_length(x=x, fold=fold)
    metrics = _metric_dict(metrics)
    _check_reserved(metrics)
    edges = equal_count_edges(x, n_bins)
    which = _bin_index(x, edges)
    folds = np.unique(fold)
    out = binned(x, z_phot, z_spec, {}, n_bins)  # edges, centers and counts over all folds
    out["folds"] = folds
    out["fold_counts"] = np.array(
        [[np.sum((fold == f) & (which == b)) for b in range(n_bins)] for f in folds])
    out["per_fold"] = {}
    for name, metric in metrics.items():
        table = np.array([[_metric_or_nan(metric, z_phot[m], z_spec[m])
                           for m in ((fold == f) & (which == b) for b in range(n_bins))]
                          for f in folds])
        out["per_fold"][name] = table
        out[name], out[f"{name}_std"] = _nan_mean_std(table, ddof)
    return out


def _nan_mean_std(table: np.ndarray, ddof: int) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and std ignoring NaN; NaN (no warning) where too few values."""
    valid = ~np.isnan(table)
    n = valid.sum(axis=0)
    filled = np.where(valid, table, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, filled.sum(axis=0) / n, np.nan)
        sq = np.where(valid, (table - mean) ** 2, 0.0).sum(axis=0)
        std = np.where(n > ddof, np.sqrt(sq / (n - ddof)), np.nan)
    return mean, std


# ---------------------------------------------------------------------------
# Paired bootstrap test (Appendix D)
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class PairedBootstrap:
    """Result of ``paired_bootstrap`` (the ingredients of Fig. D.1).

    Attributes:
      metric: metric name.
      m_baseline, m_multimodal: the metric of each model on the test set.
      delta_test: |M_B| - |M_M| on the test set (> 0: multimodal better).
      delta_boot: (K,) the same difference on each paired resample (green histogram).
      p_value: Freq(delta_boot - delta_test >= delta_test) (eq. D.3).
    """

    metric: str
    m_baseline: float
    m_multimodal: float
    delta_test: float
    delta_boot: np.ndarray
    p_value: float

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


def paired_bootstrap(metric: str | Callable, z_spec: Any, z_baseline: Any, z_multimodal: Any,
                     n_resamples: int = 10_000, seed: int = 0) -> PairedBootstrap:
    """Paired bootstrap significance test of Appendix D (Efron & Tibshirani 1994).

    delta(D) = |M_B(D)| - |M_M(D)|, oriented like the gain of eq. 2 (> 0: the
    multimodal model is better; eq. D.1 prints M_M - M_B, but H0 there is "M_M
    equal or worse" and Table 3 tests M_B - M_M). K resamples of the test set, of
    its size, with replacement and the *same* indices for both models (paired),
    give delta_boot; p = Freq(delta_boot - delta_test >= delta_test) (eq. D.3).
    Resample k is the k-th call ``rng.integers(0, N, N)`` of
    ``Generator(PCG64(seed))``, so a seed gives the same resamples for every metric. Registry metrics are evaluated on
    many resamples at once (weighted sums, or medians from sorted counts); any
    other callable is called once per resample.

    Args:
      metric: a name in ``METRICS`` (outliers at 0.15; pass
        ``survey_metrics('sdss')['outlier_fraction']`` for SDSS) or f(z_phot, z_spec).
      z_spec, z_baseline, z_multimodal: (N,) spectroscopic redshifts and the two
        models' point estimates for the same objects.
      n_resamples: K.
      seed: seed of the PCG64 generator.
    """
    fn = _resolve_metric(metric)
    z_base, z_spec = _redshift_pair(z_baseline, z_spec)
    z_multi = _as_1d("z_multimodal", z_multimodal)
    n = _same_length(z_spec=z_spec, z_baseline=z_base, z_multimodal=z_multi)
    if not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples: must be a positive integer, got {n_resamples!r}")
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
    p_value = float(np.mean(delta_boot - delta_test >= delta_test))
    return PairedBootstrap(_metric_name(fn), m_b, m_m, delta_test, delta_boot, p_value)


def paired_bootstrap_pvalue(metric: str | Callable, z_spec: Any, z_baseline: Any,
                            z_multimodal: Any, n_resamples: int = 10_000, seed: int = 0) -> float:
    """p-value of Appendix D's paired bootstrap test; see ``paired_bootstrap``."""
    return paired_bootstrap(metric, z_spec, z_baseline, z_multimodal, n_resamples, seed).p_value


# ---------------------------------------------------------------------------
# Calibration and scoring of histogram PDFs
# ---------------------------------------------------------------------------

def _check_pdf_inputs(pdf, bin_edges, z_spec):
    edges = _check_edges(bin_edges)
    pdf = _check_pdf(pdf, edges)
    z_spec = _as_1d("z_spec", z_spec)
    _same_length(pdf=pdf, z_spec=z_spec)
    return pdf, edges, z_spec


def _locate(edges: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """z clipped to the grid and the bin holding it, (N,) each."""
    zc = np.clip(z, edges[0], edges[-1])
    j = np.clip(np.searchsorted(edges, zc, side="right") - 1, 0, len(edges) - 2)
    return zc, j


def pit(pdf: Any, bin_edges: Any, z_spec: Any) -> np.ndarray:
    """Probability integral transform: each PDF's CDF at its z_spec, (N,) in [0, 1].

    The CDF is linear inside each bin; it is 0 below bin_edges[0] and 1 above
    bin_edges[-1]. For calibrated PDFs the PIT values are uniform.
    """
    pdf, edges, z_spec = _check_pdf_inputs(pdf, bin_edges, z_spec)
    out = np.empty(len(pdf))
    for rows in _row_chunks(len(pdf), pdf.shape[1]):
        cdf = _chunk_cdf(pdf[rows], rows.start)
        zc, j = _locate(edges, z_spec[rows])
        r = np.arange(len(cdf))
        before = np.where(j > 0, cdf[r, j - 1], 0.0)
        frac = (zc - edges[j]) / (edges[j + 1] - edges[j])
        out[rows] = before + frac * (cdf[r, j] - before)
    return out


def _square_integral(w, a, b):
    """Integral of F^2 over a width w where F goes linearly from a to b."""
    return w * (a * a + a * b + b * b) / 3.0


def crps(pdf: Any, bin_edges: Any, z_spec: Any) -> np.ndarray:
    """Continuous ranked probability score of each histogram PDF, (N,), redshift units.

    CRPS = integral over z of (F(z) - H(z - z_spec))^2 dz, with F the exact
    piecewise-linear CDF (0 below bin_edges[0], 1 above bin_edges[-1]) and H the
    Heaviside step. On a bin of width w where F goes linearly from a to b,
    integral F^2 = w (a^2 + ab + b^2) / 3 (bins left of z_spec) and
    integral (1 - F)^2 = w ((1-a)^2 + (1-a)(1-b) + (1-b)^2) / 3 (bins right of it);
    the bin holding z_spec is split there at F(z_spec). A z_spec outside the grid
    adds its distance to the grid (F = 0 or 1 there, H the opposite). Lower is
    better; a delta PDF in a bin of width w centred on z_spec scores w / 12.
    (Treyer et al.'s discrete sum((cumsum p - cumsum y)^2) * bin_width differs.)
    """
    pdf, edges, z_spec = _check_pdf_inputs(pdf, bin_edges, z_spec)
    widths = np.diff(edges)
    out = np.empty(len(pdf))
    for rows in _row_chunks(len(pdf), pdf.shape[1]):
        b = _chunk_cdf(pdf[rows], rows.start)
        a = _cdf_before(b)
        zc, j = _locate(edges, z_spec[rows])
        r = np.arange(len(b))
        f_s = a[r, j] + (zc - edges[j]) / widths[j] * (b[r, j] - a[r, j])
        f2 = _square_integral(widths, a, b)
        g2 = f2 + widths * (1.0 - a - b)  # integral (1-F)^2 = w - integral 2F + integral F^2
        # cumulative sums over bins: the bins left (right) of j are a prefix (suffix)
        cum_f2 = np.cumsum(f2, axis=1)
        cum_g2 = np.cumsum(g2, axis=1)
        left = np.where(j > 0, cum_f2[r, j - 1], 0.0)
        right = cum_g2[:, -1] - cum_g2[r, j]
        split = (_square_integral(zc - edges[j], a[r, j], f_s)
                 + _square_integral(edges[j + 1] - zc, 1 - f_s, 1 - b[r, j]))
        out[rows] = left + right + split + np.abs(z_spec[rows] - zc)
    return out
