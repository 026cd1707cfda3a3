"""Checkpoints of one ensemble member, safe against a kill at any moment.

Every orbax call of the project lives in this module, so that the on-disk layout
and its failure modes are handled in one place.

Layout of one member directory (orbax-checkpoint 0.12.x, local file system)::

    <member>/
      <step>/                      one finalized checkpoint per kept step
        commit_success.txt         written by orbax just before the atomic rename
        _CHECKPOINT_METADATA       orbax step metadata (JSON)
        state/                     the state pytree (OCDBT/zarr, StandardSave)
        meta/metadata              the caller's JSON dict (JsonSave)
        checksums/metadata         CRC32, dtype and shape of every state leaf
      <step>.orbax-checkpoint-tmp  a save in progress (or killed); never read
      corrupt/<step>-<time_ns>/    steps that failed to restore, moved aside
      finished.json                written atomically when the member is done

orbax writes a step into ``<step>.orbax-checkpoint-tmp``, writes
``commit_success.txt`` into it, then renames it to ``<step>``; a kill -9 before
the rename leaves only the tmp directory, which orbax never lists as a step and
deletes (``cleanup_tmp_directories``) before the next save of a reopened member.
A step directory damaged afterwards (files truncated or removed, no commit
marker, wrong checksum) is skipped by :meth:`MemberCheckpoints.restore`, which
falls back to the previous step when resuming; asked for one exact step (the
final step of a finished member), it fails instead. The CRC32 of every leaf is needed because
tensorstore's OCDBT checks its b-tree nodes (CRC-32C) but not the array bytes:
a flipped byte in a data file otherwise restores silently as a different value.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
import zlib
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from multimodal_photoz import files

log = logging.getLogger(__name__)

STATE, META, CHECKSUMS = "state", "meta", "checksums"
COMMIT_MARKER = "commit_success.txt"
FINISHED_FILE = "finished.json"
QUARANTINE_DIR = "corrupt"


class CheckpointWarning(RuntimeWarning):
    """A checkpoint step was unreadable and a previous one was used instead."""


class NoValidCheckpointError(ValueError):
    """No step of a member directory could be restored (a damaged run: the
    message names the member and its directory and says how to retrain it)."""


def _host_array(leaf: Any) -> np.ndarray:
    """Host copy of a leaf; typed PRNG keys become their uint32 key data."""
    if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        leaf = jax.random.key_data(leaf)
    return np.asarray(jax.device_get(leaf))


def _is_addressable(leaf: Any) -> bool:
    return not isinstance(leaf, jax.Array) or leaf.is_fully_addressable


def state_checksums(state: Any) -> dict[str, dict[str, Any]] | None:
    """CRC32, dtype and shape of every leaf, keyed by its pytree path.

    Returns None when some leaf lives on other hosts (cannot be read here).
    """
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    if not all(_is_addressable(leaf) for _, leaf in leaves):
        return None
    out = {}
    for path, leaf in leaves:
        host = np.asarray(_host_array(leaf), order="C")  # keeps 0-d shapes
        out[jax.tree_util.keystr(path)] = {
            "crc32": zlib.crc32(host.reshape(-1).view(np.uint8)),  # no copy
            "dtype": str(host.dtype),
            "shape": list(host.shape),
        }
    return out


def _checksum_mismatches(state: Any, expected: dict[str, dict[str, Any]] | None) -> list[str]:
    """Paths of leaves whose restored bytes differ from the saved checksum.

    Leaves restored with another dtype/shape than saved (a caller's cast) are
    not compared: their bytes legitimately differ.
    """
    if not expected:
        return []
    actual = state_checksums(state)
    if actual is None:
        return []
    bad = []
    for key, ref in expected.items():
        got = actual.get(key)
        if got is None:
            bad.append(f"{key} (missing)")
        elif got["dtype"] == ref["dtype"] and got["shape"] == ref["shape"] and got["crc32"] != ref["crc32"]:
            bad.append(key)
    return bad


def _as_saveable(state: Any) -> Any:
    """numpy scalars -> 0-d arrays (orbax's StandardSave refuses np.generic)."""
    return jax.tree.map(lambda x: np.asarray(x) if isinstance(x, (np.generic, int, float)) else x, state)


def _as_abstract(target: Any) -> Any:
    """Concrete arrays -> jax.ShapeDtypeStruct (keeping their sharding).

    numpy leaves stay numpy (they restore as numpy arrays); ShapeDtypeStruct
    leaves pass unchanged (sharding None restores on the default device).
    """
    def one(x):
        if isinstance(x, jax.Array):
            return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding)
        if isinstance(x, (np.generic, int, float)):
            return np.asarray(x)
        return x

    return jax.tree.map(one, target)


class MemberCheckpoints:
    """Checkpoints of one ensemble member (one directory).

    Args:
      directory: the member directory (created if missing).
      max_to_keep: number of most recent steps kept (>= 2 so that a damaged
        latest step still leaves one to fall back to).
      save_interval_steps: ``save`` is a no-op unless ``step`` is a multiple
        (or ``force=True``).
      async_save: write in a background thread (call :meth:`wait` before exit).
      read_only: only restore: create nothing, clean nothing (prediction must
        not touch a run, whose members may be training in another process).
      member: how error messages name the member, e.g. ``"member fold0_seed0
        (fold 0, seed 0)"``.
    """

    def __init__(self, directory: str, *, max_to_keep: int = 2, save_interval_steps: int = 1,
                 async_save: bool = False, read_only: bool = False, member: str = "this member"):
        self.directory = os.path.abspath(os.fspath(directory))
        self.member = member
        if read_only and not os.path.isdir(self.directory):
            raise FileNotFoundError(f"{self.directory}: no checkpoints")
        self._options = ocp.CheckpointManagerOptions(
            create=not read_only,
            # a save killed before its rename leaves a tmp dir: drop it on reopen
            cleanup_tmp_directories=not read_only,
            enable_async_checkpointing=async_save,
            save_decision_policy=ocp.checkpoint_managers.FixedIntervalPolicy(save_interval_steps),
            preservation_policy=ocp.checkpoint_managers.LatestN(max_to_keep),
        )
        self._manager = ocp.CheckpointManager(self.directory, options=self._options)

    # -- steps -----------------------------------------------------------------
    def all_steps(self) -> list[int]:
        """Finalized steps on disk, ascending (damaged ones included until restore)."""
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        """Latest finalized step, or None if the member has no checkpoint."""
        return self._manager.latest_step()

    def step_dir(self, step: int) -> str:
        return os.path.join(self.directory, str(step))

    # -- save ------------------------------------------------------------------
    def save(self, step: int, state: Any, meta: dict[str, Any], force: bool = False) -> bool:
        """Save ``state`` (pytree of jax/numpy arrays) and ``meta`` (JSON dict) at ``step``.

        Returns True if a checkpoint was written; False when the interval policy
        skips this step, when ``step`` is not after the latest saved step, or (even
        with ``force``) when ``step`` is already saved. Typed PRNG keys are
        accepted; plain uint32 key data too.
        """
        if int(step) in self.all_steps():  # e.g. a forced final save on an interval step
            log.info("%s: step %d already saved", self.directory, step)
            return False
        state = _as_saveable(state)
        args = ocp.args.Composite(**{
            STATE: ocp.args.StandardSave(state),
            META: ocp.args.JsonSave(dict(meta)),
            CHECKSUMS: ocp.args.JsonSave({"leaves": state_checksums(state)}),
        })
        return bool(self._manager.save(int(step), args=args, force=force))

    def wait(self) -> None:
        """Block until any background save has been committed."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        """Wait for saves and release orbax resources."""
        self._manager.close()

    def __enter__(self) -> "MemberCheckpoints":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- restore ---------------------------------------------------------------
    def _restore_step(self, step: int, abstract: Any) -> tuple[Any, dict[str, Any]]:
        """Restore one step or raise (any exception means: unusable step)."""
        path = self.step_dir(step)
        missing = [n for n in (COMMIT_MARKER, STATE, META) if not os.path.exists(os.path.join(path, n))]
        if missing:
            raise FileNotFoundError(f"{path}: missing {', '.join(missing)} (partial checkpoint)")
        items = {STATE: ocp.args.StandardRestore(abstract), META: ocp.args.JsonRestore()}
        has_checksums = os.path.isdir(os.path.join(path, CHECKSUMS))
        if has_checksums:
            items[CHECKSUMS] = ocp.args.JsonRestore()
        restored = self._manager.restore(step, args=ocp.args.Composite(**items))
        expected = restored[CHECKSUMS]["leaves"] if has_checksums else None
        bad = _checksum_mismatches(restored[STATE], expected)
        if bad:
            raise ValueError(f"{path}: checksum mismatch for {', '.join(bad[:5])}")
        return restored[STATE], dict(restored[META])

    def _quarantine(self, step: int) -> str:
        """Move a damaged step aside so that the step number can be saved again."""
        dest_dir = os.path.join(self.directory, QUARANTINE_DIR)
        os.makedirs(dest_dir, exist_ok=True)
        dest = os.path.join(dest_dir, f"{step}-{time.time_ns()}")
        os.replace(self.step_dir(step), dest)
        return dest

    def restore(self, target: Any, step: int | None = None) -> tuple[int, Any, dict[str, Any]]:
        """Restore the latest readable step (or exactly ``step`` if given).

        Args:
          target: pytree like the saved state: concrete arrays (their shapes,
            dtypes and shardings are used) or ``jax.ShapeDtypeStruct`` leaves
            (optionally with ``sharding``; None means the default device).
            numpy leaves restore as numpy arrays.
          step: restore this step only (no fallback).

        Returns:
          ``(step, state, meta)``; arrays are bit-identical to what was saved.

        Without ``step``, a step that cannot be read (partial, truncated, checksum
        mismatch) is reported with a :class:`CheckpointWarning` naming it, the
        previous step is tried, and once one succeeds the damaged newer steps are
        moved to ``<member>/corrupt/``. Raises FileNotFoundError when there is no
        checkpoint and NoValidCheckpointError (one line, nothing moved, no
        warning for an exact ``step``) when none restores.
        """
        self.wait()
        abstract = _as_abstract(target)
        candidates = [step] if step is not None else sorted(self.all_steps(), reverse=True)
        if not candidates:
            raise FileNotFoundError(f"{self.directory}: no checkpoint to restore")
        failures: list[tuple[int, str]] = []
        for s in candidates:
            try:
                state, meta = self._restore_step(s, abstract)
            except Exception as err:  # orbax/tensorstore/json raise many types on damage
                reason = " ".join(f"{type(err).__name__}: {str(err)[:300]}".split())
                failures.append((s, reason))
                if step is None:  # an older step will be tried: say which one was skipped
                    msg = f"{self.step_dir(s)}: checkpoint step {s} is unreadable ({reason})"
                    warnings.warn(msg, CheckpointWarning, stacklevel=2)
                    log.warning(msg)
                continue
            for bad_step, _ in failures:
                log.warning("moved damaged step %d to %s", bad_step, self._quarantine(bad_step))
            if failures:
                self._manager.reload()
            return s, state, meta
        raise self._unrestorable(failures, step)

    def _unrestorable(self, failures: list[tuple[int, str]], step: int | None
                      ) -> NoValidCheckpointError:
        """The one-line error of a member none of whose ``failures`` (step, reason) restored."""
        which = (f"checkpoint step {step} of {self.member} cannot" if step is not None
                 else f"no kept checkpoint of {self.member} can")
        details = "; ".join(f"step {s}: {reason[:200]}" for s, reason in failures)
        return NoValidCheckpointError(
            f"{self.directory}: {which} be restored ({details}); nothing was moved. To train "
            f"{self.member} again from scratch, remove {self.directory} and rerun the "
            "training command")

    # -- finished marker -------------------------------------------------------
    @property
    def finished_path(self) -> str:
        return os.path.join(self.directory, FINISHED_FILE)

    def mark_finished(self, payload: dict[str, Any]) -> None:
        """Record that this member finished training (atomic JSON write)."""
        self.wait()
        files.write_json(self.finished_path, {"finished_unix_s": time.time(), **payload})

    def is_finished(self) -> bool:
        """True if :meth:`mark_finished` completed for this member."""
        return os.path.isfile(self.finished_path)

    def finished_payload(self) -> dict[str, Any] | None:
        """The payload given to :meth:`mark_finished`, or None if not finished."""
        return read_finished(self.directory)


def read_finished(directory: str) -> dict[str, Any] | None:
    """The finished marker of the member checkpoints in ``directory`` (None if
    the member has not finished), read without opening (or creating) anything."""
    path = os.path.join(os.fspath(directory), FINISHED_FILE)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: unreadable finished marker ({e})") from e
