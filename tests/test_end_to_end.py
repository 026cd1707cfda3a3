"""End to end on tiny data: train, predict, evaluate, compare; kill -9 and resume."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from multimodal_photoz import predictions
from multimodal_photoz.cli import main as photoz
from multimodal_photoz.data import write_dataset

TRAIN_FLAGS = ["--width", "0.05", "--n-bins", "30", "--z-max", "1.5", "--batch-size", "8",
               "--steps", "6", "--checkpoint-every", "2", "--eval-batch-size", "16",
               "--seeds", "1", "--folds", "5"]


def make_data(path, n=60, stamp=16, seed=0, id_offset=0):
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.05, 1.2, n).astype(np.float32)
    # brighter centres at low z: a little signal to learn
    yy, xx = np.mgrid[:stamp, :stamp] - stamp / 2
    profile = np.exp(-(xx**2 + yy**2) / 8.0)
    images = (profile[None, :, :, None] * (5.0 / (0.2 + z))[:, None, None, None]
              * np.ones((1, 1, 1, 5)) + rng.normal(0, 0.1, (n, stamp, stamp, 5))).astype(np.float32)
    return str(write_dataset(path, images=images, z_spec=z,
                         ebv=rng.uniform(0, 0.05, n).astype(np.float32),
                         ids=np.arange(id_offset, id_offset + n, dtype=np.int64), bands="ugriz",
                         mags={"i": rng.uniform(18, 25, n).astype(np.float32)}, name="tiny",
                         metadata={"zeropoint_ab": 27.0}))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    return {"root": root, "data": make_data(str(root / "data")),
            "external": make_data(str(root / "external"), n=20, seed=1, id_offset=1000)}


@pytest.fixture(scope="module")
def two_runs(tiny):
    root = tiny["root"]
    runs = {}
    for label, fusion in (("baseline", "none"), ("early", "early")):
        runs[label] = str(root / label)
        assert photoz(["train", "--data", tiny["data"], "--fusion", fusion, "--workdir",
                       runs[label], *TRAIN_FLAGS]) == 0
    return runs


def test_every_object_predicted_once_with_normalized_pdfs(tiny, two_runs):
    for workdir in two_runs.values():
        pred = predictions.read_predictions(os.path.join(workdir, "predictions.h5"))
        assert sorted(pred["id"].tolist()) == list(range(60))
        np.testing.assert_allclose(pred["pdf"].sum(axis=1), 1.0, atol=1e-5)
        assert pred["pdf"].shape == (60, 30) and pred["bin_edges"].shape == (31,)
        assert set(np.unique(pred["fold"]).tolist()) <= set(range(5))
        for name in ("metrics.json", "report.md", "figures/zphot_zspec.png",
                     "figures/binned_metrics.png", "figures/pit.png", "figures/n_of_z.png",
                     "log.jsonl", "config.json"):
            assert os.path.getsize(os.path.join(workdir, name)) > 0, name
        with open(os.path.join(workdir, "metrics.json")) as f:
            metrics = json.load(f)
        assert {"sigma_mad", "outlier_fraction", "bias", "per_fold", "binned"} <= set(metrics)


def test_members_predict_only_their_test_fold(tiny, two_runs):
    from multimodal_photoz.data import fold_of, open_dataset
    ids = open_dataset(tiny["data"]).catalogue()["id"]
    pred = predictions.read_predictions(os.path.join(two_runs["early"], "predictions.h5"))
    folds = dict(zip(ids.tolist(), fold_of(ids, 5).tolist()))
    assert pred["fold"].tolist() == [folds[i] for i in pred["id"].tolist()]


def test_compare_writes_table3_and_refuses_other_objects(tiny, two_runs, capsys, tmp_path):
    out = str(tmp_path / "cmp")
    assert photoz(["compare", two_runs["baseline"], two_runs["early"], "--out", out,
                   "--resamples", "200"]) == 0
    with open(os.path.join(out, "comparison.json")) as f:
        comparison = json.load(f)
    for metric in ("sigma_mad", "outlier_fraction", "bias"):
        assert {"baseline", "multimodal", "gain", "p_value"} <= set(comparison[metric])
    assert "Baseline" in capsys.readouterr().out
    # a run over other objects is refused
    other = str(tmp_path / "other")
    make_data(other, n=60, seed=3, id_offset=500)
    fake_run = str(tmp_path / "fake_run")
    os.makedirs(fake_run)
    pred = predictions.read_predictions(os.path.join(two_runs["early"], "predictions.h5"))
    predictions.write_predictions(
        os.path.join(fake_run, "predictions.h5"), ids=pred["id"] + 500, fold=pred["fold"],
        pdf=pred["pdf"], bin_edges=pred["bin_edges"], z_regression=pred["z_regression"],
        z_spec=pred["z_spec"])
    with pytest.raises(ValueError, match="id"):
        photoz(["compare", two_runs["baseline"], fake_run, "--out", str(tmp_path / "x"),
                "--outlier-threshold", "0.15", "--mag-limit", "24", "--resamples", "10"])


def test_predict_new_data_and_evaluate(tiny, two_runs, tmp_path):
    out = str(tmp_path / "external.h5")
    assert photoz(["predict", "--run", two_runs["early"], "--data", tiny["external"],
                   "--out", out]) == 0
    pred = predictions.read_predictions(out)
    assert sorted(pred["id"].tolist()) == list(range(1000, 1020))
    assert (pred["fold"] == -1).all() and pred["attrs"]["n_members"] == 5
    np.testing.assert_allclose(pred["pdf"].sum(axis=1), 1.0, atol=1e-5)
    assert photoz(["evaluate", out, "--out", str(tmp_path / "ev")]) == 0
    assert os.path.exists(tmp_path / "ev" / "metrics.json")


def test_rerun_skips_finished_members_and_refuses_another_config(tiny, two_runs, capsys):
    workdir = two_runs["early"]
    before = predictions.read_predictions(os.path.join(workdir, "predictions.h5"))
    assert photoz(["train", "--data", tiny["data"], "--fusion", "early", "--workdir", workdir,
                   *TRAIN_FLAGS]) == 0
    assert capsys.readouterr().out.count(": skipped") == 5
    after = predictions.read_predictions(os.path.join(workdir, "predictions.h5"))
    np.testing.assert_array_equal(before["pdf"], after["pdf"])
    with pytest.raises(ValueError, match=r"different configuration.*model\.fusion"):
        photoz(["train", "--data", tiny["data"], "--fusion", "middle", "--workdir", workdir,
                *TRAIN_FLAGS])
    with pytest.raises(ValueError, match=r"train\.n_steps: 6 in the workdir, 7 now"):
        photoz(["train", "--data", tiny["data"], "--fusion", "early", "--workdir", workdir,
                *TRAIN_FLAGS, "--steps", "7"])


def _train_cmd(data, workdir):
    return [sys.executable, "-m", "multimodal_photoz.cli", "train", "--data", data,
            "--fusion", "early", "--workdir", workdir, *TRAIN_FLAGS]


def _a_member_in_progress(workdir):
    """A member past the first with a checkpoint and not finished, or None."""
    for fold in range(1, 5):
        folder = os.path.join(workdir, "members", f"fold{fold}_seed0", "checkpoints")
        if (os.path.isdir(folder) and not os.path.exists(os.path.join(folder, "finished.json"))
                and any(d.isdigit() for d in os.listdir(folder))):
            return fold
    return None


def test_kill_and_resume_gives_identical_predictions(tiny, two_runs, tmp_path):
    """The uninterrupted reference is ``two_runs``' early-fusion run (same flags)."""
    # the killed process gets no compilation cache: a kill in the middle of writing an
    # entry would leave it truncated for the rest of the session
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COMPILATION_CACHE",
                                                                     "JAX_PERSISTENT_CACHE"))}
    env.update(JAX_PLATFORMS="cpu", PHOTOZ_NO_PROGRESS="1")
    reference, resumed = two_runs["early"], str(tmp_path / "resumed")
    # kill -9 as soon as a member after the first has a checkpoint and has not finished
    proc = subprocess.Popen(_train_cmd(tiny["data"], resumed), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, killed_in = time.time() + 600, None
    while time.time() < deadline and proc.poll() is None and killed_in is None:
        killed_in = _a_member_in_progress(resumed)
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert killed_in is not None
    assert not os.path.exists(os.path.join(resumed, "predictions.h5"))
    done = subprocess.run(_train_cmd(tiny["data"], resumed), env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fold0_seed0 (1/5): skipped" in done.stdout
    # the member killed went on from its checkpoint, not from the start (the replay
    # is deterministic, so equal predictions alone would not tell)
    assert re.search(rf"fold{killed_in}_seed0 \({killed_in + 1}/5\): finished \(resumed at "
                     r"step [1-6]\)", done.stdout), done.stdout
    with h5py.File(os.path.join(reference, "predictions.h5")) as a, \
            h5py.File(os.path.join(resumed, "predictions.h5")) as b:
        np.testing.assert_array_equal(a["id"][:], b["id"][:])
        np.testing.assert_array_equal(a["pdf"][:], b["pdf"][:])
        np.testing.assert_array_equal(a["z_regression"][:], b["z_regression"][:])


def test_ingested_cube_feeds_training(tmp_path):
    """photoz ingest (NCHW cube, cropped) -> photoz train on one fold."""
    rng = np.random.default_rng(4)
    n = 40
    cube = str(tmp_path / "cube.npz")
    np.savez(cube, images=rng.normal(0, 1, (n, 4, 20, 20)).astype(np.float32),
             z=rng.uniform(0.1, 1.0, n), ebv=rng.uniform(0, 0.05, n),
             object_id=np.arange(7000, 7000 + n))
    data = str(tmp_path / "mine")
    assert photoz(["ingest", "--cube", cube, "--layout", "NCHW", "--bands", "z,g,r,i",
                   "--images-key", "images", "--z-key", "z", "--ebv-key", "ebv",
                   "--id-key", "object_id", "--stamp", "16", "--out", data]) == 0
    workdir = str(tmp_path / "run")
    assert photoz(["train", "--data", data, "--fusion", "early", "--workdir", workdir,
                   "--width", "0.05", "--n-bins", "20", "--batch-size", "8", "--steps", "2",
                   "--seeds", "1", "--only-folds", "0", "--eval-batch-size", "8"]) == 0
    pred = predictions.read_predictions(os.path.join(workdir, "predictions.h5"))
    from multimodal_photoz.data import fold_of, open_dataset
    source = open_dataset(data)
    assert source.bands == tuple("griz") and source.stamp_size == 16
    ids = source.catalogue()["id"]
    assert sorted(pred["id"].tolist()) == sorted(ids[fold_of(ids, 5) == 0].tolist())


def test_command_line_reports_user_errors_in_one_line(tmp_path, capsys):
    from experiments.common import console as experiment_console
    from multimodal_photoz.cli import console
    missing = str(tmp_path / "nowhere")
    assert console(["train", "--data", missing, "--workdir", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("photoz: error: ") and "nowhere" in err and "Traceback" not in err
    assert experiment_console("hsc9", ["--data", missing, "--scale=smoke"]) == 2
    assert "experiments.hsc9: error: " in capsys.readouterr().err
