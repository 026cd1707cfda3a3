"""The shared entry point of the survey experiments.

``python -m experiments.hsc9 --fusion=early --scale=quick`` trains a 5-fold
ensemble on the survey's simulated sample (generated once and cached) or on
``--data``, and writes predictions, metrics and a report into ``--workdir``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile

from multimodal_photoz import flags
from multimodal_photoz.presets import SCALES, SURVEYS

CACHE_ENV = "PHOTOZ_CACHE"


def cache_dir() -> str:
    """Where simulated samples are kept: $PHOTOZ_CACHE or ~/.cache/multimodal_photoz."""
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache",
                                                     "multimodal_photoz")


def simulated_dataset(survey: str, n_objects: int, stamp: int, seed: int = 0) -> str:
    """Path of the cached simulated sample, simulating it on first use.

    The sample is written to a temporary directory and renamed into place, so
    an interrupted simulation is never mistaken for a finished one.
    """
    path = os.path.join(cache_dir(), "simulated", f"{survey}_n{n_objects}_stamp{stamp}_seed{seed}")
    if os.path.exists(path):
        return path
    from multimodal_photoz.simulate.cli import run as simulate_run

    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = tempfile.mkdtemp(dir=os.path.dirname(path), prefix=f".{survey}-")
    try:
        out = os.path.join(tmp, "data")
        simulate_run(argparse.Namespace(survey=survey, n=n_objects, seed=seed, out=out,
                                        stamp=stamp, workers=None, name=None))
        os.replace(out, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def parser(survey: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"python -m experiments.{survey}",
        description=f"{survey}: k-fold ensemble of a multimodal (or baseline) photo-z network")
    p.add_argument("--scale", default="quick", choices=sorted(SCALES),
                   help="paper: the paper's setup (accelerator); quick: ~minutes on a CPU; "
                        "smoke: seconds")
    p.add_argument("--data", default=None,
                   help="data set directory (default: the survey's simulated sample)")
    p.add_argument("--n-objects", type=int, default=None, help="simulated sample size")
    p.add_argument("--stamp", type=int, default=None, help="simulated stamp size")
    flags.add_model_flags(p)
    flags.add_run_flags(p)
    return p


def resolve(survey: str, argv=None):
    """Parses the flags; returns (RunConfig, workdir)."""
    from multimodal_photoz.data import open_dataset

    args = parser(survey).parse_args(argv)
    preset, scale = SURVEYS[survey], SCALES[args.scale]
    data = args.data or simulated_dataset(
        survey, args.n_objects or scale.n_objects or preset.paper_objects,
        args.stamp or scale.stamp)
    source = open_dataset(data)
    defaults = {**dataclasses.asdict(scale), "n_bins": scale.n_bins or preset.n_bins,
                "z_min": preset.z_min, "z_max": preset.z_max,
                "seeds": scale.seeds or preset.paper_seeds,
                "outlier_threshold": preset.outlier_threshold, "mag_limit": preset.mag_limit}
    config = flags.run_config_from_args(
        args, data=data, data_bands=source.bands, survey=survey, defaults=defaults,
        z_spec_max=float(source.catalogue()["z_spec"].max()))
    fusion = "baseline" if config.model.is_baseline else f"{args.fusion}_{args.fusion_type}"
    workdir = args.workdir or os.path.join("workdirs", f"{survey}_{args.scale}_{fusion}")
    return config, workdir


def console(survey: str, argv=None) -> int:
    """``python -m experiments.<survey>``: user errors as one line on stderr, status 2."""
    from multimodal_photoz.cli import USER_ERRORS

    try:
        main(survey, argv)
    except USER_ERRORS as err:
        print(f"experiments.{survey}: error: {err}", file=sys.stderr)
        return 2
    return 0


def main(survey: str, argv=None) -> dict:
    """Runs (or resumes) the experiment; returns its metrics."""
    from multimodal_photoz.ensemble import describe, train_and_evaluate

    config, workdir = resolve(survey, argv)
    print(f"{survey}: {describe(config)}; {len(config.folds_to_run())} folds x "
          f"{len(config.seeds)} seeds, {config.train.n_steps} steps each -> {workdir}",
          flush=True)
    metrics = train_and_evaluate(config, workdir)
    print(f"{workdir}: sigma_MAD {metrics['sigma_mad'] * 1e3:.2f}e-3, outliers "
          f"{metrics['outlier_fraction'] * 100:.2f}%, bias {metrics['bias'] * 1e3:.2f}e-3 "
          f"({metrics['n_objects']} objects; report {os.path.join(workdir, 'report.md')})")
    return metrics
