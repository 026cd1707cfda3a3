"""photoz predict / evaluate on hostile input (issue 12): a data set on another flux
or pixel scale, damaged final checkpoints, files that are not predictions, a
read-only report folder, a band masked everywhere. Each ends in one line on
stderr and exit status 2 (or a warning), with nothing in the run moved."""

import errno
import os
import shutil
import warnings

import h5py
import numpy as np
import pytest

from multimodal_photoz import files, predictions
from multimodal_photoz.checkpoints import CheckpointWarning
from multimodal_photoz.cli import console
from multimodal_photoz.data import write_dataset

SCALE = {"zeropoint_ab": 27.0, "pixel_scale_arcsec": 0.168}
TRAIN = ["--width", "0.125", "--n-bins", "10", "--z-max", "1.5", "--batch-size", "4",
         "--steps", "4", "--checkpoint-every", "2", "--eval-batch-size", "8", "--seeds", "1",
         "--folds", "2"]


def make_data(path, n=6, seed=1, first_id=100, metadata=SCALE, band_mask=None, bands="griz"):
    """n objects of 8x8 pixels whose brightness falls with z."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.05, 1.2, n).astype(np.float32)
    images = rng.normal(0, 1, (n, 8, 8, len(bands))) + (3.0 / (0.2 + z))[:, None, None, None]
    return str(write_dataset(path, images=images.astype(np.float32), z_spec=z,
                             ebv=rng.uniform(0, 0.05, n).astype(np.float32),
                             ids=np.arange(first_id, first_id + n, dtype=np.int64), bands=bands,
                             name="t", metadata=metadata, band_mask=band_mask,
                             mags={"i": rng.uniform(18, 25, n).astype(np.float32)}))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One finished two-member run (zeropoint 27, 0.168"/pixel) and its training data."""
    root = tmp_path_factory.mktemp("reliability")
    data = make_data(str(root / "data"), n=24, seed=0, first_id=0)
    workdir = str(root / "run")
    assert console(["train", "--data", data, "--workdir", workdir, *TRAIN]) == 0
    return {"root": root, "data": data, "workdir": workdir}


def tree(folder):
    """Every file under ``folder`` with its size and content hash."""
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = hash(f.read())
    return out


def error_line(capsys) -> str:
    """The one ``photoz: error:`` line on stderr."""
    lines = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("photoz: error:")]
    assert len(lines) == 1, lines
    return lines[0]


def damage(step_dir):
    """Truncates every data file of a checkpoint step (the OCDBT data blocks)."""
    for root, _, names in os.walk(os.path.join(step_dir, "state")):
        for name in names:
            if os.sep + "d" in root:
                with open(os.path.join(root, name), "r+b") as f:
                    f.truncate(3)


# -- flux and pixel scale --------------------------------------------------------------

@pytest.mark.parametrize("metadata, words", [
    ({**SCALE, "zeropoint_ab": 22.5}, ("zeropoint_ab", "22.5", "27", "63")),
    ({"pixel_scale_arcsec": 0.168}, ("zeropoint_ab", "27", "no zeropoint_ab")),
    ({**SCALE, "pixel_scale_arcsec": 0.2}, ("pixel_scale_arcsec", "0.2", "0.168")),
])
def test_predict_refuses_data_on_another_scale(run, tmp_path, capsys, metadata, words):
    data = make_data(str(tmp_path / "other"), metadata=metadata)
    out = str(tmp_path / "p.h5")
    assert console(["predict", "--run", run["workdir"], "--data", data, "--out", out]) == 2
    message = error_line(capsys)
    assert data in message and run["workdir"] in message
    for word in words:
        assert word in message
    assert not os.path.exists(out)


def test_scale_check_of_runs_with_and_without_a_recorded_scale():
    from multimodal_photoz.predict import check_data_scale

    # a run made before the fingerprint recorded the scale: nothing to compare
    check_data_scale({"bands": "griz"}, {"zeropoint_ab": 22.5}, "w", "d")
    check_data_scale({"zeropoint_ab": 27.0}, {"zeropoint_ab": 27}, "w", "d")
    check_data_scale({"zeropoint_ab": None}, {}, "w", "d")
    with pytest.raises(ValueError, match=r"d: the data set has zeropoint_ab 27 .*run w.*no zeropoint_ab"):
        check_data_scale({"zeropoint_ab": None}, {"zeropoint_ab": 27.0}, "w", "d")


def test_predict_refuses_data_without_a_band_of_the_model(run, tmp_path, capsys):
    data = make_data(str(tmp_path / "gri"), bands="gri")
    out = str(tmp_path / "p.h5")
    assert console(["predict", "--run", run["workdir"], "--data", data, "--out", out]) == 2
    assert data in (message := error_line(capsys)) and "'z'" in message
    assert not os.path.exists(out)


