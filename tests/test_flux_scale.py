"""Flux scale travels with the data (issue 9): ingest brings a user's pixels to the
run's zeropoint, so a model trained on one ingest predicts another of the same survey
as it predicts its own; predict converts a zeropoint only when told to."""
import numpy as np
import pytest
from test_reliability_predict import SCALE, error_line, make_data, run  # noqa: F401

from multimodal_photoz import predictions
from multimodal_photoz.cli import console
from multimodal_photoz.data import open_dataset
from multimodal_photoz.data.ingest.driver import flux_factor_to


def test_flux_factor_between_zeropoints_by_hand():
    assert flux_factor_to(27.0, 27.0) == 1.0
    assert flux_factor_to(22.5, 27.0) == pytest.approx(10 ** 1.8)  # nanomaggies -> HSC
    assert flux_factor_to(27.0, 22.5) * flux_factor_to(22.5, 27.0) == pytest.approx(1.0)


def _as_cube(data, path, factor):
    """The data set's objects as an .npz cube, fluxes times ``factor``."""
    source = open_dataset(data)
    cat = source.catalogue()
    images = np.stack([source[i]["image"] for i in range(len(source))]) * np.float32(factor)
    np.savez(path, images=images, z_spec=cat["z_spec"], ebv=cat["ebv"], id=cat["id"])
    return str(path)


def test_ingest_to_the_runs_zeropoint_predicts_as_the_original(run, tmp_path, capsys):  # noqa: F811
    original = make_data(str(tmp_path / "original"), n=6, seed=3, first_id=500)
    # the same galaxies, as a survey in nanomaggies (zeropoint 22.5) would write them
    cube = _as_cube(original, tmp_path / "nmgy.npz", flux_factor_to(27.0, 22.5))
    ingest = ["ingest", "--cube", cube, "--bands", "g,r,i,z", "--layout", "NHWC",
              "--pixel-scale", str(SCALE["pixel_scale_arcsec"])]
    plain = str(tmp_path / "plain")
    assert console(ingest + ["--zeropoint-ab", "22.5", "--out", plain]) == 0
    out = str(tmp_path / "refused.h5")
    assert console(["predict", "--run", run["workdir"], "--data", plain, "--out", out]) == 2
    assert "zeropoint_ab 22.5" in error_line(capsys)
    converted = str(tmp_path / "converted")
    assert console(ingest + ["--zeropoint-ab", "22.5", "--to-zeropoint-ab", "27",
                             "--out", converted]) == 0
    meta = open_dataset(converted).metadata
    assert meta["zeropoint_ab"] == 27.0 and meta["ingest_rescaled_from_zeropoint_ab"] == 22.5
    np.testing.assert_allclose(open_dataset(converted)[0]["image"],
                               open_dataset(original)[0]["image"], rtol=1e-5, atol=1e-6)
    preds = {}
    for name, data in (("original", original), ("converted", converted)):
        path = str(tmp_path / f"{name}.h5")
        assert console(["predict", "--run", run["workdir"], "--data", data, "--out", path]) == 0
        preds[name] = predictions.read_predictions(path)
    np.testing.assert_array_equal(preds["original"]["id"], preds["converted"]["id"])
    np.testing.assert_allclose(preds["converted"]["pdf"], preds["original"]["pdf"], atol=1e-5)


def test_to_zeropoint_needs_the_inputs_own(tmp_path, capsys):
    cube = str(tmp_path / "c.npz")
    np.savez(cube, images=np.ones((2, 8, 8, 2), np.float32), z_spec=[0.1, 0.2], ebv=[0, 0],
             id=[1, 2])
    assert console(["ingest", "--cube", cube, "--bands", "g,r", "--layout", "NHWC",
                    "--to-zeropoint-ab", "27", "--out", str(tmp_path / "d")]) == 2
    assert "give the input's own zeropoint with --zeropoint-ab" in capsys.readouterr().err
