"""The configuration of a k-fold ensemble run, and the workdir guard.

A run is fully described by a ``RunConfig`` (model, optimisation, folds,
seeds, data). It is written to ``<workdir>/config.json`` when a run starts; a
later command on the same workdir must describe the same run, or it is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any

import numpy as np

from multimodal_photoz.model import ModelConfig
from multimodal_photoz.train import TrainConfig

CONFIG_FILE = "config.json"
# Fields that may change between invocations without changing any result.
NOT_IDENTITY = ("data", "folds", "checkpoint_every", "eval_batch_size", "log_every")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A k-fold cross-validated ensemble (paper Sect. 3.4).

    Attributes:
      model, train: network and optimisation settings.
      data: the data set directory (``open_dataset``).
      survey: preset name (``sdss``, ``cfhtls``, ``hsc6``, ``hsc9``) or ``custom``.
      n_folds: cross-validation folds; members of fold f never see fold f.
      seeds: one member per (fold, seed); a fold's PDFs average its seeds.
      folds: the folds to train now (None = all); others can be added later.
      outlier_threshold: |dz| of an outlier (0.05 SDSS, 0.15 otherwise).
      mag_limit: evaluate objects with i <= mag_limit only (the paper: 24).
      checkpoint_every: steps between checkpoints.
      eval_batch_size: objects per prediction batch.
      log_every: steps between log lines.
    """

    model: ModelConfig
    train: TrainConfig
    data: str
    survey: str = "custom"
    n_folds: int = 5
    seeds: tuple[int, ...] = (0, 1, 2)
    folds: tuple[int, ...] | None = None
    outlier_threshold: float = 0.15
    mag_limit: float | None = None
    checkpoint_every: int = 200
    eval_batch_size: int = 128
    log_every: int = 20

    def __post_init__(self):
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if self.folds is not None:
            object.__setattr__(self, "folds", tuple(int(f) for f in self.folds))
            bad = [f for f in self.folds if not 0 <= f < self.n_folds]
            if bad:
                raise ValueError(f"folds {bad} are outside 0..{self.n_folds - 1}")
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be at least 2, got {self.n_folds}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and non-empty, got {self.seeds}")

    def folds_to_run(self) -> tuple[int, ...]:
        return tuple(range(self.n_folds)) if self.folds is None else self.folds

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["model"] = self.model.to_dict()
        d["train"] = dataclasses.asdict(self.train)
        d["seeds"] = list(self.seeds)
        d["folds"] = None if self.folds is None else list(self.folds)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        d = dict(d)
        d["model"] = ModelConfig.from_dict(d["model"])
        d["train"] = TrainConfig(**d["train"])
        d.pop("data_fingerprint", None)
        return cls(**d)


def data_fingerprint(source) -> dict[str, Any]:
    """What identifies a data set: its objects, bands and stamp size."""
    ids = np.ascontiguousarray(source.catalogue()["id"], np.int64)
    return {"n_objects": int(len(ids)), "bands": "".join(source.bands),
            "stamp": int(source.stamp_size),
            "ids_sha256": hashlib.sha256(ids.tobytes()).hexdigest()[:16]}


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            if not prefix and key in NOT_IDENTITY:
                continue
            out += _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} in the workdir, {new!r} now"]


def claim_workdir(workdir: str, config: RunConfig, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """Writes the configuration into a new workdir or checks it against an existing one.

    Raises:
      ValueError: the workdir holds a run of another configuration or data set;
        the message lists every differing field.
    """
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, CONFIG_FILE)
    resolved = {**config.to_dict(), "data_fingerprint": fingerprint}
    if os.path.exists(path):
        with open(path) as f:
            try:
                existing = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: unreadable run configuration ({e}); "
                                 "use another workdir or remove this one") from e
        diffs = _differences(existing, resolved)
        if diffs:
            raise ValueError(
                f"workdir {workdir} holds a run with a different configuration; refusing to "
                f"mix it in. Use another --workdir, or the workdir's own settings. "
                f"Differences: " + "; ".join(diffs))
        return existing
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(resolved, f, indent=2, sort_keys=True)
    os.replace(tmp, path)
    return resolved


def load_run_config(workdir: str) -> RunConfig:
    """The ``RunConfig`` stored in a workdir."""
    path = os.path.join(workdir, CONFIG_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{workdir}: no {CONFIG_FILE}; is this a run directory?")
    with open(path) as f:
        return RunConfig.from_dict(json.load(f))
