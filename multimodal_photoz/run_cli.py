"""``photoz train | predict | evaluate | compare``: the run-level subcommands."""

from __future__ import annotations

import argparse
import os

import numpy as np

from multimodal_photoz.config import EvaluationConfig, flags
from multimodal_photoz.metrics import ALTERNATIVES, N_RESAMPLES
from multimodal_photoz.predict_stream import DEFAULT_CHUNK_SIZE


def build_run_config(settings: dict, data: str):
    """The ``RunConfig`` of ``settings`` on the data set at ``data`` (``photoz train``,
    the RAIL informer and ``python -m experiments.*``).

    Raises:
      ValueError: the data set is unlabelled (no spectroscopic redshifts to train on).
    """
    from multimodal_photoz.config import build
    from multimodal_photoz.data import open_dataset
    from multimodal_photoz.data.format import ids as id_kinds

    source = open_dataset(data)
    source.check_labelled()
    catalogue = source.catalogue()
    z = np.asarray(catalogue["z_spec"], np.float64)
    largest = int(np.argmax(z))
    return build({**settings, "data.path": data}, data_bands=source.bands,
                 z_spec_max=float(z[largest]),
                 z_spec_max_id=id_kinds.python_value(catalogue["id"][largest]))


def format_metrics(metrics: dict, where: str) -> str:
    return (f"{where}: sigma_MAD {metrics['sigma_mad'] * 1e3:.2f}e-3, outliers "
            f"{metrics['outlier_fraction'] * 100:.2f}%, bias {metrics['bias'] * 1e3:.2f}e-3 "
            f"({metrics['n_objects']} objects)")


def _train(args) -> int:
    from multimodal_photoz.ensemble import train_and_evaluate

    config = build_run_config(flags.settings_from_args(args), args.data)
    metrics = train_and_evaluate(config, args.workdir)
    if metrics:
        print(format_metrics(metrics, args.workdir))
    return 0


def _predict(args) -> int:
    from multimodal_photoz.predict import predict_with_run

    done = predict_with_run(args.run, args.data, args.out, chunk_size=args.chunk_size,
                            pdf_dtype=args.pdf_dtype, catalogue=args.catalogue)
    who = (f"process {done.process_index} of {done.process_count}: "
           if done.process_count > 1 else "")
    print(f"photoz predict: {who}{done.n_objects} objects -> {done.out} ({done.n_chunks} chunks "
          f"of {done.chunk_size}: {done.computed} predicted now, {done.resumed} resumed)")
    if done.catalogue:
        print(f"photoz predict: catalogue -> {done.catalogue}")
    return 0


def check_scorable(pred: dict, path: str) -> None:
    """Refuses predictions without spectroscopic redshifts (those of an unlabelled
    data set: no ``z_spec``, or NaN for every object), naming the file and the data set.

    Args:
      pred: ``predictions.read_predictions``' dict; path: the file it was read from.
    """
    if "z_spec" in pred and np.isfinite(np.asarray(pred["z_spec"], np.float64)).any():
        return
    data = pred.get("attrs", {}).get("data")
    of = f"the data set {data}" if data else "the data set predicted"
    raise ValueError(f"{path}: no z_spec to score against: {of} has no spectroscopic "
                     "redshifts (unlabelled); its predictions can be used, not evaluated")


def _evaluate(args) -> int:
    from multimodal_photoz import predictions, report

    pred = predictions.read_predictions(args.file)
    check_scorable(pred, args.file)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.file)),
                                   os.path.splitext(os.path.basename(args.file))[0] + "_metrics")
    try:
        metrics = report.write_run_report(out, pred, outlier_threshold=args.outlier_threshold,
                                          mag_limit=args.mag_limit,
                                          point_estimate=args.point_estimate,
                                          all_bands=not args.include_incomplete,
                                          title=f"evaluation of {args.file}")
    except OSError as err:  # a read-only or full disk names a hidden temporary file
        raise OSError(err.errno, f"{out}: the report cannot be written there ({err.strerror}: "
                      f"{err.filename}); give --out a writable folder") from err
    print(format_metrics(metrics, args.file))
    print(f"report: {os.path.join(out, 'report.md')}")
    return 0


def _stored(pred: dict, section: str) -> dict:
    """A section of the run configuration stored in a predictions file ({} if none)."""
    return (pred.get("attrs", {}).get("config") or {}).get(section) or {}


def scored_estimate(pred: dict) -> str:
    """The point estimate a run's metrics use, from the configuration stored in
    its predictions (the PDF median unless its loss is regression-only)."""
    from multimodal_photoz.losses import point_estimate_for

    chosen = _stored(pred, "evaluation").get("point_estimate")
    return chosen or point_estimate_for(_stored(pred, "train").get("loss", "ce_mae"))


