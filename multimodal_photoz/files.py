"""Writing files: one atomic writer for everything the package writes, and the
process-0 rule for a run's folder.

Every file is written to a hidden temporary file in the destination's folder,
flushed to disk (``fsync``) and renamed over the destination, so a reader (or a
``kill -9``) sees either the old file or the new one, never half of one.

In a multi-process run every process computes, but only process 0 writes a run's
files (the workdir is on a shared file system): :class:`RunFiles` is that writer.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np


def to_jsonable(obj: Any) -> Any:
    """numpy arrays/scalars -> lists/numbers, NaN/inf -> None, dict keys -> str."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some file systems do not open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yields a temporary path beside ``path``; on a clean exit it is synced and
    renamed to ``path``, on an exception removed (``path`` is then untouched).

    The temporary name keeps the destination's suffix (``.npz``, ``.h5``) so that
    libraries which add or check suffixes write where they are told.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    stem, suffix = os.path.splitext(base)
    tmp = os.path.join(folder, f".{stem}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}")
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(folder)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path: str, text: str) -> str:
    """Writes ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return path


def write_json(path: str, payload: Any) -> str:
    """Writes ``payload`` as JSON (numpy made plain, NaN/inf as null) atomically."""
    return write_text(path, json.dumps(to_jsonable(payload), indent=1, sort_keys=True,
                                       allow_nan=False) + "\n")


def is_primary() -> bool:
    """True on the process that writes run files (process 0)."""
    import jax

    return jax.process_index() == 0


class RunFiles:
    """Writes files inside one folder (a run's workdir), on process 0 only: every
    file of a run goes through one of its methods (the append-only ``log.jsonl``
    is opened by ``logs.RunLogger`` with ``enabled=is_primary()``).

    On other processes every write is a no-op that returns the path it would
    have written, so callers need no ``if``.
    """

    def __init__(self, root: str):
        self.root = os.fspath(root)

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def _prepare(self, rel: str) -> str | None:
        path = self.path(rel)
        if not is_primary():
            return None
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def json(self, rel: str, payload: Any) -> str:
        path = self._prepare(rel)
        return self.path(rel) if path is None else write_json(path, payload)

    def text(self, rel: str, text: str) -> str:
        path = self._prepare(rel)
        return self.path(rel) if path is None else write_text(path, text)

    def write(self, rel: str, writer: Callable[[str], Any]) -> str:
        """Calls ``writer(path)`` for files with their own format writer
        (predictions.h5, reports, markers), which must write atomically."""
        path = self._prepare(rel)
        if path is not None:
            writer(path)
        return self.path(rel)