def test_band_masked_in_every_object_is_reported(run, tmp_path, capsys):
    mask = np.ones((6, 4), bool)
    mask[:, 1] = False  # r: absent from every object
    data = make_data(str(tmp_path / "no_r"), band_mask=mask)
    out = str(tmp_path / "p.h5")
    assert console(["predict", "--run", run["workdir"], "--data", data, "--out", out]) == 0
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if "'r'" in line]
    assert len(warning) == 1, err
    assert "warning" in warning[0] and "6 of 6" in warning[0] and "unreliable" in warning[0]
    assert (predictions.read_predictions(out)["bands_missing"] == 1).all()


# -- checkpoints -----------------------------------------------------------------------

@pytest.mark.parametrize("damaged_steps", [(4,), (2, 4)])
def test_predict_never_falls_back_from_a_damaged_final_checkpoint(run, tmp_path, capsys,
                                                                   damaged_steps):
    workdir = str(tmp_path / "run")
    shutil.copytree(run["workdir"], workdir)
    folder = os.path.join(workdir, "members", "fold0_seed0", "checkpoints")
    for step in damaged_steps:
        damage(os.path.join(folder, str(step)))
    before = tree(workdir)
    out = str(tmp_path / "p.h5")
    for _ in range(2):  # the second attempt fails the same way: nothing was moved aside
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert console(["predict", "--run", workdir, "--data", run["data"],
                            "--out", out]) == 2
        assert not [w for w in caught if issubclass(w.category, CheckpointWarning)]
        message = error_line(capsys)
        assert folder in message and "fold 0, seed 0" in message and "step 4" in message
        assert "remove" in message
        assert tree(workdir) == before and not os.path.exists(out)


def test_train_resume_with_every_kept_checkpoint_damaged(run, tmp_path, capsys):
    workdir = str(tmp_path / "run")
    shutil.copytree(run["workdir"], workdir)
    folder = os.path.join(workdir, "members", "fold1_seed0", "checkpoints")
    os.remove(os.path.join(folder, "finished.json"))  # the member is now resuming
    for step in (2, 4):
        damage(os.path.join(folder, str(step)))
    before = tree(workdir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CheckpointWarning)  # one per damaged step
        assert console(["train", "--data", run["data"], "--workdir", workdir, *TRAIN]) == 2
    message = error_line(capsys)
    assert folder in message and "fold 1, seed 0" in message
    assert "step 2" in message and "step 4" in message and "remove" in message
    assert tree(workdir) == before


# -- files given to predict and evaluate -----------------------------------------------

def test_predict_out_is_a_directory(run, tmp_path, capsys):
    out = tmp_path / "folder"
    out.mkdir()
    assert console(["predict", "--run", run["workdir"], "--data", run["data"],
                    "--out", str(out)]) == 2
    assert str(out) in (message := error_line(capsys)) and "directory" in message
    assert os.listdir(out) == []


def test_predict_with_an_unreadable_run_configuration(run, tmp_path, capsys):
    workdir = str(tmp_path / "run")
    shutil.copytree(run["workdir"], workdir)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write("{not json")
    assert console(["predict", "--run", workdir, "--data", run["data"],
                    "--out", str(tmp_path / "p.h5")]) == 2
    assert os.path.join(workdir, "config.json") in error_line(capsys)


def _write_other_hdf5(path):
    with h5py.File(path, "w") as f:
        f["x"] = [1, 2]


@pytest.mark.parametrize("kind", ["truncated", "text", "empty", "other_hdf5"])
def test_evaluate_of_a_file_that_is_not_predictions(run, tmp_path, capsys, kind):
    path = str(tmp_path / f"{kind}.h5")
    good = os.path.join(run["workdir"], "predictions.h5")
    if kind == "truncated":
        with open(good, "rb") as f:
            open(path, "wb").write(f.read()[:3000])
    elif kind == "text":
        open(path, "w").write("id,z\n1,0.5\n")
    elif kind == "empty":
        open(path, "w").close()
    else:
        _write_other_hdf5(path)
    assert console(["evaluate", path, "--out", str(tmp_path / "ev")]) == 2
    message = error_line(capsys)
    assert path in message and "not a predictions file" in message
    assert not os.path.exists(tmp_path / "ev")


def test_evaluate_without_z_spec(run, tmp_path, capsys):
    pred = predictions.read_predictions(os.path.join(run["workdir"], "predictions.h5"))
    path = predictions.write_predictions(
        str(tmp_path / "unlabelled.h5"), ids=pred["id"], fold=pred["fold"], pdf=pred["pdf"],
        bin_edges=pred["bin_edges"], z_regression=pred["z_regression"])
    assert console(["evaluate", path, "--out", str(tmp_path / "ev")]) == 2
    assert path in (message := error_line(capsys)) and "z_spec" in message


def test_evaluate_into_a_read_only_folder(run, tmp_path, capsys, monkeypatch):
    def read_only(path):  # what a read-only mount answers (tests may run as root)
        tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), tmp)

    monkeypatch.setattr(files, "atomic_path", read_only)
    out = str(tmp_path / "ev")
    assert console(["evaluate", os.path.join(run["workdir"], "predictions.h5"),
                    "--out", out]) == 2
    message = error_line(capsys)
    assert out in message and "Read-only" in message and "--out" in message
