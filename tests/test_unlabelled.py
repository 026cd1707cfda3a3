"""Data sets without spectroscopic redshifts (unlabelled), for survey-scale prediction:
``photoz ingest --no-redshift``, the writer's labelling checks, ``photoz predict`` of
such a data set (chunked, with a catalogue), and the refusals of train, evaluate and
the RAIL informer."""

import csv
import dataclasses
import json
import os
import re

import numpy as np
import pytest
from astropy.io import fits

from multimodal_photoz import predictions
from multimodal_photoz.cli import console
from multimodal_photoz.cli import main as photoz
from multimodal_photoz.config import load_run_config
from multimodal_photoz.config.workdir import data_fingerprint
from multimodal_photoz.data import BadInputError, DatasetWriter, open_dataset, write_dataset
from multimodal_photoz.data.format import layout
from test_end_to_end import TRAIN_FLAGS, make_data
from test_reliability_ingest import _error

BANDS = "u,g,r,i,z"   # make_data's bands, stamps and zeropoint: the run reads these images
STAMP = 16
ZEROPOINT = "27.0"
N = 40                # three chunks of 16 with --chunk-size 16
FIRST_ID = 2000


def _objects(n=N, seed=7):
    """n objects like make_data's: (n, S, S, 5) fluxes whose centres fade with z."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.05, 1.2, n)
    yy, xx = np.mgrid[:STAMP, :STAMP] - STAMP / 2
    profile = np.exp(-(xx**2 + yy**2) / 8.0)
    images = (profile[None, :, :, None] * (5.0 / (0.2 + z))[:, None, None, None]
              + rng.normal(0, 0.1, (n, STAMP, STAMP, 5))).astype(np.float32)
    return {"images": images, "z_spec": z, "ebv": rng.uniform(0, 0.05, n),
            "id": np.arange(FIRST_ID, FIRST_ID + n), "mag_i": rng.uniform(18, 25, n)}


def _ingest_cube(cube, out, *more):
    return console(["ingest", "--cube", str(cube), "--bands", BANDS, "--out", str(out),
                    "--zeropoint-ab", ZEROPOINT, *more])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The same objects ingested from a cube with redshifts and from one without."""
    root = tmp_path_factory.mktemp("unlabelled")
    objects = _objects()
    np.savez(root / "labelled.npz", **objects)
    np.savez(root / "photometric.npz", **{k: v for k, v in objects.items() if k != "z_spec"})
    assert _ingest_cube(root / "labelled.npz", root / "labelled") == 0
    assert _ingest_cube(root / "photometric.npz", root / "unlabelled", "--no-redshift") == 0
    return {"root": root, "objects": objects, "labelled": str(root / "labelled"),
            "unlabelled": str(root / "unlabelled")}


@pytest.fixture(scope="module")
def run(data):
    """One tiny run (test_end_to_end.py's flags) trained on labelled data."""
    workdir = str(data["root"] / "run")
    train = make_data(str(data["root"] / "train"))
    assert photoz(["train", "--data", train, "--workdir", workdir, *TRAIN_FLAGS]) == 0
    return workdir


@pytest.fixture(scope="module")
def predicted(data, run):
    """The unlabelled data set predicted in chunks with a catalogue, the labelled one whole."""
    root = data["root"]
    out = {"unlabelled": str(root / "unlabelled.h5"), "labelled": str(root / "labelled.h5"),
           "catalogue": str(root / "unlabelled.fits")}
    assert photoz(["predict", "--run", run, "--data", data["unlabelled"], "--out",
                   out["unlabelled"], "--chunk-size", "16", "--catalogue", out["catalogue"]]) == 0
    assert photoz(["predict", "--run", run, "--data", data["labelled"], "--out",
                   out["labelled"]]) == 0
    return out


# -- ingest ------------------------------------------------------------------------------

