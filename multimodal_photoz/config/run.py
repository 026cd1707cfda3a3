"""The run configuration: one nested, frozen tree with every default in one place.

A run (a k-fold cross-validated ensemble, paper Sect. 3.4) is described by a
``RunConfig`` of five sections: ``model`` (``ModelConfig``, the network),
``data``, ``train``, ``ensemble`` and ``evaluation``. The defaults of every field
are the dataclass defaults below (and ``ModelConfig``'s); presets and the
command line only state what differs (``multimodal_photoz.config.settings``).
``config.json`` in a workdir is ``RunConfig.to_dict()``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from multimodal_photoz import losses
from multimodal_photoz.metrics import DEFAULT_OUTLIER_THRESHOLD
from multimodal_photoz.model import ModelConfig


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the objects come from.

    Attributes:
      path: the data set directory (``open_dataset``); empty: the survey's
        simulated sample (experiments only).
      survey: preset name (``sdss``, ``cfhtls``, ``hsc6``, ``hsc9``) or ``custom``.
      n_objects: size of the simulated sample (None: the paper's sample size).
      stamp: stamp size of the simulated sample in pixels.
      seed: seed of the simulated sample (object i depends only on (seed, i)).
    """

    path: str = ""
    survey: str = "custom"
    n_objects: int | None = None
    stamp: int = 64
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimisation of one member (paper Sect. 3.4; prior-networks.md).

    Attributes:
      batch_size: global batch size (objects per step over all devices).
      n_steps: number of optimizer steps.
      learning_rate: Adam learning rate at the start (``step``) or the peak (``cosine``).
      lr_schedule: a name from ``LR_SCHEDULES``: ``step`` (the rate divided by
        ``lr_decay_factor`` after ``lr_decay_at`` of training, as Treyer et al.) or
        ``cosine`` (linear warm-up over ``lr_warmup_steps``, then a cosine decay to 0 at
        ``n_steps``; Loshchilov & Hutter 2017).
      lr_decay_at: ``step``: fraction of training after which the rate is divided.
      lr_decay_factor: ``step``: the divisor (5, as in Treyer et al.).
      lr_warmup_steps: ``cosine``: steps of linear warm-up from 0.
      loss: a name from ``losses.LOSSES`` (``ce_mae`` is eq. 1).
      augment: random rot90 and flips on device.
      checkpoint_every: steps between checkpoints.
      log_every: steps between log lines.
      validate_every: steps between validation losses (0: none), each the mean loss of
        ``validation_objects`` objects of the member's held-out fold (no augmentation).
      validation_objects: how many held-out objects the validation loss averages.
      labels_outside_grid: a z_spec outside the PDF grid is an ``error`` naming the
        object, or (``clip``) trained in the nearest end bin and counted in the report.
      fraction: share of each fold's training objects used (Sect. 7.2, Fig. 8): a
        fixed random subset per fold, the same for every seed.
    """

    batch_size: int = 32
    n_steps: int = 10_000
    learning_rate: float = 1e-4
    lr_schedule: str = "step"
    lr_decay_at: float = 0.5
    lr_decay_factor: float = 5.0
    lr_warmup_steps: int = 0
    loss: str = "ce_mae"
    augment: bool = True
    checkpoint_every: int = 500
    log_every: int = 50
    validate_every: int = 100
    validation_objects: int = 256
    labels_outside_grid: str = "error"
    fraction: float = 1.0

    def __post_init__(self):
        if self.loss not in losses.LOSSES:
            raise ValueError(f"train.loss: unknown loss {self.loss!r}; known: "
                             f"{sorted(losses.LOSSES)}")
        if not 0 < self.fraction <= 1:
            raise ValueError(f"train.fraction must be in (0, 1], got {self.fraction}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"train.lr_schedule: unknown schedule {self.lr_schedule!r}; "
                             f"known: {sorted(LR_SCHEDULES)}")
        if self.labels_outside_grid not in ("error", "clip"):
            raise ValueError(f"train.labels_outside_grid: expected error or clip, "
                             f"got {self.labels_outside_grid!r}")
        for name in ("batch_size", "n_steps", "checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be positive, got {getattr(self, name)}")
        for name in ("validate_every", "validation_objects"):
            if getattr(self, name) < 0:
                raise ValueError(f"train.{name} must be 0 (none) or positive, got "
                                 f"{getattr(self, name)}")
        if self.lr_warmup_steps < 0 or (self.lr_schedule == "cosine"
                                        and self.lr_warmup_steps >= self.n_steps):
            raise ValueError(f"train.lr_warmup_steps must be in [0, n_steps) for the cosine "
                             f"schedule, got {self.lr_warmup_steps} (n_steps {self.n_steps}); "
                             f"set it with --set train.lr_warmup_steps=N")
        for name, schedule in _SCHEDULE_ONLY.items():
            default = TrainConfig.__dataclass_fields__[name].default
            if self.lr_schedule != schedule and getattr(self, name) != default:
                raise ValueError(f"train.{name} applies to the {schedule} schedule only, and "
                                 f"train.lr_schedule is {self.lr_schedule}: leave it at "
                                 f"{default} or set train.lr_schedule={schedule}")

    def schedule(self):
        """Adam's rate as a function of the step (``LR_SCHEDULES[lr_schedule]``)."""
        return LR_SCHEDULES[self.lr_schedule](self)


