"""Published numbers shown beside ours, always labelled as published.

Table 2 of Ait Ouahmed et al. 2024 (SDSS MGS, r <= 17.8), as listed in
``prior-networks.md``: sigma_MAD and bias as fractions, outlier fraction as a
fraction (the paper prints 10^-3, % and 10^-3). These are other groups' (and the
paper's) results on the real SDSS sample, not runs of this code.
"""

from __future__ import annotations

# block -> row label -> {metric: value}; metrics in the units of metrics.json
PUBLISHED: dict[str, dict[str, dict[str, float]]] = {
    "table2": {
        "P19 (published)": {"sigma_mad": 9.08e-3, "outlier_fraction": 0.31e-2, "bias": 0.04e-3},
        "Dey et al. 2022 (published)": {"sigma_mad": 8.98e-3, "outlier_fraction": 0.19e-2,
                                        "bias": 0.07e-3},
        "Hayat et al. 2021 (published)": {"sigma_mad": 8.25e-3, "outlier_fraction": 0.21e-2,
                                          "bias": 0.1e-3},
        "Treyer et al. 2024 (published)": {"sigma_mad": 8.00e-3, "outlier_fraction": 0.18e-2,
                                           "bias": -0.31e-3},
        "Multimodal network (published, the paper)": {"sigma_mad": 7.85e-3,
                                                      "outlier_fraction": 0.16e-2,
                                                      "bias": 0.31e-3},
    },
}
SOURCE = "Ait Ouahmed et al. 2024, A&A 683, A26, Table 2 (the real SDSS MGS)"
