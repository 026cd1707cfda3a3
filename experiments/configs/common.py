"""What every survey's preset shares: the scales and the parsing of ``get_config``'s argument.

A preset is the survey's row of ``multimodal_photoz.surveys.SURVEYS`` (PDF grid,
outlier threshold, magnitude limit, paper seeds and sample size), then the
scale's settings, then the argument's ``fusion=...`` / ``fusion_type=...``.
"""

from __future__ import annotations

from multimodal_photoz.surveys import get_survey

SCALES: dict[str, dict] = {
    # The paper's setup: 64x64 stamps, full width, batch 32; 120k iterations as
    # Treyer et al. (prior-networks.md). For an accelerator.
    "paper": {"data.stamp": 64, "model.width": 1.0, "train.batch_size": 32,
              "train.n_steps": 120_000, "train.checkpoint_every": 1000,
              "evaluation.batch_size": 256},
    # Sized so that the README's main job (two runs of 3 members) ends within
    # 20 minutes on a 2-core CPU (BUILD.md records the time). A higher rate than
    # the paper's, decayed on a cosine, makes 3000 steps enough: on fold 2 of 4 the
    # baseline had sigma_MAD 57.1e-3 and 12.9% outliers after 2000 steps of the
    # step schedule, 53.9e-3 and 10.3% with the cosine, 35.9e-3 and 5.8% after
    # 3000 cosine steps (the catalogue kNN: 54.5e-3, 8.4%); at 2000 and 2400 steps
    # it had not learned the z > 2 galaxies. 3 folds pay for the 3000 steps
    # (BUILD.md, "The main job").
    "quick": {"data.stamp": 16, "model.width": 0.125, "train.batch_size": 32,
              "train.n_steps": 3000, "ensemble.seeds": (0,), "ensemble.n_folds": 3,
              "data.n_objects": 6000, "model.n_bins": 300, "train.learning_rate": 1e-3,
              "train.lr_schedule": "cosine", "train.lr_warmup_steps": 100,
              "evaluation.batch_size": 128, "train.checkpoint_every": 500,
              "train.log_every": 50},
    # Seconds, for tests.
    "smoke": {"data.stamp": 16, "model.width": 0.05, "train.batch_size": 8, "train.n_steps": 4,
              "ensemble.seeds": (0,), "data.n_objects": 60, "model.n_bins": 40,
              "evaluation.batch_size": 16, "train.checkpoint_every": 2, "train.log_every": 1},
}

# get_config's argument words -> settings keys
ARGUMENT_KEYS = {"fusion": "model.fusion", "fusion_type": "model.fusion_type"}


def parse_argument(arg: str | None) -> dict[str, str]:
    """``"scale=quick,fusion=early"`` -> ``{"scale": "quick", "fusion": "early"}``."""
    out = {}
    for item in (arg or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in ("scale", *ARGUMENT_KEYS):
            raise ValueError(f"config argument {item!r}: expected scale=..., fusion=... or "
                             "fusion_type=...")
        out[key.strip()] = value.strip()
    return out


def survey_config(survey: str, arg: str | None = None) -> dict:
    """The settings of ``survey`` at the argument's scale (default quick)."""
    words = parse_argument(arg)
    scale = words.pop("scale", "quick")
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; known: {sorted(SCALES)}")
    settings = {**get_survey(survey).settings(), **SCALES[scale]}
    settings.update({ARGUMENT_KEYS[k]: v for k, v in words.items()})
    return settings
