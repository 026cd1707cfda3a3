"""LSST DESC RAIL and qp (the ``rail`` extra): ``predictions.to_qp`` against the real
``qp`` with numbers computed by hand, and the RAIL stages of ``multimodal_photoz.rail``
end to end on a tiny run (the cheapest training of tests/test_reliability_predict.py)."""

import os
import pickle

import h5py
import numpy as np
import pytest

from multimodal_photoz.cli import console
from multimodal_photoz.data import write_dataset
from multimodal_photoz.predictions import read_predictions, to_qp, write_predictions

qp = pytest.importorskip("qp")  # the ``rail`` extra

EDGES = np.linspace(0.0, 1.0, 11)  # 10 bins of width 0.1
CENTRES = EDGES[:-1] + 0.05


def hand_pdfs() -> np.ndarray:
    """Three PDFs whose point estimates are known by hand (tests/test_predictions.py)."""
    pdf = np.zeros((3, 10), np.float32)
    pdf[0, 3] = 1.0                  # all in [0.3, 0.4): median = mean = 0.35
    pdf[1, [1, 6]] = [0.25, 0.75]    # median 0.6 + (0.25 / 0.75) * 0.1, mean 0.525
    pdf[2] = 0.1                     # flat on [0, 1): median = mean = 0.5
    return pdf


@pytest.fixture
def hand_file(tmp_path):
    return write_predictions(tmp_path / "p.h5", ids=[7, 8, 9], fold=[0, 1, 0], pdf=hand_pdfs(),
                             bin_edges=EDGES, z_regression=[0.3, 0.5, 0.5])


def test_to_qp_is_a_histogram_of_densities(hand_file):
    ens = to_qp(hand_file)
    assert ens.gen_class is qp.hist and ens.npdf == 3
    np.testing.assert_array_equal(ens.metadata["bins"], EDGES)
    density = np.zeros((3, 10))
    density[0, 3] = 10.0
    density[1, [1, 6]] = [2.5, 7.5]
    density[2] = 1.0
    np.testing.assert_allclose(ens.pdf(CENTRES), density, rtol=1e-6)  # probability / 0.1
    np.testing.assert_allclose(ens.objdata["pdfs"], density, rtol=1e-6)
    assert (ens.pdf(np.array([-0.05, 1.05])) == 0).all()  # nothing outside the grid
    cdf = [[0.0, 1.0, 1.0], [0.25, 0.25, 0.625], [0.3, 0.6, 0.65]]  # linear within a bin
    np.testing.assert_allclose(ens.cdf(np.array([0.3, 0.6, 0.65])), cdf, atol=1e-6)


def test_to_qp_point_estimates_and_ancillary_data_are_the_files(hand_file):
    ens, stored = to_qp(hand_file), read_predictions(hand_file)
    np.testing.assert_allclose(ens.median().ravel(), [0.35, 0.6 + 0.1 / 3, 0.5], atol=1e-6)
    np.testing.assert_allclose(ens.mean().ravel(), [0.35, 0.525, 0.5], atol=1e-6)
    np.testing.assert_allclose(ens.median().ravel(), stored["z_median"], atol=1e-6)
    np.testing.assert_allclose(ens.mean().ravel(), stored["z_mean"], atol=1e-6)
    assert set(ens.ancil) == {"zmode", "zmean", "zmedian", "id"}
    for name, field in [("id", "id"), ("zmode", "z_mode"), ("zmean", "z_mean"),
                        ("zmedian", "z_median")]:
        np.testing.assert_array_equal(ens.ancil[name], stored[field])
    np.testing.assert_array_equal(ens.ancil["id"], [7, 8, 9])


