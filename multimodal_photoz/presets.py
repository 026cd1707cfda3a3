"""Survey and scale presets for the experiments (``python -m experiments.<survey>``).

Survey settings follow the paper (Sect. 2, 5.1) and the group's earlier code
(prior-networks.md): SDSS uses 180 bins over 0 < z < 0.4 as P19 and an outlier
threshold of 0.05; the deeper surveys use 0.15 and evaluate i <= 24.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Survey:
    """Per-survey defaults.

    Attributes:
      bands: the survey's bands in wavelength order.
      n_bins, z_min, z_max: the PDF grid.
      outlier_threshold: |dz| of an outlier.
      mag_limit: evaluate objects with i <= mag_limit (None: all).
      paper_objects: size of the paper's spectroscopic sample.
      paper_seeds: ensemble seeds of the paper (5 for SDSS, 3 otherwise).
    """

    bands: str
    n_bins: int
    z_min: float
    z_max: float
    outlier_threshold: float
    mag_limit: float | None
    paper_objects: int
    paper_seeds: int


SURVEYS: dict[str, Survey] = {
    "sdss": Survey("ugriz", 180, 0.0, 0.4, 0.05, None, 516_525, 5),
    "cfhtls": Survey("ugriz", 1000, 0.0, 4.0, 0.15, 24.0, 108_500, 3),
    "hsc6": Survey("ugrizy", 1000, 0.0, 4.0, 0.15, 24.0, 51_000, 3),
    "hsc9": Survey("ugrizyjhk", 1000, 0.0, 4.0, 0.15, 24.0, 51_000, 3),
}


@dataclasses.dataclass(frozen=True)
class Scale:
    """How big a run is.

    Attributes:
      stamp: cutout size in pixels.
      width: network width multiplier.
      batch_size: global batch.
      n_steps: optimizer steps per member.
      seeds: ensemble seeds per fold (None: the survey's paper value).
      n_objects: simulated sample size (None: the paper's sample size).
      n_bins: PDF bins (None: the survey's).
      learning_rate: Adam's initial rate (divided by 5 at half of training).
      eval_batch_size, checkpoint_every, log_every: bookkeeping.
    """

    stamp: int
    width: float
    batch_size: int
    n_steps: int
    seeds: int | None
    n_objects: int | None
    n_bins: int | None = None
    learning_rate: float = 1e-4
    eval_batch_size: int = 256
    checkpoint_every: int = 1000
    log_every: int = 50


SCALES: dict[str, Scale] = {
    # The paper's setup: 64x64 stamps, full width, batch 32; 120k iterations as
    # Treyer et al. (prior-networks.md). For an accelerator.
    "paper": Scale(stamp=64, width=1.0, batch_size=32, n_steps=120_000, seeds=None,
                   n_objects=None),
    # Sized so that the README's main job (two runs of 5 members) ends within
    # 20 minutes on a 2-core CPU (BUILD.md records the time).
    # A higher rate than the paper's makes 1000 steps enough to learn something.
    "quick": Scale(stamp=16, width=0.125, batch_size=32, n_steps=1000, seeds=1, n_objects=3000,
                   n_bins=200, learning_rate=1e-3, eval_batch_size=128, checkpoint_every=250,
                   log_every=50),
    # Seconds, for tests.
    "smoke": Scale(stamp=16, width=0.05, batch_size=8, n_steps=4, seeds=1, n_objects=60,
                   n_bins=40, eval_batch_size=16, checkpoint_every=2, log_every=1),
}
