"""Where each run of the paper's experiments lives: one workdir per distinct run.

A run is a survey and the flags of ``python -m experiments.<survey>``. Its
workdir is ``<runs_root>/<survey>_<scale>_<slug>``, where the slug is the run's
*canonical settings*: the model's fusion stage, then every setting the flags
state that differs from what the survey's preset at that scale already says,
sorted by key (``fusion-early_orders-1,2``). Two experiments that need the same
run (the hsc9 baseline of Table 3 and of Figs. 2-10) therefore share one
workdir and train it once, whatever the order or spelling of their flags.
Settings that change no result (``--only-folds``, checkpoint and log
intervals, the evaluation batch size, ``--data``: ``NOT_IDENTITY``) are left
out, so a run started on one fold and finished later is one workdir.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from experiments.common import parser
from multimodal_photoz.config import defaults, merge
from multimodal_photoz.config import flags
from multimodal_photoz.config.workdir import NOT_IDENTITY

DEFAULT_RUNS_ROOT = os.path.join("workdirs", "paper", "runs")
MAX_SLUG = 150  # characters (file names allow 255); longer slugs keep a head and a hash
_DATA_FLAGS = ("data.n_objects", "data.stamp")  # the survey parser's own flags


def preset_settings(survey: str, scale: str) -> dict[str, Any]:
    """Every setting of ``survey``'s preset at ``scale``: defaults < preset, normalized."""
    preset = importlib.import_module(f"experiments.configs.{survey}").get_config(f"scale={scale}")
    return {**defaults(), **merge(preset)}


def stated_settings(survey: str, argv: Sequence[str]) -> dict[str, Any]:
    """The settings the flags ``argv`` state (named flags, ``--set``), normalized.

    Raises SystemExit (argparse) on flags that ``python -m experiments.<survey>``
    would refuse.
    """
    args = parser(survey).parse_args(list(argv))
    given = {k: getattr(args, k) for k in _DATA_FLAGS if getattr(args, k) is not None}
    return merge(given, flags.settings_from_args(args))


def canonical_settings(survey: str, scale: str, argv: Sequence[str]) -> dict[str, Any]:
    """``model.fusion`` and every identity setting of ``argv`` that the preset does not
    already give, sorted by key: what makes this run differ from the preset's."""
    base = preset_settings(survey, scale)
    stated = stated_settings(survey, argv)
    out = {"model.fusion": stated.get("model.fusion", base["model.fusion"])}
    for key in sorted(stated):
        if key in NOT_IDENTITY or key == "model.fusion":
            continue
        if stated[key] != base.get(key):
            out[key] = stated[key]
    return out


def _text(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(_text(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return "none" if value is None else str(value)


def slug(settings: Mapping[str, Any]) -> str:
    """``{"model.fusion": "early", "model.orders": (1, 2)}`` -> ``fusion-early_orders-1,2``
    (``model.`` dropped, other sections kept: ``train.fraction-0.4``)."""
    parts = [f"{key.removeprefix('model.')}-{_text(value)}" for key, value in settings.items()]
    text = re.sub(r"[^A-Za-z0-9._,-]", "-", "_".join(parts))
    if len(text) <= MAX_SLUG:
        return text
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    return f"{text[:MAX_SLUG - 11]}-{digest}"


def survey_tag(survey: str, data: str | None = None) -> str:
    """``hsc9`` for the simulated sample, ``hsc9-<hash of the path>`` for ``--data``."""
    if not data:
        return survey
    return f"{survey}-{hashlib.sha1(os.path.abspath(data).encode()).hexdigest()[:8]}"


def workdir_for(survey: str, scale: str, argv: Sequence[str], runs_root: str = DEFAULT_RUNS_ROOT,
                data: str | None = None) -> str:
    """The workdir of the run ``argv`` on ``survey`` at ``scale`` (see the module docstring)."""
    name = f"{survey_tag(survey, data)}_{scale}_{slug(canonical_settings(survey, scale, argv))}"
    return os.path.join(runs_root, name)
