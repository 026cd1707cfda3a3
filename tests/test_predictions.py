"""predictions.h5: round trip, point estimates, validation messages, qp recipe."""

import os
import sys
import types

import h5py
import numpy as np
import pytest

from multimodal_photoz.predictions import (
    PredictionsError,
    read_predictions,
    to_qp,
    validate_predictions,
    write_predictions,
)

EDGES = np.linspace(0.0, 1.0, 11)  # 10 bins of width 0.1


def fields(n=6, seed=0):
    rng = np.random.default_rng(seed)
    pdf = rng.random((n, 10)).astype(np.float32)
    pdf /= pdf.sum(axis=1, keepdims=True)
    return dict(ids=np.arange(100, 100 + n), fold=np.arange(n) % 5, pdf=pdf, bin_edges=EDGES,
                z_regression=rng.random(n), z_spec=rng.random(n), mag_i=20 + rng.random(n),
                ebv=0.01 * rng.random(n))


def test_round_trip(tmp_path):
    f = fields()
    path = write_predictions(tmp_path / "predictions.h5", **f, config={"lr": 1e-4, "bands": "griz"},
                             bands=("g", "r", "i", "z"), n_members=3, attrs={"survey": "hsc9"})
    pred = read_predictions(path)
    np.testing.assert_array_equal(pred["id"], f["ids"])
    assert pred["id"].dtype == np.int64 and pred["fold"].dtype == np.int32
    assert pred["pdf"].dtype == np.float32 and pred["bin_edges"].dtype == np.float64
    np.testing.assert_array_equal(pred["pdf"], f["pdf"])
    np.testing.assert_array_equal(pred["z_spec"], f["z_spec"].astype(np.float32))
    np.testing.assert_array_equal(pred["mag_i"], f["mag_i"].astype(np.float32))
    attrs = pred["attrs"]
    assert attrs["config"] == {"lr": 1e-4, "bands": "griz"}
    assert attrs["bands"] == "griz" and attrs["n_members"] == 3 and attrs["survey"] == "hsc9"
    assert attrs["format_version"] == 1 and attrs["created_utc"].endswith("+00:00")
    assert not [n for n in os.listdir(tmp_path) if "tmp" in n]  # atomic write left nothing behind


def test_point_estimates_computed_by_hand(tmp_path):
    pdf = np.zeros((2, 10), np.float32)
    pdf[0, 3] = 1.0  # all mass in [0.3, 0.4): median 0.35, mean 0.35, mode 0.35
    pdf[1, [1, 6]] = [0.25, 0.75]  # median where the CDF reaches 0.5: 0.6 + (0.25/0.75)*0.1
    pred = read_predictions(write_predictions(
        tmp_path / "p.h5", ids=[1, 2], fold=[0, 1], pdf=pdf, bin_edges=EDGES, z_regression=[0.3, 0.5]))
    np.testing.assert_allclose(pred["z_median"], [0.35, 0.6 + 0.1 / 3], atol=1e-6)
    np.testing.assert_allclose(pred["z_mean"], [0.35, 0.25 * 0.15 + 0.75 * 0.65], atol=1e-6)
    np.testing.assert_allclose(pred["z_mode"], [0.35, 0.65], atol=1e-6)


def test_unlabelled_data_has_no_z_spec(tmp_path):
    f = fields()
    f["z_spec"] = np.full(6, np.nan)
    f["mag_i"] = None
    pred = read_predictions(write_predictions(tmp_path / "p.h5", **f))
    assert "z_spec" not in pred and "mag_i" not in pred and "ebv" in pred


def test_partially_known_z_spec_keeps_nan(tmp_path):
    f = fields()
    f["z_spec"][2] = np.nan
    pred = read_predictions(write_predictions(tmp_path / "p.h5", **f))
    assert np.isnan(pred["z_spec"][2]) and np.isfinite(np.delete(pred["z_spec"], 2)).all()


