"""Command-line flags shared by ``photoz train`` and ``python -m experiments.*``:
the model, the optimisation and the ensemble, turned into a ``RunConfig``."""

from __future__ import annotations

import argparse
import math

from multimodal_photoz import bands as bands_lib
from multimodal_photoz.model import BACKBONES, FUSION_STAGES, FUSIONS, make_config
from multimodal_photoz.losses import LOSSES
from multimodal_photoz.run_config import RunConfig
from multimodal_photoz.train import TrainConfig

# Default PDF bin width when neither --n-bins nor a survey preset says (CFHTLS: 4/1000).
DEFAULT_BIN_WIDTH = 0.004


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from e


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of the network and its training (defaults None = preset or data)."""
    g = parser.add_argument_group("model")
    g.add_argument("--bands", default=None,
                   help="bands to use, in wavelength order (default: all of the data set)")
    g.add_argument("--fusion", default="early", choices=("none",) + FUSION_STAGES,
                   help="fusion stage; 'none' is the baseline (one modality of all bands)")
    g.add_argument("--fusion-type", default="concat", choices=sorted(FUSIONS))
    g.add_argument("--modality-size", type=int, default=2)
    g.add_argument("--orders", type=_int_list, default=(1,), help="e.g. 1,2")
    g.add_argument("--modalities", default=None, help="explicit list, e.g. u_g,g_r,r_i")
    g.add_argument("--include-all", action="store_true",
                   help="add the modality of all bands (Sect. 7.3)")
    g.add_argument("--backbone", default="inception", choices=sorted(BACKBONES))
    g.add_argument("--width", type=float, default=None)
    g.add_argument("--branch-width", default="sqrt", choices=("sqrt", "linear"),
                   help="branch filters x sqrt(s/n) (default) or x s/n (cheaper)")
    g.add_argument("--n-bins", type=int, default=None)
    g.add_argument("--z-min", type=float, default=None)
    g.add_argument("--z-max", type=float, default=None)
    g.add_argument("--modality-dropout", type=int, default=0,
                   help="drop 0..k modalities per training batch (Sect. 7.4)")
    g.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    g = parser.add_argument_group("training")
    g.add_argument("--loss", default="ce_mae", choices=sorted(LOSSES))
    g.add_argument("--steps", type=int, default=None, help="optimizer steps per member")
    g.add_argument("--batch-size", type=int, default=None)
    g.add_argument("--lr", type=float, default=None, help="initial Adam rate (default 1e-4)")
    g.add_argument("--no-augment", action="store_true")


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of the cross-validated ensemble."""
    g = parser.add_argument_group("ensemble")
    g.add_argument("--folds", type=int, default=5, help="number of cross-validation folds")
    g.add_argument("--seeds", type=int, default=None, help="members per fold (seeds 0..n-1)")
    g.add_argument("--only-folds", type=_int_list, default=None,
                   help="train only these folds now, e.g. 0 (others can follow later)")
    g.add_argument("--workdir", default=None)
    g.add_argument("--outlier-threshold", type=float, default=None)
    g.add_argument("--mag-limit", type=float, default=None, help="evaluate i <= this only")
    g.add_argument("--checkpoint-every", type=int, default=None)
    g.add_argument("--eval-batch-size", type=int, default=None)


def _pick(value, default):
    return default if value is None else value


def run_config_from_args(args, *, data: str, data_bands, z_spec_max: float, survey: str = "custom",
                         defaults: dict | None = None) -> RunConfig:
    """The ``RunConfig`` that the flags describe; ``defaults`` come from presets.

    Without presets the PDF grid covers [0, 1.05 max(z_spec)] rounded up to 0.1,
    in bins of 0.004.
    """
    d = dict(defaults or {})
    z_min = _pick(args.z_min, d.get("z_min", 0.0))
    z_max = _pick(args.z_max, d.get("z_max", math.ceil(10 * 1.05 * z_spec_max) / 10))
    n_bins = _pick(args.n_bins, d.get("n_bins", round((z_max - z_min) / DEFAULT_BIN_WIDTH)))
    bands = bands_lib.parse_bands(args.bands) if args.bands else tuple(data_bands)
    model = make_config(
        bands, modality_size=None if args.fusion == "none" else args.modality_size,
        orders=args.orders, include_all=args.include_all,
        modality_spec=None if args.fusion == "none" else args.modalities,
        fusion="early" if args.fusion == "none" else args.fusion, fusion_type=args.fusion_type,
        backbone=args.backbone, width=_pick(args.width, d.get("width", 1.0)), n_bins=n_bins,
        z_min=z_min, z_max=z_max, modality_dropout=args.modality_dropout, dtype=args.dtype,
        branch_width=args.branch_width)
    train_config = TrainConfig(batch_size=_pick(args.batch_size, d.get("batch_size", 32)),
                               n_steps=_pick(args.steps, d.get("n_steps", 10_000)),
                               learning_rate=_pick(args.lr, d.get("learning_rate", 1e-4)),
                               loss=args.loss,
                               augment=not args.no_augment)
    return RunConfig(
        model=model, train=train_config, data=data, survey=survey, n_folds=args.folds,
        seeds=tuple(range(_pick(args.seeds, d.get("seeds", 3)))), folds=args.only_folds,
        outlier_threshold=_pick(args.outlier_threshold, d.get("outlier_threshold", 0.15)),
        mag_limit=_pick(args.mag_limit, d.get("mag_limit")),
        checkpoint_every=_pick(args.checkpoint_every, d.get("checkpoint_every", 500)),
        eval_batch_size=_pick(args.eval_batch_size, d.get("eval_batch_size", 128)),
        log_every=d.get("log_every", 50))
