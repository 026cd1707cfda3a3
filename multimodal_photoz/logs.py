"""Training logs: a JSON-lines file, TensorBoard scalars and a progress bar.

``log.jsonl`` holds one JSON object per line::

    {"step": 1200, "member": 0, "time": 1716371234.5, "elapsed_s": 310.2,
     "name": "hsc9_multimodal", "metrics": {"loss": 3.21, "lr": 0.0001}}

``time`` is Unix time (s); ``member`` is the ensemble member (null for run-level
entries). A resumed run repeats the steps after its last checkpoint, so readers
keep the last entry of each (member, step): see :func:`read_log`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from tqdm.auto import tqdm

LOG_FILE = "log.jsonl"
TENSORBOARD_DIR = "tensorboard"
NO_PROGRESS_ENV = "PHOTOZ_NO_PROGRESS"  # set to 1 to silence progress bars (CI, batch jobs)


def _plain(value: Any) -> Any:
    """A JSON-safe scalar: numpy/jax scalars -> float/int, NaN/inf -> None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class RunLogger:
    """Appends scalars to ``<workdir>/log.jsonl`` and to TensorBoard.

    Args:
      workdir: run directory (created if missing).
      name: run name, stored in every line and used as TensorBoard sub-directory.
      member: default ensemble member for :meth:`scalars`.
      tensorboard: also write ``<workdir>/tensorboard/<name>[/member_<k>]`` event files.
      enabled: False writes nothing (processes other than 0 of a multi-process run).
    """

    def __init__(self, workdir: str, name: str, *, member: int | None = None,
                 tensorboard: bool = True, enabled: bool = True):
        self.workdir = os.fspath(workdir)
        self.name = name
        self.member = member
        self.path = os.path.join(self.workdir, LOG_FILE)
        if enabled:
            os.makedirs(self.workdir, exist_ok=True)
        # line-buffered: a kill loses at most one line
        with self._naming(self.path):
            self._file = open(self.path if enabled else os.devnull, "a", buffering=1)
        self._start = time.time()
        self._tensorboard = tensorboard and enabled
        self._writers: dict[int | None, Any] = {}

    def _writer(self, member: int | None) -> Any:
        if member not in self._writers:
            from tensorboardX import SummaryWriter  # noqa: PLC0415  (import only when used)

            sub = self.name if member is None else os.path.join(self.name, f"member_{member}")
            self._writers[member] = SummaryWriter(logdir=os.path.join(self.workdir, TENSORBOARD_DIR, sub))
        return self._writers[member]

    def scalars(self, step: int, values: Mapping[str, Any], member: int | None = None) -> dict[str, Any]:
        """Log ``values`` (name -> number) at ``step``; returns the JSON record written."""
        member = self.member if member is None else member
        now = time.time()
        record = {"step": int(step), "member": member, "time": now,
                  "elapsed_s": round(now - self._start, 3), "name": self.name,
                  "metrics": {k: _plain(v) for k, v in values.items()}}
        with self._naming(self.path):
            self._file.write(json.dumps(record) + "\n")
        if self._tensorboard:
            with self._naming(os.path.join(self.workdir, TENSORBOARD_DIR)):
                writer = self._writer(member)
                for key, value in record["metrics"].items():
                    if isinstance(value, (int, float)):
                        writer.add_scalar(key, value, global_step=int(step), walltime=now)
        return record

    @staticmethod
    @contextlib.contextmanager
    def _naming(path: str):
        """An OSError of the log's files (disk full, read-only) names ``path``."""
        try:
            yield
        except OSError as err:
            if err.filename:
                raise
            raise OSError(err.errno, err.strerror or str(err), path) from err

    def flush(self) -> None:
        self._file.flush()
        for writer in self._writers.values():
            writer.flush()

    def close(self) -> None:
        """Flush and close the log file and TensorBoard writers (every one, even
        when one fails; the first failure is raised, naming its path)."""
        failures = []
        writers, self._writers = list(self._writers.values()), {}
        for path, close in ([(os.path.join(self.workdir, TENSORBOARD_DIR), w.close)
                             for w in writers] + [(self.path, self._file.close)]):
            try:
                with self._naming(path):
                    close()
            except OSError as err:
                failures.append(err)
        if failures:
            raise failures[0]

    def __enter__(self) -> "RunLogger":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        with contextlib.suppress(OSError):  # keep the error on its way out, not the log's
            self.close()


def read_log(path: str) -> list[dict[str, Any]]:
    """Records of a ``log.jsonl`` file (or of the run directory holding one).

    The last record of each (member, step) wins (a resumed run repeats steps);
    records are returned sorted by (member, step). An undecodable line (a write
    cut by a kill) is skipped with a warning naming the file and line.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, LOG_FILE)
    latest: dict[tuple[Any, int], dict[str, Any]] = {}
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                key = (record.get("member"), int(record["step"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                warnings.warn(f"{path}: line {number}: not a log record, skipped", RuntimeWarning, stacklevel=2)
                continue
            latest[key] = record
    return [latest[k] for k in sorted(latest, key=lambda k: (-1 if k[0] is None else k[0], k[1]))]


def progress_enabled(disable: bool | None = None) -> bool:
    """Progress bars show only on a terminal, unless ``disable`` or $PHOTOZ_NO_PROGRESS says no."""
    if disable is not None:
        return not disable
    if os.environ.get(NO_PROGRESS_ENV, "").strip() not in ("", "0", "false", "False"):
        return False
    return sys.stderr.isatty()


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str | None = None,
             unit: str = "step", initial: int = 0, disable: bool | None = None) -> tqdm:
    """A tqdm progress bar with rate and ETA (elapsed<remaining), or a silent one.

    ``initial`` starts the bar at a resumed step. Silent when stderr is not a TTY,
    when $PHOTOZ_NO_PROGRESS is set (not "0"), or when ``disable=True``.
    """
    return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial,
                disable=not progress_enabled(disable), dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]")