def test_to_qp_of_float16_pdfs_is_renormalized(tmp_path):
    rng = np.random.default_rng(3)
    pdf = rng.random((50, 10)).astype(np.float32) ** 4
    pdf /= pdf.sum(axis=1, keepdims=True)
    path = write_predictions(tmp_path / "p.h5", ids=np.arange(50), fold=np.zeros(50, int),
                             pdf=pdf, bin_edges=EDGES, z_regression=np.zeros(50),
                             pdf_dtype="float16")
    ens, stored = to_qp(path), read_predictions(path)
    rounded = stored["pdf"].astype(np.float64)  # float16 values: rows sum to 1 within 1e-3
    np.testing.assert_allclose(ens.pdf(CENTRES), rounded / 0.1 / rounded.sum(axis=1, keepdims=True),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ens.cdf(np.array([1.0])).ravel(), 1.0, atol=1e-12)
    # the file's estimates come from the float32 PDFs, before rounding: within a bin
    assert np.abs(ens.median().ravel() - stored["z_median"]).max() < 0.1
    assert np.abs(ens.mean().ravel() - stored["z_mean"]).max() < 0.1


def test_to_qp_ensemble_survives_a_qp_file(hand_file, tmp_path):
    """A RAIL pipeline writes its estimates with qp (hdf5): nothing of ours is lost."""
    ens = to_qp(hand_file)
    ens.write_to(str(tmp_path / "ens.hdf5"))
    back = qp.read(str(tmp_path / "ens.hdf5"))
    assert back.gen_class is qp.hist and back.npdf == 3
    np.testing.assert_array_equal(back.objdata["pdfs"], ens.objdata["pdfs"])
    for name in ("id", "zmode", "zmean", "zmedian"):
        np.testing.assert_array_equal(back.ancil[name], ens.ancil[name])


# -- RAIL stages -----------------------------------------------------------------------

SCALE = {"zeropoint_ab": 27.0, "pixel_scale_arcsec": 0.168}
# tests/test_reliability_predict.py's TRAIN, as run settings
SETTINGS = {"model.width": 0.125, "model.n_bins": 10, "model.z_max": 1.5,
            "train.batch_size": 4, "train.n_steps": 4, "train.checkpoint_every": 2,
            "evaluation.batch_size": 8, "ensemble.seeds": [0], "ensemble.n_folds": 2}


