"""A run's workdir and its guard: ``config.json`` holds the run configuration
and the fingerprint of its data; a later command on the same workdir must
describe the same run, or it is refused with every differing field listed.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import numpy as np

from multimodal_photoz import files
from multimodal_photoz.config.run import RunConfig

CONFIG_FILE = "config.json"
# Fields that may change between invocations without changing any result.
NOT_IDENTITY = ("data.path", "ensemble.only_folds", "train.checkpoint_every", "train.log_every",
                "evaluation.batch_size")


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
            if f"{prefix}{key}" in NOT_IDENTITY:
                continue
            out += _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} in the workdir, {new!r} now"]


def _read(path: str) -> dict[str, Any]:
    with open(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: unreadable run configuration ({e}); "
                             "use another workdir or remove this one") from e


def claim_workdir(workdir: str, config: RunConfig, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """Writes the configuration into a new workdir or checks it against an existing one.

    Returns the stored configuration (with ``data_fingerprint``).

    Raises:
      ValueError: the workdir holds a run of another configuration or data set;
        the message lists every differing field.
    """
    path = os.path.join(workdir, CONFIG_FILE)
    resolved = {**config.to_dict(), "data_fingerprint": fingerprint}
    if os.path.exists(path):
        diffs = _differences(_read(path), resolved)
        if diffs:
            raise ValueError(
                f"workdir {workdir} holds a run with a different configuration; refusing to "
                f"mix it in. Use another --workdir, or the workdir's own settings. "
                f"Differences: " + "; ".join(diffs))
        return _read(path)
    files.RunFiles(workdir).json(CONFIG_FILE, resolved)
    return resolved


def load_run_config(workdir: str) -> tuple[RunConfig, dict[str, Any]]:
    """The ``RunConfig`` stored in a workdir and its data fingerprint."""
    path = os.path.join(workdir, CONFIG_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{workdir}: no {CONFIG_FILE}; is this a run directory?")
    stored = _read(path)
    try:
        return RunConfig.from_dict(stored), stored.get("data_fingerprint", {})
    except (KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a run configuration of this version ({e})") from e