def _step_schedule(c: TrainConfig):
    """``learning_rate`` until ``lr_decay_at`` of training, then / ``lr_decay_factor``."""
    import optax

    boundary = max(1, int(c.n_steps * c.lr_decay_at))
    return optax.piecewise_constant_schedule(c.learning_rate, {boundary: 1.0 / c.lr_decay_factor})


def _cosine_schedule(c: TrainConfig):
    """0 -> ``learning_rate`` linearly over ``lr_warmup_steps``, then a cosine to 0 at
    ``n_steps``."""
    import optax

    decay = optax.cosine_decay_schedule(c.learning_rate, c.n_steps - c.lr_warmup_steps)
    if not c.lr_warmup_steps:
        return decay
    warmup = optax.linear_schedule(0.0, c.learning_rate, c.lr_warmup_steps)
    return optax.join_schedules([warmup, decay], [c.lr_warmup_steps])


# settings that one schedule alone reads -> that schedule (another value is refused)
_SCHEDULE_ONLY = {"lr_decay_at": "step", "lr_decay_factor": "step", "lr_warmup_steps": "cosine"}

# train.lr_schedule -> a function of the TrainConfig returning optax's schedule
LR_SCHEDULES = {"step": _step_schedule, "cosine": _cosine_schedule}


@dataclasses.dataclass(frozen=True)
class EnsembleConfig:
    """Members = folds x seeds (Sect. 3.4).

    Attributes:
      n_folds: cross-validation folds; members of fold f never see fold f.
      seeds: one member per (fold, seed); a fold's PDFs average its seeds.
      only_folds: the folds to train now (None = all); others can follow later.
    """

    n_folds: int = 5
    seeds: tuple[int, ...] = (0, 1, 2)
    only_folds: tuple[int, ...] | None = None

    def __post_init__(self):
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if self.n_folds < 2:
            raise ValueError(f"ensemble.n_folds must be at least 2, got {self.n_folds}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"ensemble.seeds must be distinct and non-empty, got {self.seeds}")
        if self.only_folds is not None:
            object.__setattr__(self, "only_folds", tuple(int(f) for f in self.only_folds))
            bad = [f for f in self.only_folds if not 0 <= f < self.n_folds]
            if bad:
                raise ValueError(f"ensemble.only_folds {bad} are outside 0..{self.n_folds - 1}")

    def folds(self) -> tuple[int, ...]:
        """The folds this invocation trains."""
        return tuple(range(self.n_folds)) if self.only_folds is None else self.only_folds

    def members(self) -> list[tuple[int, int]]:
        """(fold, seed) of every member trained now, fold-major."""
        return [(f, s) for f in self.folds() for s in self.seeds]


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """Metrics and prediction.

    Attributes:
      outlier_threshold: |dz| of an outlier (0.05 SDSS, 0.15 otherwise).
      mag_limit: evaluate objects with i <= mag_limit only (the paper: 24).
      batch_size: objects per prediction batch.
      point_estimate: the z_phot column scored (None: the loss's own, z_median
        for losses with a PDF, z_regression for the regression-only ones).
      all_bands: evaluate only objects that have every band the model reads.
    """

    outlier_threshold: float = DEFAULT_OUTLIER_THRESHOLD
    mag_limit: float | None = None
    batch_size: int = 128
    point_estimate: str | None = None
    all_bands: bool = True

    def __post_init__(self):
        if not self.outlier_threshold > 0:
            raise ValueError(f"evaluation.outlier_threshold must be positive, "
                             f"got {self.outlier_threshold}")
        if self.batch_size < 1:
            raise ValueError(f"evaluation.batch_size must be positive, got {self.batch_size}")
        known = ("z_median", "z_mean", "z_mode", "z_regression")
        if self.point_estimate is not None and self.point_estimate not in known:
            raise ValueError(f"evaluation.point_estimate: expected one of {known}, "
                             f"got {self.point_estimate!r}")


SECTIONS = {"data": DataConfig, "train": TrainConfig, "ensemble": EnsembleConfig,
            "evaluation": EvaluationConfig}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A k-fold cross-validated ensemble run: the content of ``config.json``."""

    model: ModelConfig
    data: DataConfig = DataConfig()
    train: TrainConfig = TrainConfig()
    ensemble: EnsembleConfig = EnsembleConfig()
    evaluation: EvaluationConfig = EvaluationConfig()

    def to_dict(self) -> dict[str, Any]:
        d = {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}
        d["model"] = self.model.to_dict()
        d["ensemble"]["seeds"] = list(self.ensemble.seeds)
        if self.ensemble.only_folds is not None:
            d["ensemble"]["only_folds"] = list(self.ensemble.only_folds)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        """Inverse of ``to_dict`` (extra top-level keys, e.g. ``data_fingerprint``, ignored)."""
        sections = {name: section(**d.get(name, {})) for name, section in SECTIONS.items()}
        return cls(model=ModelConfig.from_dict(d["model"]), **sections)

    def scored_estimate(self) -> str:
        """The z_phot column the metrics use (``evaluation.point_estimate`` or the loss's)."""
        return self.evaluation.point_estimate or losses.point_estimate_for(self.train.loss)

    def describe(self) -> str:
        """One line: the network, in the paper's words."""
        m = self.model
        if m.is_baseline:
            return f"baseline ({''.join(m.bands)} stacked), {m.backbone}"
        return (f"{m.fusion} {m.fusion_type} fusion of {len(m.modalities)} modalities "
                f"({', '.join(m.modality_names())}), {m.backbone}")
