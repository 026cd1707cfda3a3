"""Command-line flags of ``photoz train`` and ``python -m experiments.*``.

Each named flag is one entry of ``FLAGS``: the flag, the setting it sets, and
its argparse options. Named flags default to "not given" so that presets and
defaults decide; ``--set KEY=VALUE`` (repeatable) reaches any setting
(``multimodal_photoz.config.settings``). Order of precedence: defaults <
preset < named flags < ``--set``.
"""

from __future__ import annotations

import argparse
from typing import Any

from multimodal_photoz.config.settings import parse_assignments
from multimodal_photoz.losses import LOSSES
from multimodal_photoz.model import BACKBONES, FUSION_STAGES, FUSIONS


def _seeds(text: str) -> tuple[int, ...]:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seeds, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected at least one seed, got {n}")
    return tuple(range(n))


# (group, flag, setting key, argparse options)
FLAGS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("model", "--bands", "model.bands",
     dict(help="bands to use, in wavelength order (default: all of the data set)")),
    ("model", "--fusion", "model.fusion",
     dict(choices=("none",) + FUSION_STAGES,
          help="fusion stage; 'none' is the baseline (one modality of all bands)")),
    ("model", "--fusion-type", "model.fusion_type", dict(choices=sorted(FUSIONS))),
    ("model", "--modality-size", "model.modality_size", dict(type=int)),
    ("model", "--orders", "model.orders", dict(help="e.g. 1,2")),
    ("model", "--modalities", "model.modalities", dict(help="explicit list, e.g. u_g,g_r,r_i")),
    ("model", "--include-all", "model.include_all",
     dict(action="store_const", const=True, help="add the modality of all bands (Sect. 7.3)")),
    ("model", "--backbone", "model.backbone", dict(choices=sorted(BACKBONES))),
    ("model", "--width", "model.width", dict(type=float, help="multiplier on every width")),
    ("model", "--branch-width", "model.branch_width",
     dict(help="branch width rule: table_c1 (default: the paper's Table C.1 counts), "
               "sqrt or linear (BUILD.md, 'Branch widths')")),
    ("model", "--n-bins", "model.n_bins", dict(type=int)),
    ("model", "--z-min", "model.z_min", dict(type=float)),
    ("model", "--z-max", "model.z_max", dict(type=float)),
    ("model", "--modality-dropout", "model.modality_dropout",
     dict(type=int, help="drop 0..k modalities per training batch (Sect. 7.4)")),
    ("model", "--dtype", "model.dtype", dict(choices=("float32", "bfloat16"))),
    ("training", "--loss", "train.loss", dict(choices=sorted(LOSSES))),
    ("training", "--steps", "train.n_steps", dict(type=int, help="optimizer steps per member")),
    ("training", "--batch-size", "train.batch_size", dict(type=int)),
    ("training", "--lr", "train.learning_rate",
     dict(type=float, help="Adam's rate: the initial one (step schedule) or the peak "
                           "(cosine) (default 1e-4)")),
    ("training", "--no-augment", "train.augment",
     dict(action="store_const", const=False, help="no random rot90/flips")),
    ("training", "--checkpoint-every", "train.checkpoint_every", dict(type=int)),
    ("ensemble", "--folds", "ensemble.n_folds",
     dict(type=int, help="number of cross-validation folds")),
    ("ensemble", "--seeds", "ensemble.seeds",
     dict(type=_seeds, help="members per fold (seeds 0..n-1)")),
    ("ensemble", "--only-folds", "ensemble.only_folds",
     dict(help="train only these folds now, e.g. 0 (others can follow later)")),
    ("evaluation", "--outlier-threshold", "evaluation.outlier_threshold", dict(type=float)),
    ("evaluation", "--mag-limit", "evaluation.mag_limit",
     dict(type=float, help="evaluate i <= this only")),
    ("evaluation", "--eval-batch-size", "evaluation.batch_size", dict(type=int)),
]


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Adds every named flag and ``--set`` to ``parser``."""
    groups: dict[str, Any] = {}
    for group, flag, key, options in FLAGS:
        if group not in groups:
            groups[group] = parser.add_argument_group(group)
        if options.get("action") != "store_const" and "choices" not in options:
            options = {"metavar": flag.lstrip("-").upper().replace("-", "_"), **options}
        groups[group].add_argument(flag, dest=key, default=None, **options)
    parser.add_argument("--set", dest="assignments", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="any setting, e.g. --set train.n_steps=2000 --set model.width=0.5 "
                             "(repeatable; see BUILD.md, 'Configuration')")


def settings_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line states: named flags given, then ``--set``."""
    named = {key: getattr(args, key) for _, _, key, _ in FLAGS
             if getattr(args, key, None) is not None}
    return {**named, **parse_assignments(args.assignments)}
