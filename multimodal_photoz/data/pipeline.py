"""Input pipeline: shuffled, batched, device-sharded batches from a data set.

The host only reads and batches raw fluxes; compression, standardization and
augmentation run on device inside the compiled step (``preprocess``).

Order: epoch ``e`` with seed ``s`` visits ``indices`` in the permutation drawn
by ``numpy.random.default_rng([s, e])``; global batch ``b`` is its slice
``[b*B, (b+1)*B)``. With several processes, process ``p`` of ``P`` reads rows
``[p*B/P, (p+1)*B/P)`` of every global batch (the rows its devices hold on a
``jax.make_mesh`` mesh, whose devices are ordered by process). With
``drop_remainder=False`` the last batch is completed with padding rows of
weight 0 (zeros, id -1, or '' for string ids), so every object is seen exactly once. Reading runs
in grain threads ahead of the consumer.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from multimodal_photoz.data.format import ids as id_kinds
from multimodal_photoz.preprocess import BandMoments, BandStats

# Batch columns sent to device, with their on-device dtype.
DEVICE_COLUMNS = {"image": np.float32, "ebv": np.float32, "z_spec": np.float32,
                  "band_mask": np.float32, "weight": np.float32}


def epoch_order(indices, *, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    """The order in which epoch ``epoch`` visits ``indices``.

    Args:
      indices: (N,) object indices into the data set.
      seed, epoch: non-negative integers; the same pair gives the same order.
      shuffle: False keeps the order given.
    Returns:
      (N,) int64.
    """
    indices = np.asarray(indices, np.int64).reshape(-1)
    if not shuffle:
        return indices.copy()
    rng = np.random.default_rng([int(seed), int(epoch)])
    return indices[rng.permutation(len(indices))]


def global_batches(indices, *, batch_size: int, seed: int, epoch: int, shuffle: bool = True,
                   drop_remainder: bool = True) -> np.ndarray:
    """Indices of every global batch of an epoch, -1 marking padding rows.

    Returns:
      (n_batches, batch_size) int64.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    order = epoch_order(indices, seed=seed, epoch=epoch, shuffle=shuffle)
    n_batches = len(order) // batch_size if drop_remainder else -(-len(order) // batch_size)
    padded = np.full(n_batches * batch_size, -1, np.int64)
    kept = min(len(order), len(padded))
    padded[:kept] = order[:kept]
    return padded.reshape(n_batches, batch_size)


def process_rows(batch_size: int, process_index: int, process_count: int) -> slice:
    """Rows of each global batch that process ``process_index`` reads."""
    if batch_size % process_count:
        raise ValueError(f"batch_size {batch_size} is not divisible by the {process_count} "
                         "processes")
    if not 0 <= process_index < process_count:
        raise ValueError(f"process_index {process_index} not in [0, {process_count})")
    local = batch_size // process_count
    return slice(process_index * local, (process_index + 1) * local)