@pytest.mark.parametrize("mutate, field, message", [
    (lambda f: f.update(pdf=f["pdf"] * np.float32(0.99)), "pdf", r"object index 0 \(id 100\) sums to 0\.99"),
    (lambda f: f.update(ids=np.array([100, 101, 102, 101, 104, 105])), "id", "duplicate id 101 at object indices 1 and 3"),
    (lambda f: f.update(bin_edges=EDGES[:-1]), "bin_edges", r"expected shape \(11,\)"),
    (lambda f: f.update(fold=np.zeros(5, int)), "fold", r"expected shape \(6,\)"),
    (lambda f: f.update(bin_edges=EDGES[::-1]), "bin_edges", "edges must be finite and strictly increasing"),
    (lambda f: f["z_regression"].__setitem__(4, np.nan), "z_regression", r"non-finite value at object index 4 \(id 104\)"),
    (lambda f: f["z_spec"].__setitem__(5, -0.2), "z_spec", r"negative redshift at object index 5 \(id 105\)"),
])
def test_write_refuses_bad_input_naming_file_and_field(tmp_path, mutate, field, message):
    f = fields()
    mutate(f)
    with pytest.raises(PredictionsError, match=f"p.h5: field '{field}': {message}"):
        write_predictions(tmp_path / "p.h5", **f)
    assert not os.listdir(tmp_path)


def test_read_names_file_and_missing_or_bad_field(tmp_path):
    path = write_predictions(tmp_path / "p.h5", **fields())
    with h5py.File(path, "a") as h5:
        del h5["z_mode"]
    with pytest.raises(PredictionsError, match=r"p\.h5: field 'z_mode': missing dataset"):
        read_predictions(path)
    path = write_predictions(tmp_path / "q.h5", **fields())
    with h5py.File(path, "a") as h5:
        h5["pdf"][2, 0] += 0.01  # now sums to 1.01
    with pytest.raises(PredictionsError, match=r"q\.h5: field 'pdf': object index 2 \(id 102\) sums to 1\.01"):
        read_predictions(path)
    assert read_predictions(path, validate=False)["pdf"].shape == (6, 10)
    with pytest.raises(FileNotFoundError, match="r.h5"):
        read_predictions(tmp_path / "r.h5")


def test_pdfs_sum_to_one_within_tolerance():
    f = fields()
    pred = dict(id=f["ids"], fold=f["fold"], pdf=f["pdf"], bin_edges=EDGES, z_median=f["z_spec"],
                z_mean=f["z_spec"], z_mode=f["z_spec"], z_regression=f["z_spec"])
    pred["pdf"] = f["pdf"] * np.float32(1.0005)  # within 1e-3: accepted
    validate_predictions(pred)
    pred["pdf"] = f["pdf"] * np.float32(1.002)
    with pytest.raises(PredictionsError, match="predictions: field 'pdf'"):
        validate_predictions(pred)


def test_to_qp_follows_the_documented_recipe(tmp_path, monkeypatch):
    """qp is optional: a stand-in module records what to_qp hands to it."""
    calls = {}

    class Ensemble:
        def __init__(self, gen, data):
            calls.update(gen=gen, data=data)

        def set_ancil(self, ancil):
            calls["ancil"] = ancil

    monkeypatch.setitem(sys.modules, "qp", types.SimpleNamespace(Ensemble=Ensemble, hist="hist"))
    f = fields()
    path = write_predictions(tmp_path / "p.h5", **f)
    to_qp(path)
    assert calls["gen"] == "hist"
    np.testing.assert_array_equal(calls["data"]["bins"], EDGES)
    density = calls["data"]["pdfs"]
    np.testing.assert_allclose((density * np.diff(EDGES)).sum(axis=1), 1.0, atol=1e-6)  # unit integral
    assert set(calls["ancil"]) == {"zmode", "zmean", "zmedian", "id"}
    stored = read_predictions(path)
    np.testing.assert_array_equal(calls["ancil"]["id"], stored["id"])
    np.testing.assert_array_equal(calls["ancil"]["zmedian"], stored["z_median"])
