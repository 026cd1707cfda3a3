"""Simulated colours against real galaxies, per redshift bin.

- Deep fields (``cfhtls``, ``hsc6``, ``hsc9``): the 16th, 50th and 84th percentiles of
  g - z for i < 24 against the HSC PDR2 spectroscopic sample (``reference_colours``),
  its galaxies weighted to the simulated population's i-magnitude mix (colours at fixed
  redshift depend on luminosity; the sample as it is, unweighted, is printed beside).
- SDSS: the median u-g, g-r, r-i, i-z against the real SDSS main-sample galaxies
  shipped with kcorrect (the SED library's own galaxies, observed model magnitudes).

Only the catalogue is simulated (no stamps are rendered), so 100,000 objects take
seconds. By default each deep preset simulates its own sample size (the paper's object
counts: 108,500 for ``cfhtls``, 51,000 for ``hsc6`` and ``hsc9``), and ``sdss`` 20,000.

    python -m multimodal_photoz.simulate.colours [--n N] [--seed 0] [--figure PATH]
"""

from __future__ import annotations

import argparse

import numpy as np

from multimodal_photoz.simulate.reference_colours import (HSC_PDR2_GZ, MAG_LIMIT_I,
                                                           MAGNITUDE_MATCHED)

DEEP_SURVEYS = ("cfhtls", "hsc6", "hsc9")
SDSS_COLOURS = ("ug", "gr", "ri", "iz")
SDSS_DEFAULT_N = 20000
SDSS_Z_EDGES = np.round(np.arange(0.0, 0.31, 0.05), 2)
SDSS_R_OVER_EBV_UGRIZ = np.array([5.155, 3.793, 2.751, 2.086, 1.479])  # Schlegel et al. 1998
MIN_OBJECTS = 30  # fewer simulated objects in a bin: no percentile is quoted


def own_size(survey: str, n: int | None = None) -> int:
    """``n``, or where it is None or 0 the preset's own sample size (the paper's object
    count: 51,000 for ``hsc6`` and ``hsc9``, 108,500 for ``cfhtls``)."""
    from multimodal_photoz.surveys import get_survey

    return n or get_survey(survey).paper_objects


