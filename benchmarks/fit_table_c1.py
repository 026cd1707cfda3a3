"""Widths of the paper's networks, fitted to the parameter counts of its Table C.1.

Usage: python benchmarks/fit_table_c1.py

Prints (1) what the table's rows say by differences alone (the cost of one
modality and the shared part), (2) the least-squares fit of the branch and trunk
widths with the inception block of the code, head 96, two FC 1024 and 1000 bins,
(3) the integer widths around the fit that best match the table with the
network's own roundings, and (4) the rows at the widths of the ``table_c1``
rule beside ``count_params`` of the real network (the closed form below is
checked against it).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.optimize import least_squares

from multimodal_photoz.model import count_params, make_config
from multimodal_photoz.model.backbones import BACKBONES
from multimodal_photoz.model.network import DENSE_UNITS
from multimodal_photoz.model.trunk import TABLE_C1_WIDTHS
from param_counts import TABLE_C1  # benchmarks/ is on the path when run as a script

BANDS = "ugrizyjhk"
N_BINS = 1000
HEAD = 96  # the 96 one-by-one maps of Sect. 3.2
DEPTHS = BACKBONES["inception"].fusion_depth


def conv(size: int, c_in: float, c_out: float) -> float:
    return size * size * c_in * c_out + c_out


def inception(c_in: float, k: float, integer: bool) -> tuple[float, float]:
    """(parameters, output channels) of the Treyer block on k filters."""
    reduce, b1 = (int(0.65 * k), int(0.7 * k)) if integer else (0.65 * k, 0.7 * k)
    n = 3 * conv(1, c_in, reduce) + conv(1, c_in, b1) + conv(5, reduce, k) + conv(3, reduce, k)
    return n, 2 * k + reduce + b1


def network_params(sizes: list[int], depth: int, stem_per_band: float, k_per_band: float,
                   trunk_k: float, integer: bool = False) -> float:
    """Parameters of the network whose branches (one per modality size in
    ``sizes``) run the stem and ``depth`` blocks with filters proportional to
    the size, before a common trunk of k = ``trunk_k`` filters."""
    rnd = (lambda x: float(round(x))) if integer else (lambda x: x)
    total, fused = 0.0, 0.0
    for s in sizes:
        f = rnd(stem_per_band * s)
        total += conv(5, s, f) + 1 + conv(3, f, f)  # 5x5, PReLU slope, 3x3
        c = f
        for _ in range(depth):
            n, c = inception(c, rnd(k_per_band * s), integer)
            total += n
        fused += c
    c = fused
    for _ in range(depth, 8):
        n, c = inception(c, rnd(trunk_k), integer)
        total += n
    total += conv(3, c, HEAD) + 2 * conv(3, HEAD, HEAD)
    total += (HEAD + 1) * DENSE_UNITS + DENSE_UNITS + DENSE_UNITS ** 2 + DENSE_UNITS
    total += DENSE_UNITS * N_BINS + N_BINS + DENSE_UNITS + 1  # PDF and regression heads
    return total


def residuals_at(data, paper: np.ndarray, widths, integer: bool = True) -> np.ndarray:
    """Counts of the rows at ``widths`` = (stem per band, k per band, trunk k)
    minus the paper's."""
    return np.array([network_params(sizes, depth, *widths, integer=integer)
                     for _, _, sizes, depth in data]) - paper


def rows() -> list[tuple[str, float, list[int], int]]:
    """(label, paper count in 1e6, modality sizes, fusion depth) of each row."""
    out = []
    for label, paper, kwargs in TABLE_C1:
        config = make_config(BANDS, n_bins=N_BINS, **kwargs)
        sizes = [len(m) for m in config.resolved_modalities()]
        out.append((label, paper, sizes, DEPTHS[config.fusion]))
    return out


