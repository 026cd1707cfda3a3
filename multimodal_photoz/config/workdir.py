"""A run's workdir and its guard: ``config.json`` holds the run configuration
and the fingerprint of its data; a later command on the same workdir must
describe the same run on the same data, or it is refused with every differing
field (or what changed in the data) listed. ``lock_workdir`` keeps a second
training command out of a workdir while one runs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from typing import Any

import numpy as np

from multimodal_photoz import files
from multimodal_photoz.config.run import RunConfig
from multimodal_photoz.data.format import ids as id_kinds

CONFIG_FILE = "config.json"
LOCK_FILE = "train.lock"  # held (flock) by the training command using the workdir
# Fields that may change between invocations without changing any result.
NOT_IDENTITY = ("data.path", "ensemble.only_folds", "train.checkpoint_every", "train.log_every",
                "train.validate_every", "train.validation_objects", "evaluation.batch_size")


def _sha256(column: np.ndarray) -> str:
    column = np.ascontiguousarray(column)
    header = f"{column.dtype.str}{column.shape}".encode()
    return hashlib.sha256(header + column.tobytes()).hexdigest()[:16]


def data_fingerprint(source) -> dict[str, Any]:
    """What identifies a data set's content: its objects (ids), every catalogue
    column, its images, bands and stamp size, and its flux scale (``zeropoint_ab``,
    mag AB of a flux of 1, and ``pixel_scale_arcsec``, None where the metadata
    does not say)."""
    catalogue = source.catalogue()
    ids = catalogue["id"]  # int64, or string ids (``ids.digest``: their UTF-8 bytes)
    metadata = getattr(source, "metadata", {}) or {}
    return {"n_objects": int(len(ids)), "bands": "".join(source.bands),
            "stamp": int(source.stamp_size),
            "ids_sha256": id_kinds.digest(ids)[:16],
            "catalogue_sha256": {name: _sha256(catalogue[name]) for name in sorted(catalogue)},
            "images_sha256": source.images_sha256()[:16],
            "zeropoint_ab": metadata.get("zeropoint_ab"),
            "pixel_scale_arcsec": metadata.get("pixel_scale_arcsec")}


# How a changed fingerprint field is named to the user (others: "<field> <old> -> <new>").
_CHANGED = {"ids_sha256": lambda old, new: "the object ids",
            "images_sha256": lambda old, new: "the images",
            "catalogue_sha256": lambda old, new: "catalogue column(s) " + ", ".join(
                k for k in sorted(set(old or {}) | set(new or {}))
                if (old or {}).get(k) != (new or {}).get(k))}


def data_changes(stored: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between a run's stored data fingerprint and the data's now.

    Fields the stored fingerprint lacks (a run of an older version) are not compared.
    """
    out = []
    for key in stored:
        old, new = stored[key], now.get(key)
        if old != new:
            out.append(_CHANGED[key](old, new) if key in _CHANGED
                       else f"{key} {old!r} -> {new!r}")
    return out


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
    """The JSON object in ``path``; a damaged file is named, never a traceback."""
    try:
        with open(path, encoding="utf-8") as f:
            stored = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: unreadable run configuration ({e}); it is not the "
                         "config.json this package writes") from e
    if not isinstance(stored, dict):
        raise ValueError(f"{path}: unreadable run configuration (a JSON "
                         f"{type(stored).__name__}, not an object); it is not the config.json "
                         "this package writes")
    return stored


def claim_workdir(workdir: str, config: RunConfig, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """Writes the configuration into a new workdir or checks it against an existing one.

    Returns the stored configuration (with ``data_fingerprint``).

    Raises:
      ValueError: the workdir holds a run of another configuration or data set;
        the message lists every differing field, or what changed in the data
        (object ids, catalogue columns, images, flux scale).
    """
    path = os.path.join(workdir, CONFIG_FILE)
    resolved = {**config.to_dict(), "data_fingerprint": fingerprint}
    if os.path.exists(path):
        stored = _read(path)
        changed = data_changes(stored.get("data_fingerprint", {}), fingerprint)
        if changed:
            raise ValueError(
                f"workdir {workdir} holds a run trained on other data than {config.data.path} "
                f"holds now (changed: {'; '.join(changed)}); refusing to mix the two: train in "
                "another --workdir, or give the data the run was trained on")
        diffs = _differences({k: v for k, v in stored.items() if k != "data_fingerprint"},
                             config.to_dict())
        if diffs:
            raise ValueError(
                f"workdir {workdir} holds a run with a different configuration; refusing to "
                f"mix it in. Use another --workdir, or the workdir's own settings. "
                f"Differences: " + "; ".join(diffs))
        return _read(path)
    files.RunFiles(workdir).json(CONFIG_FILE, resolved)
    return resolved


def _check_workdir_path(workdir: str) -> None:
    if not str(workdir).strip():
        raise ValueError("--workdir is empty; give the run directory")
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise ValueError(f"--workdir {workdir}: is a file, not a directory; give a new "
                         "directory or a run's directory")


@contextlib.contextmanager
def lock_workdir(workdir: str, enabled: bool = True) -> Iterator[str]:
    """Holds an exclusive lock on ``workdir`` (created if missing) while training runs.

    ``LOCK_FILE`` in the workdir holds the host and process id of the holder;
    the lock (``fcntl.flock``) ends with the process, even on ``kill -9``.
    ``enabled=False`` (processes other than 0) only checks the path.

    Raises:
      ValueError: the path is a file, or another command holds the lock (the
        message names its host and process id).
    """
    _check_workdir_path(workdir)
    if not enabled:
        yield workdir
        return
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, LOCK_FILE)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise ValueError(f"workdir {workdir} is in use by {holder} (lock {path}); wait for "
                             "that command to end, or train in another --workdir") from None
        f.seek(0)
        f.truncate()
        f.write(f"process {os.getpid()} on host {socket.gethostname()}\n")
        f.flush()
        try:
            yield workdir
        finally:
            with contextlib.suppress(OSError):  # an error is on its way out already
                f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


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
