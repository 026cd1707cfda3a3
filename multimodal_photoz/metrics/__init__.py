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
* ``paired_bootstrap_pvalue`` / ``paired_bootstrap``: Appendix D's test, by
  default one-sided in the observed direction (``ALTERNATIVES``).
* ``pit`` and ``crps`` of histogram PDFs, exact for the piecewise-linear CDF.

Redshifts are dimensionless; every metric returns a Python float.
"""

from multimodal_photoz.metrics.residuals import (  # noqa: F401
    DEFAULT_OUTLIER_THRESHOLD,
    MAD_TO_SIGMA,
    METRICS,
    MeanOfDeltaZ,
    OUTLIER_THRESHOLD,
    SigmaMAD,
    bias,
    delta_z,
    gain,
    metric_functions,
    outlier_fraction,
    sigma_mad,
    survey_metrics,
)
from multimodal_photoz.metrics.pdf import (  # noqa: F401
    crps,
    pdf_mean,
    pdf_median,
    pdf_mode,
    pdf_quantile,
    pit,
)
from multimodal_photoz.metrics.binning import (  # noqa: F401
    binned,
    binned_by_fold,
    equal_count_edges,
)
from multimodal_photoz.metrics.bootstrap import (  # noqa: F401
    ALTERNATIVES,
    N_RESAMPLES,
    PairedBootstrap,
    paired_bootstrap,
    paired_bootstrap_pvalue,
)
