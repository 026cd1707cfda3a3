"""The shared entry point of the survey experiments.

``python -m experiments.hsc9 --fusion=early --scale=quick`` trains a k-fold
ensemble (3 folds at the quick scale) on the survey's simulated sample
(generated once and cached) or on ``--data``, and writes predictions, metrics
and a report into ``--workdir``.
The settings are the survey's preset (``experiments/configs/<survey>.py``), then
the named flags, then ``--set KEY=VALUE``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import tempfile

from experiments.configs.common import SCALES
from multimodal_photoz.config import flags

CACHE_ENV = "PHOTOZ_CACHE"


def cache_dir() -> str:
    """Where simulated samples are kept: $PHOTOZ_CACHE or ~/.cache/multimodal_photoz."""
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache",
                                                     "multimodal_photoz")


def simulated_dataset(survey: str, n_objects: int, stamp: int, seed: int = 0) -> str:
    """Path of the cached simulated sample of this simulator version, simulating it on
    first use.

    The sample is written to a temporary directory and renamed into place, so
    an interrupted simulation is never mistaken for a finished one.
    """
    from multimodal_photoz.simulate.simulate import SIMULATOR_VERSION

    # the simulator's version is part of the name: a newer simulator never reuses old samples
    path = os.path.join(cache_dir(), "simulated",
                        f"{survey}_sim{SIMULATOR_VERSION}_n{n_objects}_stamp{stamp}_seed{seed}")
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
    p.add_argument("--data", dest="data.path", default=None, metavar="DATA",
                   help="data set directory (default: the survey's simulated sample)")
    p.add_argument("--n-objects", dest="data.n_objects", type=int, default=None, metavar="N",
                   help="simulated sample size")
    p.add_argument("--stamp", dest="data.stamp", type=int, default=None, metavar="PIXELS",
                   help="simulated stamp size")
    p.add_argument("--workdir", default=None,
                   help="run directory (default: workdirs/<survey>_<scale>_<fusion>)")
    flags.add_flags(p)
    return p


def resolve(survey: str, argv=None):
    """Parses the flags; returns (RunConfig, workdir)."""
    from multimodal_photoz.config import defaults, merge
    from multimodal_photoz.run_cli import build_run_config

    args = parser(survey).parse_args(argv)
    preset = importlib.import_module(f"experiments.configs.{survey}").get_config(
        f"scale={args.scale}")
    given = {k: getattr(args, k) for k in ("data.path", "data.n_objects", "data.stamp")
             if getattr(args, k) is not None}
    settings = {**defaults(), **merge(preset, given, flags.settings_from_args(args))}
    if settings["data.path"]:  # the user's data: no simulated sample to describe
        data = settings["data.path"]
        settings["data.n_objects"] = None
    else:
        data = simulated_dataset(survey, settings["data.n_objects"], settings["data.stamp"],
                                 settings["data.seed"])
    config = build_run_config(settings, data)
    m = config.model
    fusion = "baseline" if m.is_baseline else f"{m.fusion}_{m.fusion_type}"
    workdir = args.workdir or os.path.join("workdirs", f"{survey}_{args.scale}_{fusion}")
    return config, workdir


def console(survey: str, argv=None) -> int:
    """``python -m experiments.<survey>``: user errors as one line on stderr, status 2."""
    from multimodal_photoz.cli import console_main

    def run(args) -> int:
        main(survey, args)
        return 0

    return console_main(run, argv, f"experiments.{survey}")


def main(survey: str, argv=None) -> dict:
    """Runs (or resumes) the experiment; returns its metrics."""
    from multimodal_photoz.ensemble import train_and_evaluate

    config, workdir = resolve(survey, argv)
    e = config.ensemble
    print(f"{survey}: {config.describe()}; {len(e.folds())} folds x {len(e.seeds)} seeds, "
          f"{config.train.n_steps} steps each -> {workdir}", flush=True)
    metrics = train_and_evaluate(config, workdir)
    if metrics:
        print(f"{workdir}: sigma_MAD {metrics['sigma_mad'] * 1e3:.2f}e-3, outliers "
              f"{metrics['outlier_fraction'] * 100:.2f}%, bias {metrics['bias'] * 1e3:.2f}e-3 "
              f"({metrics['n_objects']} objects; report {os.path.join(workdir, 'report.md')})")
    return metrics
