"""Fits the deep-field star-formation, dust and red-fraction constants to real g-z envelopes.

Nelder-Mead over the constants of ``multimodal_photoz.simulate.population``
(YOUNG_*, RED_FRACTION_*, SF_DUST_*) and ``morphology.INCLINATION_DUST``, minimizing, over
the ``hsc9`` and ``cfhtls`` presets and one or more seeds, the largest plus the rms
difference between the simulated and the real (``reference_colours``, weighted to the same
i-magnitude mix) 16th and 84th percentiles of g - z (i < 24) in the 16 redshift bins. Only
catalogues are simulated (no stamps). Prints every improvement: the objective, the largest
difference and all the constants (varied or not); the last line is what population.py and
morphology.py should hold. ``--n 0`` simulates each preset's own sample size (the paper's
object counts: 51,000 for hsc9, 108,500 for cfhtls); ``--only`` varies a subset of the
constants, ``--start`` sets some before the fit (e.g. to go on from a printed line).

    python scripts/fit_deep_field_colours.py [--n 8000] [--evaluations 200] [--seeds 0 1]
        [--only red_low_z red_z red_power] [--start NAME=VALUE ...]
"""

import argparse

import numpy as np
from scipy.optimize import minimize

from multimodal_photoz.simulate import colours, morphology, population

PARAMETERS = {  # name -> (module, attribute, initial step)
    "ln_amplitude": (population, "YOUNG_LN_AMPLITUDE", 0.5),
    "luminosity_slope": (population, "YOUNG_LUMINOSITY_SLOPE", 0.2),
    "sfh_power": (population, "YOUNG_SFH_POWER", 0.3),
    "ln_scatter": (population, "YOUNG_LN_SCATTER", 0.3),
    "ln_red_offset": (population, "YOUNG_LN_RED_OFFSET", 0.5),
    "max_fraction": (population, "YOUNG_MAX_FRACTION", -0.2),
    "red_low_z": (population, "RED_FRACTION_LOW_Z", 0.1),
    "red_z": (population, "RED_FRACTION_Z", 0.3),
    "red_power": (population, "RED_FRACTION_POWER", 1.0),
    "inclination_dust": (morphology, "INCLINATION_DUST", 0.01),
    "sf_dust_ebv": (population, "SF_DUST_EBV", 0.05),
    "sf_dust_young_slope": (population, "SF_DUST_YOUNG_SLOPE", 0.3),
    "sf_dust_luminosity_slope": (population, "SF_DUST_LUMINOSITY_SLOPE", 0.3),
}
SURVEYS = ("hsc9", "cfhtls")


def envelope_errors(n: int, seeds=(0,)) -> np.ndarray:
    """(seeds * surveys * bins * 2,) simulated - real g-z p16 and p84 (n = 0: each
    preset's own sample size)."""
    sim = [colours.gz_envelopes(colours.simulated_columns(s, colours.own_size(s, n), seed))
           for seed in seeds for s in SURVEYS]
    out = [e[:, [1, 3]] - colours.real_gz(s)[:, [1, 3]]
           for e, s in zip(sim, SURVEYS * len(seeds))]
    return np.concatenate(out).ravel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=8000,
                        help="objects per preset; 0: each preset's own size (51,000, 108,500)")
    parser.add_argument("--evaluations", type=int, default=200,
                        help="Nelder-Mead evaluations (each simulates every preset and seed)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="simulation seeds; the objective pools their differences")
    parser.add_argument("--only", nargs="+", choices=list(PARAMETERS), default=list(PARAMETERS),
                        help="vary only these constants (names as printed)")
    parser.add_argument("--start", nargs="*", default=[], metavar="NAME=VALUE",
                        help="start from these values instead of the modules' (names as printed)")
    args = parser.parse_args()
    for item in args.start:
        name, _, value = item.partition("=")
        if name not in PARAMETERS or not value:
            parser.error(f"--start {item!r}: expected NAME=VALUE with NAME in {list(PARAMETERS)}")
        module, attr, _ = PARAMETERS[name]
        setattr(module, attr, float(value))
    names = list(dict.fromkeys(args.only))
    x0 = np.array([getattr(*PARAMETERS[n][:2]) for n in names], float)
    simplex = [x0] + [x0 + np.eye(len(x0))[k] * PARAMETERS[n][2] for k, n in enumerate(names)]
    best = [np.inf]

    def objective(x):
        for name, value in zip(names, x):
            module, attr, _ = PARAMETERS[name]
            setattr(module, attr, float(value))
        if not (0 < population.RED_FRACTION_LOW_Z < 1 and population.YOUNG_LN_SCATTER >= 0
                and 0 < population.YOUNG_MAX_FRACTION < 1
                and population.RED_FRACTION_Z > 0 and morphology.INCLINATION_DUST >= 0
                and population.SF_DUST_EBV >= 0):
            return 1e3
        d = envelope_errors(args.n, args.seeds)
        d = d[np.isfinite(d)]
        value = np.abs(d).max() + np.sqrt(np.mean(d**2))
        if value < best[0]:
            best[0] = value
            print(f"objective {value:.3f} largest {np.abs(d).max():.3f} "
                  + " ".join(f"{n}={getattr(m, a):.4g}" for n, (m, a, _) in PARAMETERS.items()),
                  flush=True)
        return value

    minimize(objective, x0, method="Nelder-Mead",
             options={"maxfev": args.evaluations, "initial_simplex": np.array(simplex)})


if __name__ == "__main__":
    main()
