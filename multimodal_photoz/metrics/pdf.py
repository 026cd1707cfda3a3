"""Point estimates, PIT and CRPS of histogram PDFs.

A PDF is a histogram: row ``n`` of ``pdf`` (N, n_bins) holds probabilities
``p_i`` spread uniformly over bin ``i`` of ``bin_edges`` (n_bins + 1,), so its
CDF is piecewise linear. The paper's point estimate (Sect. 5.1) is the median.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from multimodal_photoz.metrics._checks import (
    _as_1d,
    _cdf_before,
    _check_edges,
    _check_pdf,
    _chunk_cdf,
    _chunk_probabilities,
    _row_chunks,
    _same_length,
)


def pdf_median(pdf: Any, bin_edges: Any) -> np.ndarray:
    """Median of each histogram PDF: the paper's point estimate z_phot (Sect. 5.1).

    The redshift where the piecewise-linear CDF reaches 0.5 (``pdf_quantile``).

    Args:
      pdf: (N, n_bins) non-negative probabilities; each row is divided by its sum.
      bin_edges: (n_bins + 1,) strictly increasing redshift bin edges.
    Returns:
      (N,) float64 redshifts.
    """
    return pdf_quantile(pdf, bin_edges, 0.5)


def pdf_quantile(pdf: Any, bin_edges: Any, q: float) -> np.ndarray:
    """The ``q`` quantile of each histogram PDF: the redshift where the
    piecewise-linear CDF first reaches ``q``, interpolated linearly inside the
    bin where it crosses (probability is uniform in a bin).

    Args:
      pdf: (N, n_bins) non-negative probabilities; each row is divided by its sum.
      bin_edges: (n_bins + 1,) strictly increasing redshift bin edges.
      q: in (0, 1]; 0.5 is the median, 0.16 and 0.84 bound the central 68%.
    Returns:
      (N,) float64 redshifts.
    """
    if not 0.0 < q <= 1.0:
        raise ValueError(f"q: a quantile must be in (0, 1], got {q}")
    edges = _check_edges(bin_edges)
    pdf = _check_pdf(pdf, edges)
    out = np.empty(len(pdf))
    for rows in _row_chunks(len(pdf), pdf.shape[1]):
        cdf = _chunk_cdf(pdf[rows], rows.start)
        j = np.argmax(cdf >= q, axis=1)  # first bin whose right-edge CDF reaches q
        r = np.arange(len(cdf))
        before = np.where(j > 0, cdf[r, j - 1], 0.0)
        frac = (q - before) / (cdf[r, j] - before)  # > 0 denominator: CDF rises in bin j
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
