"""The parts folder of a streaming ``photoz predict``: ``<OUT>.parts/``, beside
the output, holds each finished chunk of rows until they are joined into OUT.

    manifest.json      what the parts belong to (``manifest``): the run (workdir,
                       hash of its config.json, each member's finished.json), the
                       data (path as given, data fingerprint), chunk size, number
                       of objects, options (pdf dtype) and the package version
    chunk-000000.h5    rows [0, C) of OUT, in the predictions.h5 format with
    chunk-000001.h5    the catalogue's z_lo68, z_hi68, odds as extra datasets,
    ...                Fletcher-32 checksums on every dataset, and attributes
                       chunk, row_start, row_stop, manifest_sha256

Chunk k holds rows [k C, min((k+1) C, N)). Every file is written atomically,
so after a ``kill -9`` a part is whole or absent (a leftover hidden temporary
file is ignored, and removed with the folder); a part that nonetheless fails
to open, names other rows or another manifest, or fails its checksums or the
predictions checks when joined, is computed again, never trusted. The folder
is removed once OUT (and the catalogue) are in place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from typing import Any

import h5py
import numpy as np

from multimodal_photoz import files
from multimodal_photoz.data.format import ids as id_kinds

PARTS_SUFFIX = ".parts"
MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1


def parts_folder(out: str) -> str:
    """``<out>.parts``: where the parts of ``out`` are kept."""
    return os.fspath(out) + PARTS_SUFFIX


def part_path(folder: str, chunk: int) -> str:
    return os.path.join(folder, f"chunk-{chunk:06d}.h5")


@dataclasses.dataclass(frozen=True)
class ChunkPlan:
    """N objects in chunks of ``chunk_size`` rows, in order."""

    n_objects: int
    chunk_size: int

    @property
    def n_chunks(self) -> int:
        return -(-self.n_objects // self.chunk_size)

    def rows(self, chunk: int) -> slice:
        start = chunk * self.chunk_size
        return slice(start, min(start + self.chunk_size, self.n_objects))

    def chunks_of(self, process_index: int, process_count: int) -> list[int]:
        """The chunks process ``process_index`` of ``process_count`` predicts (k mod P = p)."""
        return list(range(process_index, self.n_chunks, process_count))


def digest(manifest: dict[str, Any]) -> str:
    """SHA-256 (hex, 16 characters) of a manifest, as stored in every part."""
    text = json.dumps(files.to_jsonable(manifest), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    if old == new:
        return []
    name = prefix.rstrip(".")
    short = all(len(repr(v)) <= 40 for v in (old, new))
    return [f"{name} {old!r} in the folder, {new!r} now" if short else name]


def check_manifest(folder: str, expected: dict[str, Any]) -> None:
    """Refuses a parts folder written for another prediction (nothing there is touched).

    Raises:
      ValueError: the folder's manifest differs from ``expected`` (one line
        naming the folder and every differing field), is unreadable, or the
        folder holds parts but no manifest.
    """
    path = os.path.join(folder, MANIFEST_FILE)
    if not os.path.isdir(folder):
        return
    if not os.path.isfile(path):
        if any(not name.startswith(".") for name in os.listdir(folder)):
            raise ValueError(f"{folder}: not a parts folder of photoz predict (no "
                             f"{MANIFEST_FILE}); delete it or give another --out")
        return
    try:
        with open(path, encoding="utf-8") as f:
            stored = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: unreadable manifest ({err}); delete {folder} to start "
                         "over") from err
    changed = _differences(stored, files.to_jsonable(expected))
    if changed:
        raise ValueError(f"{folder}: holds the parts of another prediction (differs: "
                         f"{'; '.join(changed)}); rerun with the same run, data, --chunk-size "
                         f"and --pdf-dtype, or delete {folder} to start over")


def create(folder: str, expected: dict[str, Any]) -> None:
    """Makes the folder and writes its manifest, unless it is there already
    (``check_manifest`` first)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, MANIFEST_FILE)
    if not os.path.isfile(path):
        files.write_json(path, expected)


def is_complete(folder: str, chunk: int, rows: slice, manifest_digest: str) -> bool:
    """Whether chunk ``chunk``'s part opens and says it holds ``rows`` of this
    manifest (the data themselves are checked when joined: ``read_part``)."""
    try:
        with h5py.File(part_path(folder, chunk), "r") as f:
            return (f.attrs.get("manifest_sha256") == manifest_digest
                    and int(f.attrs.get("row_start", -1)) == rows.start
                    and int(f.attrs.get("row_stop", -1)) == rows.stop
                    and "pdf" in f and f["pdf"].shape[0] == rows.stop - rows.start)
    except (OSError, KeyError, ValueError, TypeError):
        return False


def part_attrs(chunk: int, rows: slice, manifest_digest: str) -> dict[str, Any]:
    """The attributes that tie a part to its chunk and manifest."""
    return {"chunk": int(chunk), "row_start": int(rows.start), "row_stop": int(rows.stop),
            "manifest_sha256": manifest_digest}


def read_part(folder: str, chunk: int, rows: slice, manifest_digest: str,
              ids: np.ndarray) -> dict[str, np.ndarray] | None:
    """Every per-object dataset of a part (ids decoded, ``pdf`` as stored), or
    None when the part is missing or cannot be trusted: unreadable, a failed
    checksum, other rows or manifest, or ids other than ``ids`` ((n,), the data
    set's ids of ``rows``)."""
    if not is_complete(folder, chunk, rows, manifest_digest):
        return None
    try:
        with h5py.File(part_path(folder, chunk), "r") as f:
            out = {name: f[name][()] for name in f if name != "bin_edges"}
    except (OSError, KeyError, ValueError):  # a Fletcher-32 mismatch reads as OSError
        return None
    out["id"] = id_kinds.as_stored(out["id"])
    if out["id"].shape != ids.shape or not np.array_equal(out["id"], ids):
        return None
    return out


def remove(folder: str) -> None:
    """Removes the parts folder (once OUT is in place)."""
    shutil.rmtree(folder, ignore_errors=True)
