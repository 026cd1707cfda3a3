"""Trainable parameters of the rows of the paper's Table C.1, beside the paper's counts.

Usage: python benchmarks/param_counts.py [--width 1.0] [--n-bins 1000]
       [--branch-width table_c1|sqrt|linear]

Nine bands (ugrizyjhk), 64x64 stamps, the hsc9 preset's 1000 bins.
"""

from __future__ import annotations

import argparse

from multimodal_photoz.model import ModelConfig, count_params, make_config
from multimodal_photoz.model.trunk import BRANCH_WIDTHS

# (label, paper count in millions, config arguments)
TABLE_C1 = [
    ("Baseline", 19.03, dict(modality_size=None)),
    ("2 bands 1st order, extremely early fusion", 9.52, dict(modality_size=2, fusion="extremely_early")),
    ("2 bands 1st order, very early fusion", 11.16, dict(modality_size=2, fusion="very_early")),
    ("2 bands 1st order, early fusion", 12.51, dict(modality_size=2, fusion="early")),
    ("2 bands 1st order, middle fusion", 15.22, dict(modality_size=2, fusion="middle")),
    ("2 bands 1st order, late fusion", 17.94, dict(modality_size=2, fusion="late")),
    ("early fusion 1st order, 1 band", 8.80, dict(modality_size=1)),
    ("early fusion 1st order, 2 bands", 12.51, dict(modality_size=2)),
    ("early fusion 1st order, 3 bands", 17.23, dict(modality_size=3)),
    ("early fusion 1st order, 4 bands", 22.11, dict(modality_size=4)),
    ("early fusion 1st order, 5 bands", 26.29, dict(modality_size=5)),
    ("early fusion 2 bands, 1st and 2nd order", 17.37, dict(modality_size=2, orders=(1, 2))),
    ("early fusion 2 bands, 1st, 2nd and 3rd order", 21.54, dict(modality_size=2, orders=(1, 2, 3))),
    ("early fusion 2 bands, 2nd and 3rd order", 15.98, dict(modality_size=2, orders=(2, 3))),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--n-bins", type=int, default=1000)
    parser.add_argument("--branch-width", default=ModelConfig.branch_width,
                        choices=sorted(BRANCH_WIDTHS))
    args = parser.parse_args(argv)
    print(f"| configuration (ugrizyjhk, 64x64, {args.n_bins} bins) | paper (1e6) | "
          f"ours, {args.branch_width}, width {args.width:g} (1e6) | ours / paper |")
    print("|---|---|---|---|")
    worst = 0.0
    for label, paper, kwargs in TABLE_C1:
        config = make_config("ugrizyjhk", width=args.width, n_bins=args.n_bins,
                             branch_width=args.branch_width, **kwargs)
        ours = count_params(config) / 1e6
        worst = max(worst, abs(ours / paper - 1))
        print(f"| {label} | {paper:.2f} | {ours:.2f} | {ours / paper:.3f} |")
    print(f"\nlargest relative difference: {worst:.2%}")


if __name__ == "__main__":
    main()