def test_no_redshift_cube_is_an_unlabelled_data_set_with_nan_z(data):
    unlabelled, labelled = open_dataset(data["unlabelled"]), open_dataset(data["labelled"])
    assert unlabelled.labelled is False and labelled.labelled is True
    meta = json.loads((data["root"] / "unlabelled" / layout.META_FILE).read_text())
    assert meta["labelled"] is False
    assert json.loads((data["root"] / "labelled" / layout.META_FILE).read_text())["labelled"]
    cat, ref = unlabelled.catalogue(), labelled.catalogue()
    assert np.isnan(cat["z_spec"]).all() and np.isfinite(ref["z_spec"]).all()
    # everything but z_spec is what the labelled ingest of the same objects wrote
    for name in ("id", "ebv", "mag_i", "band_mask", "fold"):
        np.testing.assert_array_equal(cat[name], ref[name], err_msg=name)
    np.testing.assert_array_equal(unlabelled.read_images(np.arange(N)),
                                  labelled.read_images(np.arange(N)))
    assert unlabelled.metadata["zeropoint_ab"] == 27.0
    # the fingerprint (predict's manifest) hashes the NaN column like any other
    first, again = data_fingerprint(unlabelled), data_fingerprint(open_dataset(data["unlabelled"]))
    assert first == again and first["n_objects"] == N
    assert first["catalogue_sha256"]["z_spec"] != data_fingerprint(labelled)[
        "catalogue_sha256"]["z_spec"]


