"""``photoz train | predict | evaluate | compare``: the run-level subcommands."""

from __future__ import annotations

import argparse
import json
import os

from multimodal_photoz import flags


def _train(args) -> int:
    from multimodal_photoz.data import open_dataset
    from multimodal_photoz.ensemble import train_and_evaluate

    source = open_dataset(args.data)
    catalogue = source.catalogue()
    config = flags.run_config_from_args(args, data=args.data, data_bands=source.bands,
                                        z_spec_max=float(catalogue["z_spec"].max()))
    if not args.workdir:
        raise SystemExit("photoz train: --workdir is required")
    metrics = train_and_evaluate(config, args.workdir)
    _print_metrics(metrics, args.workdir)
    return 0


def _print_metrics(metrics: dict, where: str) -> None:
    print(f"{where}: sigma_MAD {metrics['sigma_mad'] * 1e3:.2f}e-3, outliers "
          f"{metrics['outlier_fraction'] * 100:.2f}%, bias {metrics['bias'] * 1e3:.2f}e-3 "
          f"({metrics['n_objects']} objects)")


def _predict(args) -> int:
    from multimodal_photoz.inference import predict_with_run

    fields = predict_with_run(args.run, args.data, args.out)
    print(f"photoz predict: {len(fields['ids'])} objects -> {args.out}")
    return 0


def _evaluate(args) -> int:
    from multimodal_photoz import predictions, report

    pred = predictions.read_predictions(args.file)
    if "z_spec" not in pred:
        raise SystemExit(f"{args.file}: no z_spec, nothing to evaluate against")
    metrics = report.evaluate(pred, args.outlier_threshold, mag_limit=args.mag_limit)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.file)),
                                   os.path.splitext(os.path.basename(args.file))[0] + "_metrics")
    report.write_report(out, pred, metrics, title=f"evaluation of {args.file}")
    _print_metrics(metrics, args.file)
    print(f"report: {os.path.join(out, 'report.md')}")
    return 0


def _compare(args) -> int:
    from multimodal_photoz import predictions, report
    from multimodal_photoz.run_config import load_run_config

    runs = [args.baseline, args.multimodal]
    preds = [predictions.read_predictions(os.path.join(r, "predictions.h5")) for r in runs]
    threshold = args.outlier_threshold
    mag_limit = args.mag_limit
    if threshold is None or mag_limit is None:
        config = load_run_config(args.baseline)
        threshold = config.outlier_threshold if threshold is None else threshold
        mag_limit = config.mag_limit if mag_limit is None else mag_limit
    out = args.out or os.path.join(args.multimodal, "comparison")
    result = report.write_comparison(out, preds[0], preds[1], threshold,
                                     n_resamples=args.resamples, seed=args.seed,
                                     mag_limit=mag_limit, title=f"{runs[0]} vs {runs[1]}")
    print(report.format_table3(result))
    print(f"comparison: {os.path.join(out, 'comparison.json')}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train and evaluate a k-fold ensemble")
    p.add_argument("--data", required=True, help="data set directory")
    flags.add_model_flags(p)
    flags.add_run_flags(p)
    p.set_defaults(func=_train)

    p = subparsers.add_parser("predict", help="predict new data with every member of a run")
    p.add_argument("--run", required=True, help="a finished run's workdir")
    p.add_argument("--data", required=True, help="data set directory")
    p.add_argument("--out", required=True, help="output predictions .h5")
    p.set_defaults(func=_predict)

    p = subparsers.add_parser("evaluate", help="metrics and figures of a predictions file")
    p.add_argument("file", help="a predictions .h5 with z_spec")
    p.add_argument("--outlier-threshold", type=float, default=0.15)
    p.add_argument("--mag-limit", type=float, default=None)
    p.add_argument("--out", default=None, help="report directory (default: beside the file)")
    p.set_defaults(func=_evaluate)

    p = subparsers.add_parser("compare", help="Table 3: baseline against multimodal run")
    p.add_argument("baseline", help="workdir of the baseline run")
    p.add_argument("multimodal", help="workdir of the multimodal run")
    p.add_argument("--out", default=None, help="default: <multimodal>/comparison")
    p.add_argument("--resamples", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--outlier-threshold", type=float, default=None)
    p.add_argument("--mag-limit", type=float, default=None)
    p.set_defaults(func=_compare)
