"""Data sets: write/read round trips, the side catalogue, folds, checks."""

import json
import os

import numpy as np
import pytest

from multimodal_photoz.data import (BadInputError, DatasetWriter, fold_of, open_dataset,
                                    write_dataset)
from multimodal_photoz.data.format import checks, layout, wire
from multimodal_photoz.data.format.folds import splitmix64


def _arrays(n=12, stamp=6, bands="griz", seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((n, len(bands)), bool)
    mask[2, 1] = False
    return dict(images=rng.normal(size=(n, stamp, stamp, len(bands))).astype(np.float32),
                z_spec=rng.uniform(0, 3, n).astype(np.float32),
                ebv=rng.uniform(0, 0.2, n).astype(np.float32),
                ids=rng.choice(10**9, n, replace=False).astype(np.int64),
                band_mask=mask,
                mags={"r": np.where(np.arange(n) % 3 == 0, np.nan, rng.uniform(18, 25, n))},
                extras={"log_mass": rng.normal(10, 1, n), "n_exp": np.arange(n),
                        "is_red": np.arange(n) % 2 == 0})


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    arrays = _arrays()
    path = write_dataset(tmp_path_factory.mktemp("d") / "ds", bands="griz", name="toy-set",
                         metadata={"survey": "test", "zeropoint_ab": 27.0}, **arrays)
    return path, arrays


def test_round_trip_values_dtypes_and_metadata(written):
    path, a = written
    source = open_dataset(path)
    assert len(source) == 12 and source.bands == ("g", "r", "i", "z") and source.stamp_size == 6
    assert source.metadata == {"survey": "test", "zeropoint_ab": 27.0}
    for i in range(len(source)):
        item = source[i]
        expected = np.where(a["band_mask"][i], a["images"][i], 0.0)  # absent band -> zeros
        np.testing.assert_array_equal(item["image"], expected)
        assert item["image"].dtype == np.float32 and item["image"].shape == (6, 6, 4)
        assert item["z_spec"] == a["z_spec"][i] and item["z_spec"].dtype == np.float32
        assert item["ebv"] == a["ebv"][i] and item["ebv"].dtype == np.float32
        assert item["id"] == a["ids"][i] and item["id"].dtype == np.int64
        assert item["fold"] == fold_of(a["ids"][i : i + 1])[0] and item["fold"].dtype == np.int32
        np.testing.assert_array_equal(item["band_mask"], a["band_mask"][i])
        np.testing.assert_array_equal(item["mag_r"], np.float32(a["mags"]["r"][i]))
        assert item["log_mass"] == np.float32(a["extras"]["log_mass"][i])
        assert item["n_exp"] == i and item["n_exp"].dtype == np.int64
        assert item["is_red"] == (i % 2 == 0)


def test_catalogue_equals_per_item_reads(written):
    path, _ = written
    source = open_dataset(path)
    cat = source.catalogue()
    assert set(cat) == {"z_spec", "ebv", "id", "fold", "band_mask", "mag_r", "log_mass",
                        "n_exp", "is_red"}
    items = source.__getitems__(list(range(len(source))))
    for name, column in cat.items():
        assert len(column) == len(source)
        np.testing.assert_array_equal(column, np.stack([it[name] for it in items]))


def test_tensorflow_datasets_reads_the_same_objects_without_tensorflow(written):
    import sys

    import tensorflow_datasets as tfds

    path, _ = written
    tf_source = tfds.builder_from_directory(str(path)).as_data_source(layout.SPLIT)
    ours = open_dataset(path)
    assert len(tf_source) == len(ours)
    for i in (0, 2, 11):
        theirs = tf_source[i]
        for name, value in ours[i].items():
            np.testing.assert_array_equal(np.asarray(theirs[name]), value)
    assert "tensorflow" not in sys.modules


def test_read_batch_pads_with_zero_rows_and_matches_items(written):
    path, _ = written
    source = open_dataset(path)
    batch = source.read_batch([5, -1, 0])
    np.testing.assert_array_equal(batch["image"][0], source[5]["image"])
    np.testing.assert_array_equal(batch["image"][1], 0.0)
    assert batch["id"][1] == -1 and not batch["band_mask"][1].any()
    assert batch["z_spec"][2] == source[0]["z_spec"]


def test_source_pickles_for_worker_processes(written):
    import pickle

    path, _ = written
    source = open_dataset(path)
    copy = pickle.loads(pickle.dumps(source))
    np.testing.assert_array_equal(copy[7]["image"], source[7]["image"])
    assert copy.bands == source.bands and len(copy) == len(source)


def test_wire_reader_agrees_with_protobuf(written):
    from tensorflow_datasets.proto import tf_example_pb2

    path, _ = written
    source = open_dataset(path)
    for record in source._records(np.arange(len(source))):
        offset, length, obj_id = wire.image_and_id(record)
        feature = tf_example_pb2.Example.FromString(record).features.feature
        assert record[offset:offset + length] == feature["image"].bytes_list.value[0]
        assert obj_id == feature["id"].int64_list.value[0]
    assert wire.image_and_id(b"\x0a\x05junk") is None


def test_streaming_writer_makes_several_shards(tmp_path):
    a = _arrays(n=10, bands="ugr")
    with DatasetWriter(tmp_path / "ds", bands="ugr", name="s", objects_per_shard=3) as w:
        for lo in range(0, 10, 4):
            part = slice(lo, lo + 4)
            w.add(images=a["images"][part], z_spec=a["z_spec"][part], ebv=a["ebv"][part],
                  ids=a["ids"][part])
    shards = sorted(p.name for p in (tmp_path / "ds").glob("*array_record*"))
    assert shards == [f"s-train.array_record-0000{k}-of-00004" for k in range(4)]
    meta = json.loads((tmp_path / "ds" / layout.META_FILE).read_text())
    assert meta["shard_lengths"] == [3, 3, 3, 1]
    source = open_dataset(tmp_path / "ds")
    got = source.read_images([9, 0, 4, 3])
    np.testing.assert_array_equal(got, a["images"][[9, 0, 4, 3]])
    np.testing.assert_array_equal(source.catalogue()["id"], a["ids"])


def test_folds_are_a_deterministic_balanced_hash_of_the_id():
    # splitmix64's first output for state 0 (Vigna's reference implementation)
    assert int(splitmix64(np.array([0]))[0]) == 0xE220A8397B1DCDAF
    ids = np.arange(10_000, dtype=np.int64) * 7 + 3
    folds = fold_of(ids)
    assert folds.dtype == np.int32 and set(np.unique(folds)) == {0, 1, 2, 3, 4}
    counts = np.bincount(folds, minlength=5)
    assert counts.sum() == 10_000 and counts.min() > 1850 and counts.max() < 2150
    perm = np.random.default_rng(0).permutation(len(ids))
    np.testing.assert_array_equal(fold_of(ids[perm]), folds[perm])  # order does not matter
    np.testing.assert_array_equal(fold_of(ids), folds)
    with pytest.raises(ValueError, match="integers"):
        fold_of(np.array([1.5]))


@pytest.mark.parametrize("field, change, message", [
    ("z_spec", lambda a: a["z_spec"].__setitem__(4, -0.3),
     "object id={id4} (row 4): field 'z_spec' is negative (-0.3)"),
    ("ebv", lambda a: a["ebv"].__setitem__(4, np.nan),
     "object id={id4} (row 4): field 'ebv' is missing"),
    ("image", lambda a: a["images"].__setitem__((4, 0, 0, 0), np.inf),
     "object id={id4} (row 4): field 'image' has non-finite pixels in band g"),
    ("id", lambda a: a["ids"].__setitem__(4, a["ids"][1]),
     "object id={id1} (row 1): field 'id' is duplicated (also in row 4)"),
    ("id", lambda a: a["ids"].__setitem__(4, -7),
     "object id=-7 (row 4): field 'id' is negative"),
])
def test_bad_objects_raise_naming_object_and_field_and_write_nothing(tmp_path, field, change,
                                                                     message):
    a = _arrays()
    a["z_spec"] = a["z_spec"].astype(np.float64)
    a["ebv"] = a["ebv"].astype(np.float64)
    message = message.format(id4=a["ids"][4], id1=a["ids"][1])
    change(a)
    with pytest.raises(BadInputError) as err:
        write_dataset(tmp_path / "ds", bands="griz", name="bad", **a)
    assert message in str(err.value) and str(err.value).startswith("input arrays: ")
    assert os.listdir(tmp_path) == []  # nothing written, no partial directory left


def test_duplicate_ids_across_batches_and_bad_shapes(tmp_path):
    a = _arrays(n=4)
    duplicated = r"\(row 0\): field 'id' is duplicated \(also in row 4\)"
    with pytest.raises(BadInputError, match=duplicated):
        with DatasetWriter(tmp_path / "ds", bands="griz", name="d") as w:
            for _ in range(2):
                w.add(images=a["images"], z_spec=a["z_spec"], ebv=a["ebv"], ids=a["ids"])
    with pytest.raises(ValueError, match=r"field 'image' has shape \(4, 6, 6, 4\); expected "
                                         r"\(B, S, S, 3\)"):
        write_dataset(tmp_path / "ds", bands="gri", name="d", images=a["images"],
                      z_spec=a["z_spec"], ebv=a["ebv"], ids=a["ids"])
    with pytest.raises(ValueError, match="not in ascending order of wavelength"):
        write_dataset(tmp_path / "ds", bands="rgiz", name="d", images=a["images"],
                      z_spec=a["z_spec"], ebv=a["ebv"], ids=a["ids"])
    assert os.listdir(tmp_path) == []


def test_existing_directory_needs_overwrite_and_tampering_is_detected(written, tmp_path):
    a = _arrays(n=3)
    small = dict(images=a["images"], z_spec=a["z_spec"], ebv=a["ebv"], ids=a["ids"])
    path = write_dataset(tmp_path / "ds", bands="griz", name="d", **small)
    with pytest.raises(FileExistsError):
        write_dataset(path, bands="griz", name="d", **small)
    write_dataset(path, bands="griz", name="d", overwrite=True, **small)
    assert sorted(os.listdir(tmp_path)) == ["ds"]
    with np.load(path / layout.CATALOGUE_FILE) as npz:
        cat = dict(npz)
    cat["z_spec"] = cat["z_spec"] + 1
    np.savez(path / layout.CATALOGUE_FILE, **cat)
    with pytest.raises(ValueError, match="SHA-256"):
        open_dataset(path)
    with pytest.raises(FileNotFoundError, match="photoz.json"):
        open_dataset(tmp_path)


def test_each_object_is_checked_once_when_written(tmp_path, monkeypatch):
    checked = []
    value_problems = checks.value_problems
    monkeypatch.setattr(checks, "value_problems", lambda name, values, rows=None, **kw: (
        checked.extend((name, int(r)) for r in rows) or value_problems(name, values, rows, **kw)))
    a = _arrays(n=10)
    write_dataset(tmp_path / "ds", bands="griz", name="d", batch_size=4, **a)
    assert sorted(checked) == sorted((f, r) for f in ("z_spec", "ebv") for r in range(10))


def test_integer_ids_parse_like_any_other_ids():
    ids, rows = np.array([5, -3, 7, 5, 2**40], np.int64), np.arange(5) + 10
    fast, generic = checks.parse_ids(ids, rows), checks.parse_ids(ids.astype(object), rows)
    np.testing.assert_array_equal(fast[0], generic[0])
    assert fast[1] == generic[1] and [p.kind for p in fast[1]] == ["negative", "duplicate",
                                                                   "duplicate"]
    big_ids, problems = checks.parse_ids(np.array([1, 2**63], np.uint64))
    assert big_ids.tolist() == [1, -1] and "does not fit in int64" in problems[0].detail


def test_write_dataset_refuses_columns_of_another_length(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.normal(0, 1, (10, 8, 8, 2)).astype(np.float32)
    with pytest.raises(ValueError, match=r"field 'images' has 10 rows, z_spec has 9"):
        write_dataset(tmp_path / "d", images=images, z_spec=np.full(9, 0.5, np.float32),
                      ebv=np.zeros(9, np.float32), ids=np.arange(9), bands="gr", name="d")
    with pytest.raises(ValueError, match=r"field 'mag_g' has 3 rows"):
        write_dataset(tmp_path / "d", images=images, z_spec=np.full(10, 0.5, np.float32),
                      ebv=np.zeros(10, np.float32), ids=np.arange(10), bands="gr", name="d",
                      mags={"g": np.zeros(3, np.float32)})
    assert not (tmp_path / "d").exists()
