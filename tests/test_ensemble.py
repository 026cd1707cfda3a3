"""Ensembles: the seed average, training on a subset of bands, predicting data whose
bands are stored otherwise, and prediction that never writes into the run."""

import os

import chex
import numpy as np
import pytest

from multimodal_photoz import predictions
from multimodal_photoz.cli import main as photoz
from multimodal_photoz.config import load_run_config
from multimodal_photoz.data import fold_of, open_dataset, write_dataset
from multimodal_photoz.predict import (EnsemblePredictor, abstract_state, members_of, normalized,
                                       restore)
from multimodal_photoz.train import make_mesh

FLAGS = ["--width", "0.05", "--n-bins", "20", "--z-max", "1.5", "--batch-size", "8",
         "--steps", "3", "--eval-batch-size", "8", "--only-folds", "0"]


def make_images(n, bands, seed):
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.05, 1.2, n).astype(np.float32)
    images = rng.normal(0, 1, (n, 16, 16, len(bands))).astype(np.float32)
    images += (3.0 / (0.2 + z))[:, None, None, None]
    return images, z, rng.uniform(0, 0.05, n).astype(np.float32)


def write(path, images, z, ebv, bands, first_id=0):
    return str(write_dataset(path, images=images, z_spec=z, ebv=ebv, bands=bands, name="t",
                             ids=np.arange(first_id, first_id + len(z), dtype=np.int64)))


@pytest.fixture(scope="module")
def griz(tmp_path_factory):
    root = tmp_path_factory.mktemp("ens")
    images, z, ebv = make_images(50, "griz", 0)
    return {"root": root, "images": images, "z": z, "ebv": ebv,
            "data": write(str(root / "griz"), images, z, ebv, "griz")}


def tree(folder):
    """Every file under ``folder`` with its size and modification time."""
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = (os.path.getsize(path), os.path.getmtime(path))
    return out


def test_two_seeds_average_to_the_ensemble_pdf(griz):
    workdir = str(griz["root"] / "two_seeds")
    assert photoz(["train", "--data", griz["data"], "--workdir", workdir, "--seeds", "2",
                   *FLAGS]) == 0
    config, _ = load_run_config(workdir)
    source, mesh = open_dataset(griz["data"]), make_mesh()
    target = abstract_state(config, 16, mesh)
    test = np.flatnonzero(fold_of(source.catalogue()["id"], 5) == 0)
    single = [EnsemblePredictor(config, [restore(workdir, m, target)], mesh).predict(source, test)
              for m in members_of(config)]
    assert len(single) == 2 and not np.allclose(single[0]["pdf"], single[1]["pdf"])
    pred = predictions.read_predictions(os.path.join(workdir, "predictions.h5"))
    assert pred["id"].tolist() == single[0]["id"].tolist()
    chex.assert_shape(pred["pdf"], (len(test), config.model.n_bins))
    expected = {"pdf": normalized((single[0]["pdf"] + single[1]["pdf"]) / 2),
                "z_regression": (single[0]["z_regression"] + single[1]["z_regression"]) / 2}
    chex.assert_trees_all_close({k: pred[k] for k in expected}, expected, rtol=1e-6, atol=1e-7)
    # photoz predict needs every member of the run: refused by name, nothing created
    before = tree(workdir)
    with pytest.raises(ValueError, match="member fold1_seed0 has not finished"):
        photoz(["predict", "--run", workdir, "--data", griz["data"],
                "--out", str(griz["root"] / "partial.h5")])
    assert tree(workdir) == before and not os.path.exists(workdir + "/members/fold1_seed0")


def test_band_subset_and_data_with_bands_stored_otherwise(griz):
    """Trained on g,r,i of a griz set; data with an extra u band (every channel
    shifted) give the same PDFs, and prediction leaves the run untouched."""
    workdir = str(griz["root"] / "gri")
    assert photoz(["train", "--data", griz["data"], "--workdir", workdir, "--seeds", "1",
                   "--bands", "g,r,i", *FLAGS[:-2]]) == 0
    config, _ = load_run_config(workdir)
    assert config.model.bands == tuple("gri")
    assert len(config.model.modality_names()) == 2
    u = np.random.default_rng(9).normal(0, 5, griz["images"].shape[:3] + (1,)).astype(np.float32)
    ugriz = write(str(griz["root"] / "ugriz"), np.concatenate([u, griz["images"]], axis=-1),
                  griz["z"], griz["ebv"], "ugriz")
    before = tree(workdir)
    outs = {}
    for name, data in (("griz", griz["data"]), ("ugriz", ugriz)):
        outs[name] = str(griz["root"] / f"{name}.h5")
        assert photoz(["predict", "--run", workdir, "--data", data, "--out", outs[name]]) == 0
    assert tree(workdir) == before
    with pytest.raises(ValueError, match="inside the run"):
        photoz(["predict", "--run", workdir, "--data", ugriz,
                "--out", os.path.join(workdir, "predictions.h5")])
    a, b = (predictions.read_predictions(outs[k]) for k in ("griz", "ugriz"))
    assert a["attrs"]["n_members"] == 5
    np.testing.assert_array_equal(a["id"], b["id"])
    chex.assert_trees_all_close(a["pdf"], b["pdf"], rtol=1e-5, atol=1e-7)
    # the band the model reads is missing: refused by name
    gz = write(str(griz["root"] / "gz"), griz["images"][..., [0, 3]], griz["z"], griz["ebv"],
               "gz")
    with pytest.raises(ValueError, match=r"has bands 'gz'; the model asks for 'ri' too"):
        photoz(["predict", "--run", workdir, "--data", gz, "--out", str(griz["root"] / "x.h5")])


def test_validation_loss_of_the_held_out_fold_is_logged_and_checked(griz):
    import json

    from multimodal_photoz.ensemble import validation_objects
    from multimodal_photoz.logs import read_log

    workdir = str(griz["root"] / "validated")
    flags = [f if f != "3" else "4" for f in FLAGS]  # 4 steps
    assert photoz(["train", "--data", griz["data"], "--workdir", workdir,
                   "--set", "train.validate_every=2", "--set", "train.validation_objects=5",
                   *flags]) == 0
    val = [r for r in read_log(os.path.join(workdir, "log.jsonl")) if "val_loss" in r["metrics"]]
    members = sorted({r["member"] for r in val})
    assert members == [0, 1, 2]  # the 3 seeds of fold 0
    assert all([r["step"] for r in val if r["member"] == m] == [2, 4] for m in members)
    assert all(np.isfinite(r["metrics"]["val_loss"]) for r in val)
    fold = fold_of(open_dataset(griz["data"]).catalogue()["id"], 5)
    rows = validation_objects(fold, 0, 5)
    assert len(rows) == min(5, int((fold == 0).sum())) and (fold[rows] == 0).all()
    with open(os.path.join(workdir, "metrics.json")) as f:
        metrics = json.load(f)
    assert {m["key"] for m in metrics["convergence"].values()} == {"val_loss"}