def _compare(args) -> int:
    from multimodal_photoz import predictions, report
    from multimodal_photoz.config import load_run_config

    runs = [args.baseline, args.multimodal]
    preds = [predictions.read_predictions(os.path.join(r, "predictions.h5")) for r in runs]
    threshold, mag_limit = args.outlier_threshold, args.mag_limit
    if threshold is None or mag_limit is None:
        evaluation = load_run_config(args.baseline)[0].evaluation
        threshold = evaluation.outlier_threshold if threshold is None else threshold
        mag_limit = evaluation.mag_limit if mag_limit is None else mag_limit
    out = args.out or os.path.join(args.multimodal, "comparison")
    result = report.write_comparison(out, preds[0], preds[1], threshold,
                                     n_resamples=args.resamples, seed=args.seed,
                                     alternative=args.alternative,
                                     point_estimates=tuple(scored_estimate(p) for p in preds),
                                     all_bands=_stored(preds[0], "evaluation").get("all_bands",
                                                                                   True),
                                     mag_limit=mag_limit, title=f"{runs[0]} vs {runs[1]}")
    print(report.format_table3(result))
    print(f"comparison: {os.path.join(out, 'comparison.json')}")
    return 0


def _launch(args) -> int:
    from multimodal_photoz.distributed import launch

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise ValueError("photoz launch: give the photoz command to run, e.g. "
                         "photoz launch --processes 2 -- train --data D --workdir W")
    return launch(args.processes, command, args.devices_per_process)


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train and evaluate a k-fold ensemble")
    p.add_argument("--data", required=True, help="data set directory")
    p.add_argument("--workdir", required=True, help="run directory (re-run to resume)")
    flags.add_flags(p)
    p.set_defaults(func=_train)

    p = subparsers.add_parser("predict", help="predict new data with every member of a run")
    p.add_argument("--run", required=True, help="a finished run's workdir")
    p.add_argument("--data", required=True, help="data set directory")
    p.add_argument("--out", required=True, help="output predictions .h5 (finished chunks are "
                   "kept in <out>.parts/ until joined: rerun the same command to resume)")
    p.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                   help="objects per chunk written to <out>.parts/ (rounded up to a multiple of "
                        "the run's evaluation batch size; default %(default)s)")
    p.add_argument("--pdf-dtype", choices=("float32", "float16"), default="float32",
                   help="storage of the PDFs: float16 takes half the bytes (loss: BUILD.md)")
    p.add_argument("--catalogue", default=None, metavar="PATH",
                   help="also write id, z_median, z_mean, z_mode, z_regression, z_lo68, "
                        "z_hi68, odds to this .fits or .parquet file")
    p.set_defaults(func=_predict)

    p = subparsers.add_parser(
        "launch", help="run a photoz command as N JAX processes on this machine (CPU)")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--devices-per-process", type=int, default=1)
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then the photoz command")
    p.set_defaults(func=_launch)

    p = subparsers.add_parser("evaluate", help="metrics and figures of a predictions file")
    p.add_argument("file", help="a predictions .h5 with z_spec")
    p.add_argument("--outlier-threshold", type=float,
                   default=EvaluationConfig.outlier_threshold)
    p.add_argument("--mag-limit", type=float, default=EvaluationConfig.mag_limit)
    p.add_argument("--point-estimate", default="z_median",
                   choices=("z_median", "z_mean", "z_mode", "z_regression"),
                   help="the z_phot column scored (z_regression for regression-only losses)")
    p.add_argument("--include-incomplete", action="store_true",
                   help="also evaluate objects missing a band the model reads")
    p.add_argument("--out", default=None, help="report directory (default: beside the file)")
    p.set_defaults(func=_evaluate)

    p = subparsers.add_parser("compare", help="Table 3: baseline against multimodal run")
    p.add_argument("baseline", help="workdir of the baseline run")
    p.add_argument("multimodal", help="workdir of the multimodal run")
    p.add_argument("--out", default=None, help="default: <multimodal>/comparison")
    p.add_argument("--resamples", type=int, default=N_RESAMPLES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--alternative", choices=ALTERNATIVES, default="observed",
                   help="H1 of the paired bootstrap: one-sided in the direction observed on the "
                        "test set (Table 3), two-sided, or one fixed direction")
    p.add_argument("--outlier-threshold", type=float, default=None)
    p.add_argument("--mag-limit", type=float, default=None)
    p.set_defaults(func=_compare)