def _catalogue_without_redshifts(tmp_path, n=6, skip_cutout=None):
    """cat.csv (id, ebv, mag_r: no redshift column) and cut/{id}_{band}.fits for g, r;
    returns the (n, 6, 6, 2) images as written."""
    rng = np.random.default_rng(3)
    images = rng.normal(1.0, 0.1, (n, 6, 6, 2)).astype(np.float32)
    (tmp_path / "cut").mkdir()
    with open(tmp_path / "cat.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "ebv", "mag_r"])
        for k in range(n):
            writer.writerow([500 + k, 0.01 * k, 20 + k])
            for c, band in enumerate("gr"):
                if (k, band) != skip_cutout:
                    fits.PrimaryHDU(images[k, ..., c]).writeto(
                        tmp_path / "cut" / f"{500 + k}_{band}.fits")
    return images


def test_no_redshift_catalogue_with_cutouts_keeps_skip_and_zeropoint_flags(tmp_path, capsys):
    images = _catalogue_without_redshifts(tmp_path, skip_cutout=(2, "r"))
    out = tmp_path / "ds"
    assert console(["ingest", "--catalogue", str(tmp_path / "cat.csv"), "--cutouts",
                    str(tmp_path / "cut" / "{id}_{band}.fits"), "--bands", "r,g",
                    "--no-redshift", "--on-bad", "skip", "--zeropoint-ab", "22.5",
                    "--to-zeropoint-ab", "27", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "read 6 objects, wrote 5, excluded 1" in printed
    assert "no spectroscopic redshifts (--no-redshift)" in printed
    source = open_dataset(out)
    cat = source.catalogue()
    assert source.labelled is False and np.isnan(cat["z_spec"]).all()
    kept = [0, 1, 3, 4, 5]
    assert cat["id"].tolist() == [500 + k for k in kept]
    np.testing.assert_allclose(cat["ebv"], [0.01 * k for k in kept], rtol=1e-6)
    np.testing.assert_array_equal(cat["mag_r"], [20.0 + k for k in kept])
    np.testing.assert_allclose(source.read_images(np.arange(5)),
                               images[kept] * 10 ** (0.4 * 4.5), rtol=1e-6)
    assert source.metadata["zeropoint_ab"] == 27.0
    with open(out / layout.EXCLUDED_FILE) as f:
        (row,) = list(csv.DictReader(f))
    assert (row["row"], row["id"], row["field"]) == ("2", "502", "image")
    assert "502_r.fits not found" in row["detail"]


def test_without_no_redshift_a_missing_redshift_is_still_refused(tmp_path, capsys):
    objects = _objects(n=4)
    np.savez(tmp_path / "noz.npz", **{k: v for k, v in objects.items() if k != "z_spec"})
    assert _ingest_cube(tmp_path / "noz.npz", tmp_path / "a") == 2
    err = _error(capsys)
    assert f"{tmp_path / 'noz.npz'}: no array 'z_spec' for field 'z_spec'" in err
    assert "--no-redshift" in err and not (tmp_path / "a").exists()

    _catalogue_without_redshifts(tmp_path)
    assert console(["ingest", "--catalogue", str(tmp_path / "cat.csv"), "--cutouts",
                    str(tmp_path / "cut" / "{id}_{band}.fits"), "--bands", "g,r",
                    "--out", str(tmp_path / "b")]) == 2
    err = _error(capsys)
    assert f"{tmp_path / 'cat.csv'}: no column 'z_spec'" in err and "--no-redshift" in err

    z = objects["z_spec"].copy()
    z[1] = np.nan
    np.savez(tmp_path / "nan.npz", **{**objects, "z_spec": z})
    assert _ingest_cube(tmp_path / "nan.npz", tmp_path / "c") == 2
    err = _error(capsys)
    assert (f"{tmp_path / 'nan.npz'}: object id={FIRST_ID + 1} (row 1): field 'z_spec' is "
            "missing") in err
    z[1] = -0.2
    np.savez(tmp_path / "neg.npz", **{**objects, "z_spec": z})
    assert _ingest_cube(tmp_path / "neg.npz", tmp_path / "c") == 2
    assert "(row 1): field 'z_spec' is negative (-0.2)" in _error(capsys)
    assert not (tmp_path / "c").exists()


def test_no_redshift_with_a_redshift_option_is_refused(tmp_path, capsys):
    np.savez(tmp_path / "c.npz", **_objects(n=4))
    assert _ingest_cube(tmp_path / "c.npz", tmp_path / "a", "--no-redshift",
                        "--z-key", "z_spec") == 2
    assert "--z-key z_spec with --no-redshift" in _error(capsys)
    assert not (tmp_path / "a").exists()


# -- the writer --------------------------------------------------------------------------

def _arrays(n=4):
    rng = np.random.default_rng(0)
    return dict(images=rng.normal(size=(n, 8, 8, 2)).astype(np.float32),
                ebv=np.zeros(n), ids=np.arange(10, 10 + n), bands="gr", name="d")


def test_writer_refuses_nan_z_in_a_labelled_data_set(tmp_path):
    z = np.array([0.1, 0.2, np.nan, 0.4])
    with pytest.raises(BadInputError, match=r"object id=12 \(row 2\): field 'z_spec' is missing "
                                            r"\(NaN or empty\); .*labelled=False"):
        write_dataset(tmp_path / "a", z_spec=z, **_arrays())
    assert not (tmp_path / "a").exists()


def test_writer_refuses_a_redshift_in_an_unlabelled_data_set(tmp_path):
    z = np.array([np.nan, 0.5, np.nan, np.nan])
    with pytest.raises(BadInputError, match=r"object id=11 \(row 1\): field 'z_spec' is 0\.5, "
                                            r"but .*labelled=False.*must be NaN"):
        write_dataset(tmp_path / "a", z_spec=z, labelled=False, **_arrays())
    assert not (tmp_path / "a").exists()
    # add_unchecked (the ingest driver's) checks the labelling too
    a = _arrays()
    with pytest.raises(BadInputError, match=r"id=13 \(row 3\): field 'z_spec' is 1"):
        with DatasetWriter(tmp_path / "b", bands="gr", name="d", labelled=False) as writer:
            writer.add_unchecked(images=a["images"], z_spec=[np.nan, np.nan, np.nan, 1.0],
                                 ebv=a["ebv"], ids=a["ids"])
    assert not (tmp_path / "b").exists()
    write_dataset(tmp_path / "c", z_spec=np.full(4, np.nan), labelled=False, **_arrays())
    assert open_dataset(tmp_path / "c").labelled is False


def test_data_sets_written_before_the_field_read_as_labelled(tmp_path):
    path = write_dataset(tmp_path / "a", z_spec=np.full(4, 0.3), **_arrays())
    meta_file = path / layout.META_FILE
    meta = json.loads(meta_file.read_text())
    del meta["labelled"]
    meta_file.write_text(json.dumps(meta))
    assert open_dataset(path).labelled is True
    meta_file.write_text(json.dumps({**meta, "labelled": "no"}))
    with pytest.raises(ValueError, match=r"photoz\.json: 'labelled' is 'no'; expected true"):
        open_dataset(path)


# -- predict, train, evaluate ------------------------------------------------------------

def test_predict_unlabelled_gives_the_pdfs_of_the_same_images_with_redshifts(data, predicted):
    pred = predictions.read_predictions(predicted["unlabelled"])
    ref = predictions.read_predictions(predicted["labelled"])
    ids = data["objects"]["id"].tolist()
    assert pred["id"].tolist() == ref["id"].tolist() == ids
    assert "z_spec" not in pred and "z_spec" in ref
    np.testing.assert_allclose(ref["z_spec"], data["objects"]["z_spec"], rtol=1e-6)
    np.testing.assert_allclose(pred["pdf"].sum(axis=1), 1.0, atol=1e-5)
    assert (pred["fold"] == -1).all() and pred["pdf"].shape == (N, 30)
    for name in ("pdf", "z_regression", "z_median", "z_mean", "z_mode", "ebv", "mag_i"):
        np.testing.assert_array_equal(pred[name], ref[name], err_msg=name)
    assert not os.path.exists(predicted["unlabelled"] + ".parts")
    with fits.open(predicted["catalogue"]) as hdul:
        table = hdul["PHOTOZ"].data
        assert table["id"].tolist() == ids
        np.testing.assert_array_equal(table["z_median"], pred["z_median"])


def test_train_refuses_an_unlabelled_data_set_naming_it(data, run, tmp_path, capsys):
    from multimodal_photoz.ensemble import Run

    workdir = tmp_path / "w"
    assert console(["train", "--data", data["unlabelled"], "--workdir", str(workdir),
                    *TRAIN_FLAGS]) == 2
    err = _error(capsys)
    assert f"{data['unlabelled']}: this data set has no spectroscopic redshifts" in err
    assert "predicted (photoz predict), not trained on or scored" in err
    assert not workdir.exists()
    # the library path refuses it before it claims the workdir
    config = load_run_config(run)[0]
    config = dataclasses.replace(config, data=dataclasses.replace(config.data,
                                                                  path=data["unlabelled"]))
    with pytest.raises(ValueError, match="has no spectroscopic redshifts"):
        Run.open(config, str(workdir))
    assert not workdir.exists()


def test_evaluate_refuses_predictions_of_an_unlabelled_data_set(data, predicted, tmp_path,
                                                               capsys):
    out = tmp_path / "ev"
    assert console(["evaluate", predicted["unlabelled"], "--out", str(out)]) == 2
    err = _error(capsys)
    assert f"{predicted['unlabelled']}: no z_spec to score against" in err
    assert f"the data set {data['unlabelled']} has no spectroscopic redshifts" in err
    assert not out.exists()


def test_rail_informer_refuses_a_table_without_redshifts(tmp_path):
    pytest.importorskip("rail.estimation.estimator")
    from multimodal_photoz.rail import MultimodalInformer

    objects = _objects(n=8)
    table = {"images": objects["images"], "ebv": objects["ebv"], "object_id": objects["id"]}
    dataset = str(tmp_path / "run.data")
    for name, given in (("inform_no_redshift", table),
                        ("inform_nan_redshift", {**table, "redshift": np.full(8, np.nan)})):
        informer = MultimodalInformer.make_stage(
            name=name, workdir=str(tmp_path / "run"), bands="ugriz", hdf5_groupname="",
            model=str(tmp_path / f"{name}.pkl"))
        with pytest.raises(ValueError, match=re.escape(dataset) + ": the input table has no "
                                             "spectroscopic redshifts"):
            informer.inform(given)
        assert not os.path.exists(dataset) and not os.path.exists(tmp_path / "run")