class _ReadBatch:
    """grain map: local batch indices -> host numpy batch of the chosen bands."""

    def __init__(self, source, channels=None):
        self.source = source
        self.channels = None if channels is None else np.asarray(channels, np.int64)

    def __call__(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        batch = self.source.read_batch(rows)
        if self.channels is not None:
            batch["image"] = batch["image"][..., self.channels]
            batch["band_mask"] = batch["band_mask"][..., self.channels]
        batch["weight"] = (np.asarray(rows) >= 0).astype(np.float32)
        return {k: np.asarray(batch[k], DEVICE_COLUMNS[k]) for k in DEVICE_COLUMNS}


def _data_sharding(mesh, batch_size: int):
    import jax
    from jax.sharding import NamedSharding, PartitionSpec

    if mesh is None:
        mesh = jax.make_mesh((jax.device_count(),), ("data",))
    if "data" not in mesh.shape:
        raise ValueError(f"mesh axes {tuple(mesh.shape)} have no 'data' axis")
    if batch_size % mesh.shape["data"]:
        raise ValueError(f"batch_size {batch_size} is not divisible by the mesh's "
                         f"{mesh.shape['data']} 'data' devices")
    return NamedSharding(mesh, PartitionSpec("data"))


def iterate_batches(source, indices, *, batch_size: int, seed: int, epoch: int,
                    shuffle: bool = True, drop_remainder: bool = True, mesh=None,
                    process_index: int | None = None, process_count: int | None = None,
                    read_threads: int = 2, prefetch: int = 2, start: int = 0,
                    channels=None) -> Iterator[dict]:
    """Yields the epoch's batches as global jax Arrays sharded over 'data'.

    Args:
      source: a ``PhotozSource`` (anything with ``read_batch`` and ``catalogue``).
      indices: (N,) object indices to visit (e.g. the training fold).
      batch_size: global batch size B (divisible by processes and 'data' devices).
      seed, epoch: fix the order (same pair, same order).
      shuffle: permute the indices (else keep their order).
      drop_remainder: drop the last incomplete batch; False pads it with
        weight-0 rows so that every object appears exactly once.
      mesh: a mesh with a 'data' axis (default: every device on one axis).
      process_index, process_count: this host's part (default from jax).
      read_threads: grain threads reading batches ahead (0 reads inline).
      prefetch: batches read ahead.
      start: first batch to yield; earlier ones are not read (resuming mid-epoch).
      channels: (C,) indices of the data set's bands to keep, in this order
        (``band_channels``); None keeps every band.
    Yields:
      {'image': (B,S,S,C) f32 raw fluxes, 'ebv': (B,) f32, 'z_spec': (B,) f32,
       'band_mask': (B,C) f32, 'weight': (B,) f32} jax Arrays and
      'id': (B,) numpy ids of the whole global batch, int64 or unicode like the
      catalogue's (-1 or '' for padding: ``ids.usable``).
    """
    import grain
    import jax

    sharding = _data_sharding(mesh, batch_size)
    p_index = jax.process_index() if process_index is None else process_index
    p_count = jax.process_count() if process_count is None else process_count
    mine = process_rows(batch_size, p_index, p_count)
    batches = global_batches(indices, batch_size=batch_size, seed=seed, epoch=epoch,
                             shuffle=shuffle, drop_remainder=drop_remainder)[start:]
    if len(batches) == 0:
        return
    ids = source.catalogue()["id"]
    read = _ReadBatch(source, channels)
    if read_threads > 0:
        hosts = grain.MapDataset.source([b[mine] for b in batches]).map(read).to_iter_dataset(
            grain.ReadOptions(num_threads=read_threads,
                              prefetch_buffer_size=max(prefetch, read_threads)))
    else:
        hosts = (read(b[mine]) for b in batches)
    for rows, host in zip(batches, hosts):
        batch = {k: jax.make_array_from_process_local_data(
            sharding, v, (batch_size,) + v.shape[1:]) for k, v in host.items()}
        batch["id"] = id_kinds.as_stored(
            np.where(rows >= 0, ids[np.maximum(rows, 0)], id_kinds.padding(ids)))
        yield batch


def band_channels(data_bands, model_bands, data_path: str) -> np.ndarray | None:
    """Channels of a data set that a model reads, in the model's band order
    (None: every channel, in order).

    Raises:
      ValueError: the model asks for a band the data set does not have.
    """
    data_bands, model_bands = list(data_bands), list(model_bands)
    missing = [b for b in model_bands if b not in data_bands]
    if missing:
        raise ValueError(f"{data_path}: the data set has bands {''.join(data_bands)!r}; "
                         f"the model asks for {''.join(missing)!r} too")
    channels = np.array([data_bands.index(b) for b in model_bands], np.int64)
    return None if channels.tolist() == list(range(len(data_bands))) else channels


def band_statistics(source, indices, batch_size: int = 256, channels=None) -> BandStats:
    """Per-band mean and std of compressed pixels over the given (training) objects.

    Absent bands of an object are left out of that band's statistics.

    Args:
      source: a ``PhotozSource``.
      indices: (N,) training object indices only (never validation/test).
      batch_size: objects read at a time.
      channels: as in ``iterate_batches``.
    Returns:
      ``BandStats`` with (C,) mean and std of the chosen bands.
    """
    indices = np.asarray(indices, np.int64).reshape(-1)
    if len(indices) == 0:
        raise ValueError("band_statistics needs at least one object")
    read = _ReadBatch(source, channels)
    moments = None
    for start in range(0, len(indices), batch_size):
        batch = read(np.sort(indices[start:start + batch_size]))
        if moments is None:
            moments = BandMoments.zeros(batch["image"].shape[-1])
        moments.add(batch["image"], batch["band_mask"])
    return BandStats.from_moments(moments)


def n_batches(n_objects: int, batch_size: int, drop_remainder: bool = True) -> int:
    """Number of batches ``iterate_batches`` yields for ``n_objects`` indices."""
    return n_objects // batch_size if drop_remainder else -(-n_objects // batch_size)

