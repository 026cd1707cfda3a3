"""Input pipeline: epoch order, padding, sharding, band statistics."""

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec

from multimodal_photoz import preprocess
from multimodal_photoz.data import open_dataset, write_dataset
from multimodal_photoz.data.pipeline import (band_statistics, global_batches, iterate_batches,
                                             process_rows)

N = 37


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    rng = np.random.default_rng(0)
    mask = np.ones((N, 3), bool)
    mask[::5, 2] = False
    path = write_dataset(tmp_path_factory.mktemp("p") / "ds", bands="gri", name="pipe",
                         images=rng.gamma(1.0, 3.0, size=(N, 4, 4, 3)) - 1.0,
                         z_spec=rng.uniform(0, 2, N), ebv=rng.uniform(0, 0.1, N),
                         ids=np.arange(N) * 3 + 1000, band_mask=mask)
    return open_dataset(path)


def _epoch(source, indices, **kw):
    kw = dict(dict(batch_size=8, seed=0, epoch=0), **kw)
    return list(iterate_batches(source, indices, **kw))


def _ids(batches):
    return np.concatenate([b["id"][np.asarray(b["weight"]) > 0] for b in batches])


def test_every_index_once_per_epoch_with_padding_of_weight_zero(source):
    indices = np.arange(3, N)                              # 34 objects: 4 full batches + 2
    batches = _epoch(source, indices, drop_remainder=False)
    assert len(batches) == 5
    ids = source.catalogue()["id"]
    assert sorted(_ids(batches)) == sorted(ids[indices])
    last = batches[-1]
    np.testing.assert_array_equal(np.asarray(last["weight"]), [1, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(last["id"][2:], -1)
    assert float(np.abs(np.asarray(last["image"])[2:]).max()) == 0.0
    dropped = _epoch(source, indices, drop_remainder=True)
    assert len(dropped) == 4 and len(set(_ids(dropped))) == 32


def test_batches_hold_the_objects_named_by_their_ids(source):
    by_id = {int(i): k for k, i in enumerate(source.catalogue()["id"])}
    batch = _epoch(source, np.arange(N), seed=3)[1]
    for row, obj in enumerate(batch["id"]):
        item = source[by_id[int(obj)]]
        np.testing.assert_array_equal(np.asarray(batch["image"])[row], item["image"])
        assert np.asarray(batch["z_spec"])[row] == item["z_spec"]
        assert np.asarray(batch["ebv"])[row] == item["ebv"]
        np.testing.assert_array_equal(np.asarray(batch["band_mask"])[row], item["band_mask"])
    assert batch["id"].dtype == np.int64 and isinstance(batch["id"], np.ndarray)


def test_order_is_fixed_by_seed_and_epoch(source):
    indices = np.arange(N)
    order = lambda **kw: np.concatenate([b["id"] for b in _epoch(source, indices, **kw)])
    np.testing.assert_array_equal(order(seed=1, epoch=2), order(seed=1, epoch=2))
    assert not np.array_equal(order(seed=1, epoch=2), order(seed=1, epoch=3))
    assert not np.array_equal(order(seed=1, epoch=2), order(seed=2, epoch=2))
    ids = source.catalogue()["id"]
    np.testing.assert_array_equal(order(shuffle=False), ids[:32])
    np.testing.assert_array_equal(order(seed=1, epoch=2, start=3), order(seed=1, epoch=2)[24:])


def test_arrays_are_sharded_over_the_data_axis(source):
    mesh = jax.make_mesh((1,), ("data",))
    batch = _epoch(source, np.arange(N), mesh=mesh, read_threads=0)[0]
    for key in ("image", "ebv", "z_spec", "band_mask", "weight"):
        assert batch[key].sharding == NamedSharding(mesh, PartitionSpec("data"))
        assert batch[key].dtype == np.float32 and batch[key].shape[0] == 8
    assert batch["image"].shape == (8, 4, 4, 3) and batch["band_mask"].shape == (8, 3)
    with pytest.raises(ValueError, match="not divisible by the 3 processes"):
        _epoch(source, np.arange(N), process_count=3, process_index=0)


def test_processes_split_each_global_batch_into_disjoint_parts():
    batches = global_batches(np.arange(20), batch_size=8, seed=0, epoch=0, drop_remainder=False)
    parts = [batches[:, process_rows(8, p, 4)] for p in range(4)]
    assert all(part.shape == (3, 2) for part in parts)
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), batches)
    assert sorted(batches[batches >= 0]) == list(range(20))


def test_band_statistics_equal_direct_numpy(source):
    train = np.arange(0, N, 2)
    stats = band_statistics(source, train, batch_size=5)
    images = np.stack([source[i]["image"] for i in train]).astype(np.float64)
    mask = np.stack([source[i]["band_mask"] for i in train])
    for c in range(3):
        pixels = preprocess.compress(images[mask[:, c], ..., c])
        np.testing.assert_allclose(stats.mean[c], pixels.mean(), rtol=1e-6)
        np.testing.assert_allclose(stats.std[c], pixels.std(), rtol=1e-6)


def test_four_devices_get_their_quarter_of_each_batch(source):
    script = textwrap.dedent(f"""
        import jax
        jax.config.update("jax_num_cpu_devices", 4)
        import numpy as np
        from multimodal_photoz.data import open_dataset
        from multimodal_photoz.data.pipeline import iterate_batches
        source = open_dataset({str(source.path)!r})
        mesh = jax.make_mesh((4,), ("data",))
        assert len(mesh.devices.flat) == 4
        for batch in iterate_batches(source, np.arange(37), batch_size=8, seed=0, epoch=0,
                                     drop_remainder=False, mesh=mesh):
            shards = batch["image"].addressable_shards
            assert len({{s.device for s in shards}}) == 4
            assert all(s.data.shape == (2, 4, 4, 3) for s in shards)
            full = source.read_batch([{{int(i): k for k, i in
                                      enumerate(source.catalogue()["id"])}}.get(int(i), -1)
                                      for i in batch["id"]])
            np.testing.assert_array_equal(np.asarray(batch["image"]), full["image"])
        print("ok")
    """)
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