def simulated_columns(survey: str, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The catalogue columns (z_spec, mag_<band>, ...) of ``n`` simulated objects."""
    from multimodal_photoz.simulate.simulate import build_scenes
    from multimodal_photoz.simulate.surveys import get_survey

    return build_scenes(get_survey(survey), n, seed, 64)[1]


def gz_envelopes(columns: dict[str, np.ndarray]) -> np.ndarray:
    """(B, 4) objects, g-z p16, p50, p84 of i < 24 objects in the reference's z bins
    (NaN percentiles where fewer than ``MIN_OBJECTS``)."""
    gz = columns["mag_g"] - columns["mag_z"]
    z = columns["z_spec"]
    ok = (columns["mag_i"] < MAG_LIMIT_I) & np.isfinite(gz)
    out = np.full((len(HSC_PDR2_GZ), 4), np.nan)
    for k, (lo, hi, *_) in enumerate(HSC_PDR2_GZ):
        sel = ok & (z >= lo) & (z < hi)
        out[k, 0] = sel.sum()
        if sel.sum() >= MIN_OBJECTS:
            out[k, 1:] = np.percentile(gz[sel], [16, 50, 84])
    return out


def real_gz(survey: str | None = None) -> np.ndarray:
    """(B, 4) objects, g-z p16, p50, p84 of the real sample, weighted to ``survey``'s
    i-magnitude mix (None: unweighted)."""
    if survey is None:
        return np.array([row[2:] for row in HSC_PDR2_GZ], np.float64)
    from multimodal_photoz.simulate.surveys import get_survey

    rows = MAGNITUDE_MATCHED[get_survey(survey).population]
    return np.array([row[2:] for row in rows], np.float64)


def _median_colours(z: np.ndarray, mags: np.ndarray) -> np.ndarray:
    """(B, 4) median adjacent colours of (N, 5) ugriz magnitudes in ``SDSS_Z_EDGES`` bins."""
    colours = mags[:, :-1] - mags[:, 1:]
    out = np.full((len(SDSS_Z_EDGES) - 1, 4), np.nan)
    for k, (lo, hi) in enumerate(zip(SDSS_Z_EDGES[:-1], SDSS_Z_EDGES[1:])):
        sel = (z >= lo) & (z < hi) & np.all(np.isfinite(colours), axis=1)
        if sel.sum() >= MIN_OBJECTS:
            out[k] = np.median(colours[sel], axis=0)
    return out


def sdss_medians(columns: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(simulated, real) (B, 4) median u-g, g-r, r-i, i-z per redshift bin of the SDSS
    preset and of the real main-sample galaxies (Petrosian r <= 17.8, as the preset cuts),
    both with Galactic extinction (A_band = R_band E(B-V), Schlegel et al. 1998)."""
    from multimodal_photoz.simulate.library import _read_sdss_sample
    from multimodal_photoz.simulate.seds import ab_mag

    z, flux, _, petro_r, ebv = _read_sdss_sample()  # extinction-corrected AB fluxes
    ok = np.all(flux > 0, axis=1) & (petro_r > 0)
    real = ab_mag(flux[ok]) + SDSS_R_OVER_EBV_UGRIZ * ebv[ok, None]
    bright = ab_mag(petro_r[ok]) <= 17.8
    sim = np.stack([columns[f"mag_{b}"] for b in "ugriz"], axis=1)
    return _median_colours(columns["z_spec"], sim), _median_colours(z[ok][bright], real[bright])


def _figure(path: str, results: dict[str, np.ndarray]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    centres = np.array([(lo + hi) / 2 for lo, hi, *_ in HSC_PDR2_GZ])
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.6), sharey=True)
    for ax, (survey, sim) in zip(np.atleast_1d(axes), results.items()):
        real = real_gz(survey)
        ax.fill_between(centres, real[:, 1], real[:, 3], color="0.8",
                        label="HSC PDR2 spec-z p16-p84 (same i mix)")
        ax.plot(centres, real[:, 2], color="k", label="HSC PDR2 median (same i mix)")
        for col, style in ((1, "--"), (2, "-"), (3, "--")):
            ax.plot(centres, sim[:, col], style, color="C3",
                    label=f"{survey} simulated" if col == 2 else None)
        ax.set_title(f"{survey}, i < 24")
        ax.set_xlabel("redshift")
    np.atleast_1d(axes)[0].set_ylabel("g - z (AB)")
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m multimodal_photoz.simulate.colours",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None,
                        help="objects per preset (default or 0: each deep preset's own size, "
                             f"{SDSS_DEFAULT_N} for sdss)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", default=None, help="PNG of the g-z envelopes")
    args = parser.parse_args(argv)
    results = {}
    for survey in DEEP_SURVEYS:
        n = own_size(survey, args.n)
        sim = results[survey] = gz_envelopes(simulated_columns(survey, n, args.seed))
        real = real_gz(survey)
        delta = sim[:, 1:] - real[:, 1:]
        print(f"{survey}, {n} objects: g-z, simulated - real of the same i mix "
              "(p16 / p50 / p84), i < 24")
        for (lo, hi, *_), s, r, d in zip(HSC_PDR2_GZ, sim, real, delta):
            print(f"  z {lo:.1f}-{hi:.1f}  n={int(s[0]):5d}  sim {s[1]:5.2f} {s[2]:5.2f} {s[3]:5.2f}"
                  f"  real {r[1]:5.2f} {r[2]:5.2f} {r[3]:5.2f}  d {d[0]:+.2f} {d[1]:+.2f} {d[2]:+.2f}")
        print(f"  largest |d| of the envelopes: {np.nanmax(np.abs(delta[:, [0, 2]])):.2f} mag "
              f"(against the sample unweighted: "
              f"{np.nanmax(np.abs(sim[:, [1, 3]] - real_gz()[:, [1, 3]])):.2f})")
    n = args.n or SDSS_DEFAULT_N
    sim, real_sdss = sdss_medians(simulated_columns("sdss", n, args.seed))
    print(f"sdss, {n} objects: median colour, simulated - real (u-g, g-r, r-i, i-z)")
    for lo, hi, d in zip(SDSS_Z_EDGES[:-1], SDSS_Z_EDGES[1:], sim - real_sdss):
        print(f"  z {lo:.2f}-{hi:.2f}  " + "  ".join(f"{c}: {x:+.3f}" for c, x in zip(SDSS_COLOURS, d)))
    if args.figure:
        _figure(args.figure, results)
        print(f"figure: {args.figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
