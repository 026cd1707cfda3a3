"""Metrics, figures and Markdown reports of one run, and the baseline-vs-multimodal
comparison of the paper's Table 3 (with Appendix D's paired bootstrap test).

* :mod:`.evaluation`: :func:`evaluate` -> the content of ``metrics.json`` (point
  estimate z_phot = PDF median, Sect. 5.1; optional i <= 24 selection, Sect. 3.4).
* :mod:`.figures`: one function per figure (matplotlib object API).
* :mod:`.run_report`: :func:`write_run_report` / :func:`write_report` ->
  ``metrics.json``, ``report.md`` and ``figures/*.png``.
* :mod:`.comparison`: :func:`compare` / :func:`write_comparison` ->
  ``comparison.json``, ``comparison.md`` and the Fig. D.1 / Fig. 2 style figures;
  :mod:`.table3`: :func:`format_table3`.

Every file is written atomically through :mod:`multimodal_photoz.files`.
"""

from multimodal_photoz.files import to_jsonable
from multimodal_photoz.report.comparison import align_by_id, compare, write_comparison
from multimodal_photoz.report.evaluation import (
    METRIC_NAMES,
    N_BINS,
    PER_OBJECT,
    POINT_ESTIMATES,
    binned_summary,
    evaluate,
    evaluate_with_mask,
    mag_i_values,
    n_of_z,
    pit_summary,
    select,
    selection_mask,
)
from multimodal_photoz.report.figures import (
    FIGURE_DIR,
    plot_binned,
    plot_bootstrap,
    plot_n_of_z,
    plot_pit,
    plot_training_curves,
    plot_zphot_zspec,
)
from multimodal_photoz.report.run_report import write_report, write_run_report
from multimodal_photoz.report.table3 import TABLE3_COLUMNS, format_p, format_table3

__all__ = [
    "FIGURE_DIR", "METRIC_NAMES", "N_BINS", "PER_OBJECT", "POINT_ESTIMATES", "TABLE3_COLUMNS",
    "align_by_id", "binned_summary", "compare", "evaluate", "evaluate_with_mask", "format_p",
    "format_table3", "mag_i_values", "n_of_z", "pit_summary", "plot_binned", "plot_bootstrap",
    "plot_n_of_z", "plot_pit", "plot_training_curves", "plot_zphot_zspec", "select",
    "selection_mask", "to_jsonable", "write_comparison", "write_report", "write_run_report",
]
