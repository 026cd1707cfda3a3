"""Metrics of dz = (z_phot - z_spec) / (1 + z_spec) (Sect. 5.1), the gain
(eq. 2), and the registry of metrics as callables of (z_phot, z_spec)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from multimodal_photoz.metrics._checks import _redshift_pair
from multimodal_photoz.surveys import SURVEYS

MAD_TO_SIGMA = 1.4826  # sigma of a Gaussian per unit median absolute deviation

OUTLIER_THRESHOLD = {name: s.outlier_threshold for name, s in SURVEYS.items()}

DEFAULT_OUTLIER_THRESHOLD = 0.15  # the paper's threshold for all surveys but SDSS


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
