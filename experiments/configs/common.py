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
    # Sized so that the README's main job (two runs of 4 members) ends within
    # 20 minutes on a 2-core CPU (BUILD.md records the time). A higher rate than
    # the paper's makes 2000 steps enough to learn something. On fold 0, 1000,
    # 1500 and 2000 steps gave the baseline sigma_MAD 61.2e-3, 54.6e-3 and
    # 49.4e-3 (the catalogue kNN: 56.1e-3): steps matter more here than a fifth
    # fold, so 4 folds pay for 2000 steps (BUILD.md, "The main job").
    "quick": {"data.stamp": 16, "model.width": 0.125, "train.batch_size": 32,
              "train.n_steps": 2000, "ensemble.seeds": (0,), "ensemble.n_folds": 4,
              "data.n_objects": 6000, "model.n_bins": 300, "train.learning_rate": 1e-3,
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
