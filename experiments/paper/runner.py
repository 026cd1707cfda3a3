"""Running an experiment: train (or resume, or skip) each of its runs, then call its writer.

Each run is ``experiments.common.main(survey, argv)`` in the workdir that
``workdirs.workdir_for`` derives from the run, so re-running an experiment, or
another one that shares a run, skips what is finished: a run whose members have
all finished and whose ``predictions.h5`` covers the folds asked for is not
opened again (``is_finished``); any other is resumed member by member.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np

from experiments import common
from experiments.paper import workdirs
from experiments.paper.registry import Experiment, RunSpec
from multimodal_photoz.config import RunConfig, claim_workdir, data_fingerprint
from multimodal_photoz.metrics import N_RESAMPLES


@dataclasses.dataclass(frozen=True)
class RunResult:
    """One finished run of an experiment.

    Attributes:
      label: the experiment's label of the run; spec: survey and flags.
      argv: every flag given to ``experiments.common`` (scale, extras, workdir).
      workdir: the run directory; config: its ``RunConfig``.
      metrics: the content of its ``metrics.json``.
      folds: the folds its ``predictions.h5`` covers.
      status: ``trained`` (this invocation ran or resumed it) or ``skipped``.
    """

    label: str
    spec: RunSpec
    argv: tuple[str, ...]
    workdir: str
    config: RunConfig
    metrics: dict[str, Any]
    folds: tuple[int, ...]
    status: str

    @property
    def predictions_path(self) -> str:
        return os.path.join(self.workdir, "predictions.h5")


@dataclasses.dataclass(frozen=True)
class Context:
    """What a writer gets: the experiment, its finished runs and where to write."""

    experiment: Experiment
    scale: str
    out_dir: str
    runs: Mapping[str, RunResult]
    resamples: int = N_RESAMPLES
    command: str = ""  # the command that reproduces these outputs

    def path(self, suffix: str) -> str:
        """``<out_dir>/<experiment name><suffix>``, e.g. ``fig10.png``."""
        return os.path.join(self.out_dir, f"{self.experiment.name}{suffix}")


def predicted_folds(path: str) -> tuple[int, ...]:
    """The folds of the objects in a ``predictions.h5`` (only its ``fold`` column is read)."""
    with h5py.File(path, "r") as f:
        return tuple(int(x) for x in np.unique(f["fold"][()]))


def is_finished(config: RunConfig, workdir: str) -> bool:
    """True when every member of ``config`` has finished and the run's outputs cover
    its folds. Raises ValueError (the workdir guard) if ``workdir`` holds another run."""
    from multimodal_photoz.checkpoints import read_finished
    from multimodal_photoz.data import open_dataset
    from multimodal_photoz.predict import members_of

    outputs = [os.path.join(workdir, name) for name in ("metrics.json", "predictions.h5")]
    if not all(os.path.exists(p) for p in outputs):
        return False
    claim_workdir(workdir, config, data_fingerprint(open_dataset(config.data.path)))
    if any(read_finished(os.path.join(m.directory(workdir), "checkpoints")) is None
           for m in members_of(config)):
        return False
    return set(config.ensemble.folds()) <= set(predicted_folds(outputs[1]))


def run_argv(spec: RunSpec, scale: str, runs_root: str, extra: Sequence[str] = (),
             data: Mapping[str, str] | None = None) -> tuple[list[str], str]:
    """The flags of ``python -m experiments.<survey>`` for ``spec``, and its workdir."""
    path = (data or {}).get(spec.survey)
    argv = [f"--scale={scale}", *spec.argv, *extra, *([f"--data={path}"] if path else [])]
    workdir = workdirs.workdir_for(spec.survey, scale, argv[1:], runs_root, data=path)
    return [*argv, f"--workdir={workdir}"], workdir


def ensure_run(label: str, spec: RunSpec, scale: str, runs_root: str, extra: Sequence[str] = (),
               data: Mapping[str, str] | None = None) -> RunResult:
    """Trains, resumes or skips one run; returns it finished."""
    argv, workdir = run_argv(spec, scale, runs_root, extra, data)
    config, _ = common.resolve(spec.survey, argv)
    status = "skipped" if is_finished(config, workdir) else "trained"
    if status == "trained":
        common.main(spec.survey, argv)
    with open(os.path.join(workdir, "metrics.json")) as f:
        metrics = json.load(f)
    folds = predicted_folds(os.path.join(workdir, "predictions.h5"))
    return RunResult(label=label, spec=spec, argv=tuple(argv), workdir=workdir, config=config,
                     metrics=metrics, folds=folds, status=status)


def ensure_runs(experiment: Experiment, scale: str, runs_root: str, extra: Sequence[str] = (),
                data: Mapping[str, str] | None = None) -> dict[str, RunResult]:
    """Every run of ``experiment``, in its order (a run listed twice is run once)."""
    done: dict[str, RunResult] = {}
    out = {}
    for k, (label, spec) in enumerate(experiment.runs.items()):
        workdir = run_argv(spec, scale, runs_root, extra, data)[1]
        if workdir not in done:
            done[workdir] = ensure_run(label, spec, scale, runs_root, extra, data)
        out[label] = dataclasses.replace(done[workdir], label=label)
        print(f"[{experiment.name}] run {k + 1}/{len(experiment.runs)} {label!r}: "
              f"{out[label].status} ({workdir})", flush=True)
    return out


def command(name: str, scale: str, out_dir: str, runs_root: str, extra: Sequence[str] = (),
            data: Mapping[str, str] | None = None, resamples: int = N_RESAMPLES) -> str:
    """``python -m experiments.paper --run NAME ...`` with every option that was given."""
    words = ["python", "-m", "experiments.paper", "--run", name, "--scale", scale,
             "--out", out_dir]
    words += ["--runs-root", runs_root] if runs_root != workdirs.DEFAULT_RUNS_ROOT else []
    words += [w for survey, path in (data or {}).items() for w in ("--data", f"{survey}={path}")]
    words += ["--resamples", str(resamples)] if resamples != N_RESAMPLES else []
    return shlex.join(words + (["--", *extra] if extra else []))


def run_experiment(experiment: Experiment, scale: str = "quick", out_dir: str | None = None,
                   runs_root: str = workdirs.DEFAULT_RUNS_ROOT, extra: Sequence[str] = (),
                   data: Mapping[str, str] | None = None, resamples: int = N_RESAMPLES
                   ) -> dict[str, Any]:
    """Runs (or resumes) every run of ``experiment`` and writes its figure, table and
    JSON into ``out_dir`` (default ``workdirs/paper/<name>``); returns the JSON's content.

    Args:
      scale: ``paper``, ``quick`` or ``smoke`` (``experiments/configs/common.py``).
      extra: flags appended to every run (``--only-folds=0``, ``--set=...``); those
        that change a result are part of the runs' workdir names.
      data: survey -> data set directory, instead of the survey's simulated sample.
      resamples: paired-bootstrap resamples of Table 3 and Fig. D.1.
    """
    from experiments.paper import outputs, writers

    out_dir = out_dir or os.path.join("workdirs", "paper", experiment.name)
    runs = ensure_runs(experiment, scale, runs_root, extra, data)
    os.makedirs(out_dir, exist_ok=True)
    ctx = Context(experiment=experiment, scale=scale, out_dir=out_dir, runs=runs,
                  resamples=resamples,
                  command=command(experiment.name, scale, out_dir, runs_root, extra, data,
                                  resamples))
    written = writers.WRITERS[experiment.writer](ctx, **experiment.options)
    return outputs.write_outputs(ctx, written)