def by_differences(table: dict[str, float]) -> None:
    """The per-modality costs and the shared part, from the table's numbers alone."""
    two = table["early fusion 1st order, 2 bands"]  # 8 modalities
    per_2band = [(table["early fusion 2 bands, 1st and 2nd order"] - two) / 7,
                 (table["early fusion 2 bands, 1st, 2nd and 3rd order"] - two) / 13,
                 (table["early fusion 2 bands, 2nd and 3rd order"] - two) / 5]
    cost2 = float(np.mean(per_2band))
    shared = two - 8 * cost2
    print("one 2-band modality, from the three 'orders' rows: "
          + ", ".join(f"{c:.4f}M" for c in per_2band) + f" -> {cost2:.4f}M")
    print(f"shared part: 12.51 - 8 x {cost2:.4f} = {shared:.3f}M")
    sizes = np.arange(1, 6)
    counts = [9, 8, 7, 6, 5]  # first-order modalities of size s among nine bands
    cost = np.array([(table[f"early fusion 1st order, {s} band{'s' if s > 1 else ''}"] - shared) / m
                     for s, m in zip(sizes, counts)])
    (a, b), *_ = np.linalg.lstsq(np.stack([sizes ** 2, sizes], 1), cost, rcond=None)
    fit = a * sizes ** 2 + b * sizes
    print("per-modality cost, sizes 1..5: " + ", ".join(f"{c:.3f}" for c in cost)
          + f"M = {a:.4f} s^2 + {b:.4f} s (largest miss {np.abs(fit - cost).max():.4f}M)")
    print(f"s = 9: {a * 81 + b * 9:.2f}M; shared + s = 9: {shared + a * 81 + b * 9:.2f}M "
          f"(paper's baseline {table['Baseline']:.2f}M)")


def main():
    table = {label: paper for label, paper, _ in TABLE_C1}
    by_differences(table)
    data = rows()
    paper = np.array([p for _, p, _, _ in data]) * 1e6

    fit = least_squares(lambda theta: residuals_at(data, paper, theta, integer=False),
                        x0=[40.0, 40.0, 150.0], x_scale=[10.0, 10.0, 30.0])
    rms = np.sqrt(np.mean(fit.fun ** 2)) / 1e6
    stem, k, trunk = fit.x
    print(f"\nleast squares, 14 rows: branch stem {stem:.2f} s, branch k {k:.2f} s, "
          f"trunk k {trunk:.2f}; RMS {rms:.4f}M, largest miss {np.abs(fit.fun).max() / 1e6:.4f}M")

    # The network floors the 1x1 widths (int(0.65 k), int(0.7 k)), so the
    # integers are chosen by the real counts around the continuous fit.
    candidates = []
    for widths in itertools.product(*[range(math.floor(x) - 1, math.ceil(x) + 2) for x in fit.x]):
        miss = residuals_at(data, paper, widths)
        candidates.append((np.sqrt(np.mean(miss ** 2)) / 1e6, np.abs(miss / paper).max(), widths))
    candidates.sort()
    print("integer widths (stem per band, k per band, trunk k) by RMS of the real counts:")
    for rms, worst, widths in candidates[:4]:
        print(f"  {widths}: RMS {rms:.4f}M, largest relative miss {worst:.2%}")

    w = TABLE_C1_WIDTHS
    print(f"\nthe table_c1 rule: branch stem {w.stem_per_band} s, "
          f"branch k {w.k_per_band} s, trunk k {w.trunk_k}")
    print("| configuration | paper (1e6) | closed form (1e6) | count_params (1e6) | ratio |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for (label, p, sizes, depth), (_, _, kwargs) in zip(data, TABLE_C1):
        closed = network_params(sizes, depth, w.stem_per_band, w.k_per_band, w.trunk_k,
                                integer=True)
        ours = count_params(make_config(BANDS, n_bins=N_BINS, **kwargs))
        assert closed == ours, (label, closed, ours)  # the closed form is the network's
        worst = max(worst, abs(ours / (p * 1e6) - 1))
        print(f"| {label} | {p:.2f} | {closed / 1e6:.3f} | {ours / 1e6:.3f} | "
              f"{ours / (p * 1e6):.4f} |")
    print(f"largest relative miss: {worst:.2%}")


if __name__ == "__main__":
    main()