def table(n, seed, first_id):
    """A RAIL table of n objects of 8x8 griz pixels whose brightness falls with z."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.05, 1.2, n).astype(np.float32)
    images = rng.normal(0, 1, (n, 8, 8, 4)) + (3.0 / (0.2 + z))[:, None, None, None]
    return {"images": images.astype(np.float32), "redshift": z,
            "ebv": rng.uniform(0, 0.05, n).astype(np.float32),
            "object_id": np.arange(first_id, first_id + n, dtype=np.int64)}


@pytest.fixture(scope="module")
def rail_run(tmp_path_factory):
    """A run trained by MultimodalInformer on 24 objects, its model file, and what
    ``photoz predict`` writes for 10 new objects."""
    pytest.importorskip("rail.estimation.estimator")
    from multimodal_photoz.rail import MultimodalInformer

    root = tmp_path_factory.mktemp("rail")
    informer = MultimodalInformer.make_stage(
        name="inform_multimodal", workdir=str(root / "run"), settings=SETTINGS, bands="griz",
        hdf5_groupname="", model=str(root / "model.pkl"), **SCALE)
    informer.inform(table(24, seed=0, first_id=0))
    new = table(10, seed=1, first_id=100)
    data = str(write_dataset(root / "new", images=new["images"], z_spec=new["redshift"],
                             ebv=new["ebv"], ids=new["object_id"], bands="griz", name="t",
                             metadata=SCALE))
    out = str(root / "predicted.h5")
    assert console(["predict", "--run", str(root / "run"), "--data", data, "--out", out]) == 0
    return {"root": root, "model": str(root / "model.pkl"), "new": new, "data": data,
            "predicted": read_predictions(out)}


def estimator(rail_run, name, **options):
    from multimodal_photoz.rail import MultimodalEstimator

    return MultimodalEstimator.make_stage(name=name, model=rail_run["model"], bands="griz",
                                          **{"hdf5_groupname": "", **SCALE, **options})


def assert_is_photoz_predict(ens, predicted):
    """One PDF per object, the same probabilities, ids and point estimates."""
    n = len(predicted["id"])
    assert ens.gen_class is qp.hist and ens.npdf == n and ens.objdata["pdfs"].shape == (n, 10)
    pdf = predicted["pdf"].astype(np.float64)
    np.testing.assert_allclose(ens.objdata["pdfs"] * np.diff(predicted["bin_edges"]),
                               pdf / pdf.sum(axis=1, keepdims=True), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(np.ravel(ens.ancil["id"]), predicted["id"])
    for name, field in [("zmode", "z_mode"), ("zmean", "z_mean"), ("zmedian", "z_median")]:
        np.testing.assert_allclose(np.ravel(ens.ancil[name]), predicted[field], atol=1e-6)


def test_informer_model_is_the_runs_workdir(rail_run):
    with open(rail_run["model"], "rb") as f:
        model = pickle.load(f)
    workdir = str(rail_run["root"] / "run")
    assert model == {"workdir": workdir}
    trained = read_predictions(os.path.join(workdir, "predictions.h5"))
    assert len(trained["id"]) == 24 and trained["pdf"].shape == (24, 10)
    assert os.path.isdir(workdir + ".data")  # the table as a data set, beside the run


def test_informer_resumes_its_run_and_refuses_another_table(rail_run, capsys):
    from multimodal_photoz.config import data_fingerprint
    from multimodal_photoz.data import open_dataset
    from multimodal_photoz.rail import MultimodalInformer

    workdir = str(rail_run["root"] / "run")
    dataset = workdir + ".data"
    before = data_fingerprint(open_dataset(dataset))

    def inform(name, training_set):
        return MultimodalInformer.make_stage(
            name=name, workdir=workdir, settings=SETTINGS, bands="griz", hdf5_groupname="",
            model=str(rail_run["root"] / f"{name}.pkl"), **SCALE).inform(training_set)

    assert inform("inform_again", table(24, seed=0, first_id=0)).data == {"workdir": workdir}
    assert capsys.readouterr().out.count(": skipped") == 2  # both members were finished
    with pytest.raises(ValueError, match=r"run\.data: holds another training set .*z_spec"):
        inform("inform_other", table(24, seed=5, first_id=0))
    assert data_fingerprint(open_dataset(dataset)) == before  # the run's data set untouched


def test_estimator_of_a_table_is_photoz_predict(rail_run):
    unlabelled = {k: v for k, v in rail_run["new"].items() if k != "redshift"}
    handle = estimator(rail_run, "estimate_table", output_mode="return").estimate(unlabelled)
    assert_is_photoz_predict(handle.data, rail_run["predicted"])


def test_estimator_reads_a_table_file_in_chunks(rail_run, tmp_path):
    from rail.core.data import TableHandle

    path = str(tmp_path / "table.hdf5")
    with h5py.File(path, "w") as f:
        for name, values in rail_run["new"].items():
            f[f"photometry/{name}"] = values
    stage = estimator(rail_run, "estimate_file", hdf5_groupname="photometry", chunk_size=4,
                      output=str(tmp_path / "pz.hdf5"))  # 3 chunks, written by qp
    handle = stage.estimate(TableHandle("table", path=path))
    assert handle.path == str(tmp_path / "pz.hdf5")
    ens = qp.read(handle.path)
    assert_is_photoz_predict(ens, rail_run["predicted"])
    np.testing.assert_array_equal(np.ravel(ens.ancil["redshift"]), rail_run["new"]["redshift"])


def test_estimator_of_a_data_set_folder_is_photoz_predict(rail_run):
    handle = estimator(rail_run, "estimate_folder", output_mode="return").estimate(
        rail_run["data"])
    assert_is_photoz_predict(handle.data, rail_run["predicted"])


def test_estimator_refuses_images_on_another_flux_scale(rail_run):
    stage = estimator(rail_run, "estimate_no_scale", output_mode="return",
                      zeropoint_ab=22.5)
    with pytest.raises(ValueError, match=r"zeropoint_ab 22\.5 .*zeropoint_ab 27"):
        stage.estimate({k: v for k, v in rail_run["new"].items() if k != "redshift"})


def test_estimator_names_a_missing_column(rail_run):
    stage = estimator(rail_run, "estimate_no_ebv", output_mode="return")
    with pytest.raises(ValueError, match=r"no column 'ebv' \(E\(B-V\)\); its columns: images, "
                                         r"object_id"):
        stage.estimate({k: rail_run["new"][k] for k in ("images", "object_id")})
