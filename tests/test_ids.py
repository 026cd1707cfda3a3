"""Object ids as surveys write them: int64 (exact beyond 2**53) and text (string ids),
through ingest, the data set, folds, training, predictions.h5 and the reports."""

import csv
import hashlib

import h5py
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from multimodal_photoz import predictions
from multimodal_photoz.cli import console
from multimodal_photoz.cli import main as photoz
from multimodal_photoz.config.workdir import data_fingerprint
from multimodal_photoz.data import BadInputError, Schema, fold_of, open_dataset, write_dataset
from multimodal_photoz.data.format import checks, wire
from multimodal_photoz.data.format import ids as id_kinds
from multimodal_photoz.data.ingest import CubeInput, IngestConfig, ingest
from multimodal_photoz.report import align_by_id
from test_reliability_ingest import _error

BIG = 2**53 + 1  # 9007199254740993: float64 rounds it to 9007199254740992
INT_IDS = [BIG, 0, 2**63 - 1, 39627640570200175, 12]
# Legacy Survey brick_objid, text that looks like a number, non-ASCII text
STRING_IDS = ["10000_324608_4317", "10000_324608_4318", "1234", "-1", "éloïse-7"]


def _csv_with_cutouts(tmp_path, ids, bands="gr", extra=None, seed=0):
    """cat.csv (id, z_spec, ebv[, extra columns]) and cut/{id}_{band}.fits; returns images."""
    rng = np.random.default_rng(seed)
    (tmp_path / "cut").mkdir()
    images = {}
    with open(tmp_path / "cat.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "z_spec", "ebv"] + list(extra or {}))
        for k, obj in enumerate(ids):
            writer.writerow([obj, 0.1 * (k + 1), 0.01] + [v[k] for v in (extra or {}).values()])
            images[str(obj)] = rng.normal(size=(6, 6, len(bands))).astype(np.float32)
            for c, band in enumerate(bands):
                fits.PrimaryHDU(images[str(obj)][..., c]).writeto(
                    tmp_path / "cut" / f"{obj}_{band}.fits")
    return images


def _ingest_csv(tmp_path, *more):
    return console(["ingest", "--catalogue", str(tmp_path / "cat.csv"), "--cutouts",
                    str(tmp_path / "cut" / "{id}_{band}.fits"), "--bands", "g,r",
                    "--out", str(tmp_path / "ds"), *more])


def _uniform_predictions(path, ids, fold):
    n = len(ids)
    return predictions.write_predictions(
        path, ids=ids, fold=fold, pdf=np.full((n, 4), 0.25, np.float32),
        bin_edges=np.linspace(0, 1, 5), z_regression=np.full(n, 0.5, np.float32))


# -- round trips ---------------------------------------------------------------------------

@pytest.mark.parametrize("ids, kind", [(INT_IDS, "int64"), (STRING_IDS, "string")])
def test_ids_round_trip_exactly_from_csv_to_predictions(tmp_path, ids, kind):
    images = _csv_with_cutouts(tmp_path, ids)
    assert _ingest_csv(tmp_path) == 0
    source = open_dataset(tmp_path / "ds")
    catalogue = source.catalogue()
    assert source.schema.id_kind == kind and id_kinds.kind_of(catalogue["id"]) == kind
    assert catalogue["id"].tolist() == ids                   # exact: no float, no trimming
    for i, obj in enumerate(ids):                            # records, cutouts found by {id}
        assert source[i]["id"] == obj
        np.testing.assert_array_equal(source[i]["image"], images[str(obj)])
    batch = source.read_batch(np.array([0, -1, 4]))          # the fast path checks record ids
    assert batch["id"].tolist() == [ids[0], id_kinds.PADDING[kind], ids[4]]
    np.testing.assert_array_equal(catalogue["fold"], fold_of(catalogue["id"]))

    path = _uniform_predictions(tmp_path / "p.h5", catalogue["id"], catalogue["fold"])
    pred = predictions.read_predictions(path)
    assert pred["id"].tolist() == ids and pred["id"].dtype.kind == {"int64": "i",
                                                                     "string": "U"}[kind]
    with h5py.File(path) as f:                               # text: fixed-width UTF-8
        info = h5py.check_string_dtype(f["id"].dtype)
        assert (info is not None and info.encoding == "utf-8") == (kind == "string")


def test_int64_ids_beyond_float64_stay_exact_in_fits_hdf5_and_npz(tmp_path):
    ids = np.array([BIG, BIG + 2, 2**62 + 1], np.int64)
    images = np.random.default_rng(0).normal(size=(3, 4, 4, 2)).astype(np.float32)
    with h5py.File(tmp_path / "cube.h5", "w") as f:
        f["images"], f["z_spec"], f["ebv"], f["id"] = images, [0.1, 0.2, 0.3], [0.0] * 3, ids
    np.savez(tmp_path / "cube.npz", images=images, z_spec=[0.1, 0.2, 0.3], ebv=[0.0] * 3,
             id=ids.astype(str))                             # digits as numpy unicode
    for name in ("cube.h5", "cube.npz"):
        reader = CubeInput(tmp_path / name, bands="gr", layout="NHWC")
        report = ingest(reader, IngestConfig(out_dir=tmp_path / f"ds_{name}"))
        assert report.id_kind == "int64"
        assert open_dataset(tmp_path / f"ds_{name}").catalogue()["id"].tolist() == ids.tolist()
    (tmp_path / "cut").mkdir()
    for obj in ids:
        for band in "gr":
            fits.PrimaryHDU(images[0, ..., 0]).writeto(tmp_path / "cut" / f"{obj}_{band}.fits")
    Table({"id": ids, "z_spec": [0.1, 0.2, 0.3], "ebv": [0.0] * 3}).write(tmp_path / "cat.fits")
    assert console(["ingest", "--catalogue", str(tmp_path / "cat.fits"), "--cutouts",
                    str(tmp_path / "cut" / "{id}_{band}.fits"), "--bands", "g,r",
                    "--out", str(tmp_path / "ds_fits")]) == 0
    assert open_dataset(tmp_path / "ds_fits").catalogue()["id"].tolist() == ids.tolist()


def test_text_columns_of_fits_and_hdf5_with_any_non_integer_id_stay_text(tmp_path):
    images = np.zeros((3, 4, 4, 2), np.float32) + 1
    with h5py.File(tmp_path / "cube.h5", "w") as f:
        f["images"], f["z_spec"], f["ebv"] = images, [0.1, 0.2, 0.3], [0.0] * 3
        f["id"] = np.array([b"7", b"abc", "é".encode()])     # fixed-width bytes, UTF-8
    report = ingest(CubeInput(tmp_path / "cube.h5", bands="gr", layout="NHWC"),
                    IngestConfig(out_dir=tmp_path / "ds_h5"))
    assert report.id_kind == "string" and report.first_text_id == (1, "abc")
    assert "row 1 holds 'abc', not an integer" in report.summary()
    assert open_dataset(tmp_path / "ds_h5").catalogue()["id"].tolist() == ["7", "abc", "é"]
    (tmp_path / "cut").mkdir()
    for obj in ("0042", "x1"):
        for band in "gr":
            fits.PrimaryHDU(images[0, ..., 0]).writeto(tmp_path / "cut" / f"{obj}_{band}.fits")
    Table({"id": ["0042", "x1"], "z_spec": [0.1, 0.2], "ebv": [0.0, 0.0]}).write(
        tmp_path / "cat.fits")
    assert console(["ingest", "--catalogue", str(tmp_path / "cat.fits"), "--cutouts",
                    str(tmp_path / "cut" / "{id}_{band}.fits"), "--bands", "g,r",
                    "--out", str(tmp_path / "ds_fits")]) == 0
    assert open_dataset(tmp_path / "ds_fits").catalogue()["id"].tolist() == ["0042", "x1"]


def test_csv_brick_ids_stay_text_when_astropy_reads_with_its_python_reader(tmp_path):
    """Non-ASCII text anywhere makes astropy read with its Python reader, whose int()
    reads '10000_324608_4317' as 100003246084317; the id column is read as text."""
    ids = ["10000_324608_4317", "10000_324608_4318"]
    _csv_with_cutouts(tmp_path, ids, extra={"field": ["Ségué", "b"]})
    assert _ingest_csv(tmp_path) == 0
    assert open_dataset(tmp_path / "ds").catalogue()["id"].tolist() == ids


def test_records_hold_string_ids_as_utf8_bytes_found_without_protobuf():
    schema = Schema(bands=("g",), stamp_size=2, id_kind="string")
    image = np.arange(4, dtype=np.float32).reshape(2, 2, 1)
    record = schema.features().serialize_example(
        {"image": image, "z_spec": 0.5, "ebv": 0.0, "id": "éloïse-7", "fold": 2,
         "band_mask": np.ones(1, bool)})
    offset, length, found = wire.image_and_id(record)
    assert found == "éloïse-7".encode() and length == image.nbytes
    np.testing.assert_array_equal(np.frombuffer(record, np.float32, 4, offset), image.ravel())


def test_kind_is_decided_on_the_whole_column_not_batch_by_batch(tmp_path):
    images = np.ones((3, 4, 4, 2), np.float32)
    write_dataset(tmp_path / "ds", images=images, z_spec=[0.1, 0.2, 0.3], ebv=[0.0] * 3,
                  ids=np.array(["1", "2", "abc"]), bands="gr", name="d", batch_size=2)
    assert open_dataset(tmp_path / "ds").catalogue()["id"].tolist() == ["1", "2", "abc"]


# -- which column is text, which ids are bad -----------------------------------------------

@pytest.mark.parametrize("raw, kind, parsed", [
    (["1", "abc"], "string", ["1", "abc"]),               # any text id: every id is text
    (["1", "-1", "x"], "string", ["1", "-1", "x"]),       # '-1' is text there, not negative
    ([" 12", "4.0", "1e3"], "int64", [12, 4, 1000]),     # numbers written as text
    (["9007199254740993"], "int64", [BIG]),               # never through float64
    (np.array([b"10000_324608_4317"]), "string", ["10000_324608_4317"]),
])
def test_column_kind_and_parsed_ids(raw, kind, parsed):
    assert id_kinds.column_kind(raw)[0] == kind
    ids, problems = checks.parse_ids(raw)
    assert problems == [] and ids.tolist() == parsed


@pytest.mark.parametrize("raw, row, why", [
    (["1", "4.5"], 1, "is not an integer ('4.5')"),        # a number gone wrong, not text
    (["1", "²"], 1, "is not an integer ('²')"),
    (["1", "-1"], 1, "is negative (-1); ids must be >= 0"),  # today's rule for integers
    (np.array([5, -1]), 1, "is negative (-1)"),
    (["a", ""], 1, "is empty (''); every object needs an id"),
    (["a", "   "], 1, "is empty"),
    (["1", ""], 1, "is empty"),
    (["a", " b"], 1, "has leading or trailing whitespace (' b')"),
    (["a", "b\x00"], 1, "holds a control character"),
    (["a", "x" * 300], 1, "has 300 characters, more than 256"),
    (np.array([b"a", b"\xff"], dtype=object), 1, "is not UTF-8 text"),
    (np.ma.MaskedArray(["a", "b"], mask=[False, True]), 1, "is missing"),
])
def test_bad_ids_are_problems_naming_row_and_field(raw, row, why):
    ids, problems = checks.parse_ids(raw)
    assert [(p.row, p.field) for p in problems] == [(row, "id")]
    assert why in problems[0].detail
    assert ids[row] == id_kinds.PADDING[id_kinds.kind_of(ids)]


def test_duplicate_string_ids_are_refused_by_name(tmp_path, capsys):
    ids = ["b_1", "a_2", "b_1"]
    _csv_with_cutouts(tmp_path, ids[:2])
    with open(tmp_path / "cat.csv", "a", encoding="utf-8") as f:
        f.write("b_1,0.3,0.01\n")
    assert _ingest_csv(tmp_path) == 2
    assert "cat.csv: object id=b_1 (row 0): field 'id' is duplicated (also in row 2)" in (
        _error(capsys))
    with pytest.raises(BadInputError, match=r"object id=b_1 \(row 0\): field 'id' is dup"):
        write_dataset(tmp_path / "ds2", images=np.ones((3, 4, 4, 2), np.float32),
                      z_spec=[0.1] * 3, ebv=[0.0] * 3, ids=np.array(ids), bands="gr", name="d")
    with pytest.raises(predictions.PredictionsError, match="duplicate id b_1 at object indices"):
        _uniform_predictions(tmp_path / "p.h5", np.array(ids), np.zeros(3, np.int32))


def test_bad_string_id_stops_or_is_skipped_naming_file_row_and_field(tmp_path, capsys):
    images = np.ones((3, 4, 4, 2), np.float32)
    np.savez(tmp_path / "cube.npz", images=images, z_spec=[0.1, 0.2, 0.3], ebv=[0.0] * 3,
             id=np.array(["a_1", "", "c_3"]))
    args = ["ingest", "--cube", str(tmp_path / "cube.npz"), "--bands", "g,r", "--layout",
            "NHWC", "--out", str(tmp_path / "ds")]
    assert console(args) == 2
    assert "cube.npz: object id='' (row 1): field 'id' is empty ('')" in _error(capsys)
    assert console(args + ["--on-bad", "skip"]) == 0
    assert "excluded, id: empty: 1" in capsys.readouterr().out
    assert open_dataset(tmp_path / "ds").catalogue()["id"].tolist() == ["a_1", "c_3"]


def test_string_id_with_a_path_separator_never_names_a_file_outside_the_cutouts(tmp_path,
                                                                                   capsys):
    """An id like '../b_2' would make {id} read a file outside the cutouts folder: it is a
    bad id of its own object, never a path."""
    _csv_with_cutouts(tmp_path, ["a_1", "b_2"])
    (tmp_path / "b_2_g.fits").write_bytes((tmp_path / "cut" / "b_2_g.fits").read_bytes())
    (tmp_path / "b_2_r.fits").write_bytes((tmp_path / "cut" / "b_2_r.fits").read_bytes())
    text = (tmp_path / "cat.csv").read_text(encoding="utf-8").replace("b_2,", "../b_2,")
    (tmp_path / "cat.csv").write_text(text, encoding="utf-8")
    assert _ingest_csv(tmp_path) == 2
    assert ("cat.csv: object id=../b_2 (row 1): field 'id' '../b_2' cannot be part of a "
            "cutout's file name") in _error(capsys)
    assert _ingest_csv(tmp_path, "--on-bad", "skip") == 0
    assert open_dataset(tmp_path / "ds").catalogue()["id"].tolist() == ["a_1"]


# -- folds --------------------------------------------------------------------------------

def test_fold_of_a_string_id_is_blake2b_of_its_utf8_bytes():
    for text, n_folds in [("10000_324608_4317", 5), ("éloïse-7", 7)]:
        h = int.from_bytes(hashlib.blake2b(text.encode("utf-8")).digest()[:8], "little")
        assert fold_of(np.array([text]), n_folds).tolist() == [h % n_folds]
    # pinned, so that a change of the hash (or of Python) cannot pass unnoticed
    assert hashlib.blake2b(b"10000_324608_4317").digest()[:8].hex() == "e192a738b1527c5b"
    assert fold_of(np.array(["10000_324608_4317", "éloïse-7"]), 5).tolist() == [3, 2]
    assert fold_of(np.array([b"10000_324608_4317"]), 5).tolist() == [3]   # UTF-8 bytes too


def test_fold_of_integer_ids_is_unchanged():
    """Values computed by fold_of before string ids existed."""
    ids = np.array([0, 1, 2, 3, 42, 100, 12345, BIG, 2**62, 2**63 - 1, 4170000000000000001,
                    39627640570200175], np.int64)
    assert fold_of(ids).tolist() == [0, 0, 0, 3, 3, 4, 4, 1, 0, 4, 4, 0]
    assert fold_of(ids, 3).tolist() == [1, 2, 1, 0, 1, 2, 2, 2, 1, 0, 2, 0]
    assert fold_of(ids, 10).tolist() == [5, 5, 0, 3, 3, 4, 4, 1, 5, 9, 4, 5]
    folds = fold_of(np.arange(0, 700000, 7, dtype=np.int64)).astype("<i4")
    assert hashlib.sha256(folds.tobytes()).hexdigest() == (
        "d20a958400feceaf0d7d3877421106d90a435efb3de314f3eb162664d6b4843f")


# -- runs, fingerprints, reports ----------------------------------------------------------

def test_workdir_fingerprint_of_ids(tmp_path):
    images = np.ones((3, 4, 4, 2), np.float32)
    common = dict(images=images, z_spec=[0.1, 0.2, 0.3], ebv=[0.0] * 3, bands="gr", name="d")
    ints = np.array([BIG, 5, 7], np.int64)
    write_dataset(tmp_path / "i", ids=ints, **common)
    write_dataset(tmp_path / "s", ids=np.array(["a", "é", "c"]), **common)
    assert data_fingerprint(open_dataset(tmp_path / "i"))["ids_sha256"] == (
        hashlib.sha256(ints.tobytes()).hexdigest()[:16])    # as before string ids
    assert data_fingerprint(open_dataset(tmp_path / "s"))["ids_sha256"] == (
        hashlib.sha256("a\0é\0c\0".encode()).hexdigest()[:16])


def test_reports_align_and_name_string_ids():
    a = {"id": np.array(["b", "a"]), "z_spec": np.array([0.2, 0.1])}
    b = {"id": np.array(["a", "b"]), "z_spec": np.array([0.1, 0.2])}
    order_a, order_b = align_by_id(a, b)
    assert a["id"][order_a].tolist() == b["id"][order_b].tolist() == ["a", "b"]
    with pytest.raises(ValueError, match="string ids, the multimodal run int64 ids"):
        align_by_id(a, {"id": np.array([1, 2])})


def test_string_id_data_set_trains_and_predicts(tmp_path):
    """The smallest run of test_ensemble.py, one seed, on brick_objid-like ids."""
    rng = np.random.default_rng(0)
    z = rng.uniform(0.05, 1.2, 50).astype(np.float32)
    images = rng.normal(0, 1, (50, 16, 16, 4)).astype(np.float32)
    images += (3.0 / (0.2 + z))[:, None, None, None]
    ids = np.array([f"10000_{324608 + i}_{4317 + 3 * i}" for i in range(50)])
    write_dataset(tmp_path / "data", images=images, z_spec=z, ebv=np.zeros(50), bands="griz",
                  name="t", ids=ids)
    workdir = tmp_path / "run"
    assert photoz(["train", "--data", str(tmp_path / "data"), "--workdir", str(workdir),
                   "--width", "0.05", "--n-bins", "20", "--z-max", "1.5", "--batch-size", "8",
                   "--steps", "3", "--eval-batch-size", "8", "--only-folds", "0",
                   "--seeds", "1"]) == 0
    pred = predictions.read_predictions(workdir / "predictions.h5")
    test = fold_of(ids) == 0
    assert pred["id"].tolist() == ids[test].tolist() and (pred["fold"] == 0).all()
