"""Issue 12, training side: a run never mixes in changed data, never loses finished
folds from its outputs, keeps a second command out of its workdir, and every bad
input to ``photoz train`` is one line naming file, object and field (status 2),
found before any member trains."""

import errno
import fcntl
import hashlib
import json
import os
import shutil

import numpy as np
import pytest

from multimodal_photoz import files, predictions
from multimodal_photoz.cli import console
from multimodal_photoz.config import build, data_fingerprint
from multimodal_photoz.data import fold_of, open_dataset, write_dataset
from multimodal_photoz.data.format.writer import DatasetWriter

FLAGS = ["--width", "0.05", "--n-bins", "10", "--z-max", "1.5", "--batch-size", "4",
         "--steps", "2", "--checkpoint-every", "1", "--eval-batch-size", "8", "--seeds", "1"]
N = 30


def arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {"images": rng.normal(0, 1, (N, 8, 8, 4)).astype(np.float32),
            "z_spec": rng.uniform(0.05, 1.2, N).astype(np.float32),
            "ebv": rng.uniform(0, 0.05, N).astype(np.float32),
            "ids": np.arange(100, 100 + N, dtype=np.int64)}


def write(path, zeropoint=27.0, **columns):
    return str(write_dataset(path, **{**arrays(), **columns}, bands="griz", name="t",
                             metadata={"zeropoint_ab": zeropoint}, overwrite=True))


def train(data, workdir, *extra):
    return console(["train", "--data", data, "--workdir", workdir, *FLAGS, *extra])


def shard_of(data):
    (name,) = [f for f in os.listdir(data) if ".array_record-" in f]
    return os.path.join(data, name)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run of fold 0 (one member) on a 30-object data set."""
    root = tmp_path_factory.mktemp("reliability")
    data, workdir = write(str(root / "ds")), str(root / "w")
    assert train(data, workdir, "--only-folds", "0") == 0
    return {"root": root, "data": data, "workdir": workdir}


def copy_run(trained, tmp_path):
    data, workdir = str(tmp_path / "ds"), str(tmp_path / "w")
    shutil.copytree(trained["data"], data)
    shutil.copytree(trained["workdir"], workdir)
    return data, workdir


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def test_rewritten_data_under_the_same_path_is_refused_naming_what_changed(trained, tmp_path,
                                                                            capsys):
    data, workdir = copy_run(trained, tmp_path)
    write(data)  # the same content written again: no false alarm
    assert train(data, workdir, "--only-folds", "0") == 0
    assert "fold0_seed0 (1/1): skipped" in capsys.readouterr().out
    kept = {p: read_bytes(os.path.join(workdir, p)) for p in ("predictions.h5", "stats/fold0.json")}
    changed_z = arrays()["z_spec"] + np.float32(0.1)
    for columns, named, not_named in [
            ({"z_spec": changed_z}, ["catalogue column(s) z_spec"], ["images"]),
            ({"images": arrays(seed=1)["images"]}, ["the images"], ["catalogue"]),
            ({"zeropoint": 22.5}, ["zeropoint_ab 27.0 -> 22.5"], ["images", "catalogue"])]:
        write(data, **columns)
        assert train(data, workdir, "--only-folds", "0") == 2
        err = capsys.readouterr().err
        assert err.startswith("photoz: error: ") and err.count("\n") == 1, err
        assert f"workdir {workdir} holds a run trained on other data than {data}" in err
        assert all(word in err for word in named) and not any(w in err for w in not_named), err
    assert {p: read_bytes(os.path.join(workdir, p)) for p in kept} == kept


def test_fingerprint_holds_the_flux_scale_and_the_writers_image_digests(trained, tmp_path):
    from multimodal_photoz.data.format.shards import image_bytes

    fingerprint = data_fingerprint(open_dataset(trained["data"]))
    assert fingerprint["zeropoint_ab"] == 27.0 and fingerprint["pixel_scale_arcsec"] is None
    assert set(fingerprint["catalogue_sha256"]) >= {"id", "z_spec", "ebv", "band_mask"}
    # the writer hashes each shard's images as it writes them
    images = arrays()["images"][:5]
    with DatasetWriter(tmp_path / "d", bands="griz", name="d", objects_per_shard=2) as writer:
        writer.add(images=images, z_spec=np.full(5, 0.5), ebv=np.zeros(5), ids=np.arange(5))
    digests = writer._shards.image_digests()
    expected = [hashlib.sha256(b"".join(image_bytes(im) for im in images[k:k + 2])).hexdigest()
                for k in (0, 2, 4)]
    assert digests == expected
    # a data set whose photoz.json holds them is fingerprinted from them, not read back
    meta_path = tmp_path / "d" / "photoz.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "shard_images_sha256": digests}))
    stored = open_dataset(tmp_path / "d").images_sha256()
    assert stored == hashlib.sha256("".join(digests).encode()).hexdigest()
    meta_path.write_text(json.dumps({**meta, "shard_images_sha256": digests[:2] + ["0" * 64]}))
    assert open_dataset(tmp_path / "d").images_sha256() != stored


def test_outputs_cover_every_finished_fold_and_name_the_missing_ones(trained, tmp_path, capsys):
    data, workdir = copy_run(trained, tmp_path)
    assert train(data, workdir, "--only-folds", "1") == 0
    assert "not trained yet: 2, 3, 4" in capsys.readouterr().out
    pred = predictions.read_predictions(os.path.join(workdir, "predictions.h5"))
    assert sorted(set(pred["fold"].tolist())) == [0, 1]
    assert pred["attrs"]["n_members"] == 2
    with open(os.path.join(workdir, "metrics.json")) as f:
        assert json.load(f)["folds"] == {"predicted": [0, 1], "missing": [2, 3, 4]}
    with open(os.path.join(workdir, "report.md")) as f:
        assert "--only-folds 2,3,4" in f.read()


def test_a_second_training_command_is_locked_out_of_the_workdir(trained, tmp_path, capsys):
    workdir = str(tmp_path / "w")
    os.makedirs(workdir)
    with open(os.path.join(workdir, "train.lock"), "w") as held:
        held.write("process 4242 on host elsewhere\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert train(trained["data"], workdir, "--only-folds", "0") == 2
    err = capsys.readouterr().err
    assert f"workdir {workdir} is in use by process 4242 on host elsewhere" in err
    assert os.listdir(workdir) == ["train.lock"]  # nothing of the run was written
    # a finished command leaves the lock free
    with open(os.path.join(trained["workdir"], "train.lock")) as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(f, fcntl.LOCK_UN)


def test_a_workdir_that_is_a_file_or_empty_is_named(trained, tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("mine")
    assert train(trained["data"], str(path)) == 2
    assert f"--workdir {path}: is a file, not a directory" in capsys.readouterr().err
    assert path.read_text() == "mine"
    assert train(trained["data"], "") == 2
    assert "--workdir is empty" in capsys.readouterr().err


@pytest.mark.parametrize("flag,value,named", [
    ("--width", "inf", "model.width"), ("--width", "nan", "model.width"),
    ("--width", "0", "width must be positive"), ("--width", "-1", "width must be positive"),
    ("--lr", "nan", "train.learning_rate")])
def test_bad_numbers_are_refused_naming_the_setting(trained, tmp_path, capsys, flag, value,
                                                    named):
    workdir = str(tmp_path / "w")
    assert train(trained["data"], workdir, flag, value) == 2
    err = capsys.readouterr().err
    assert err.startswith("photoz: error: ") and named in err
    assert not os.path.exists(workdir)


def test_a_missing_workdir_is_a_usage_error(trained, capsys):
    from experiments.common import console as experiment_console

    with pytest.raises(SystemExit) as stop:
        console(["train", "--data", trained["data"]])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "usage: photoz train" in err and "--workdir" in err
    with pytest.raises(SystemExit) as stop:
        experiment_console("hsc9", ["--workdir"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "usage: python -m experiments.hsc9" in err


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.99])
def test_a_truncated_shard_is_named(trained, tmp_path, capsys, fraction):
    data = str(tmp_path / "ds")
    shutil.copytree(trained["data"], data)
    shard = shard_of(data)
    os.truncate(shard, int(os.path.getsize(shard) * fraction))
    assert train(data, str(tmp_path / "w"), "--only-folds", "0") == 2
    err = capsys.readouterr().err
    assert f"{shard}: unreadable shard of the data set" in err and "truncated" in err


def test_a_full_disk_during_training_names_the_path(trained, tmp_path, monkeypatch, capsys):
    """The checkpoint's error is reported, not the log's (which fails on the same disk)."""
    import tensorboardX

    from multimodal_photoz.checkpoints import MemberCheckpoints

    save = MemberCheckpoints.save

    def full(self, step, *args, **kwargs):  # the disk fills after the last step was logged
        if step < 2:
            return save(self, step, *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device", f"{self.directory}/{step}")

    def log_full(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(MemberCheckpoints, "save", full)
    monkeypatch.setattr(tensorboardX.SummaryWriter, "close", log_full)
    workdir = str(tmp_path / "w")
    assert train(trained["data"], workdir, "--only-folds", "0") == 2
    err = capsys.readouterr().err
    checkpoints = os.path.join(workdir, "members", "fold0_seed0", "checkpoints")
    assert err.startswith("photoz: error: [Errno 28] No space left on device")
    assert f"{checkpoints}/2" in err and err.count("\n") == 1


def test_a_read_only_workdir_names_the_path(trained, tmp_path, monkeypatch, capsys):
    def read_only(path, payload):
        raise OSError(errno.EROFS, "Read-only file system", path)

    monkeypatch.setattr(files, "write_json", read_only)
    workdir = str(tmp_path / "w")
    assert train(trained["data"], workdir, "--only-folds", "0") == 2
    err = capsys.readouterr().err
    assert "Read-only file system" in err and os.path.join(workdir, "config.json") in err


def test_too_few_training_objects_name_the_fold(tmp_path, capsys):
    one = {k: v[:1] for k, v in arrays().items()}
    data = write(str(tmp_path / "one"), **one)
    fold = int(fold_of(one["ids"], 5)[0])  # the one fold whose members have no object at all
    assert train(data, str(tmp_path / "w"), "--only-folds", str(fold)) == 2
    err = capsys.readouterr().err
    assert f"{data}: fold {fold} (members fold{fold}_seed0) leaves 0 training objects of the " \
           "data set's 1, fewer than one batch of 4" in err and "--batch-size" in err


def test_every_redshift_zero_is_named_not_an_empty_grid(tmp_path, capsys):
    data = write(str(tmp_path / "zero"), z_spec=np.zeros(N, np.float32))
    assert console(["train", "--data", data, "--workdir", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert f"{data}: every z_spec is 0" in err and "--z-max" in err and "n_bins" not in err


def test_an_absurd_redshift_is_refused_before_any_allocation(tmp_path):
    from multimodal_photoz.run_cli import build_run_config

    with pytest.raises(ValueError, match=r"d: the PDF grid \[0, 1\.05e\+06\] would have "
                                         r"262500000 bins.*largest z_spec is 1e\+06, object id 7"):
        build({"data.path": "d"}, data_bands="griz", z_spec_max=1e6, z_spec_max_id=7)
    z = arrays()["z_spec"]
    z[3] = 19.5  # the largest plausible redshift (data sets refuse z > 20)
    data = write(str(tmp_path / "far"), z_spec=z)
    assert build_run_config({}, data).model.n_bins == 5125
    with pytest.raises(ValueError, match=r"far: the PDF grid \[0, 20\.5\] would have 20000 bins, "
                                         r"more than 10000 \(the largest z_spec is 19\.5, object "
                                         r"id 103\)"):
        build_run_config({"model.n_bins": 20000}, data)


def test_labels_beyond_the_grid_are_refused_before_training(trained, tmp_path, capsys):
    workdir = str(tmp_path / "w")
    z = arrays()["z_spec"]
    j = int(np.argmax(z))
    assert train(trained["data"], workdir, "--z-max", "0.5", "--only-folds", "0") == 2
    err = capsys.readouterr().err
    n_outside = int((z > 0.5).sum())
    assert f"({n_outside} objects are): the largest z_spec is {z[j]:g} (object id {100 + j}" in err
    assert "--z-max" in err and not os.path.exists(os.path.join(workdir, "members"))


def test_mag_limit_without_mag_i_is_refused_before_training(trained, tmp_path, capsys):
    workdir = str(tmp_path / "w")
    assert train(trained["data"], workdir, "--mag-limit", "24", "--only-folds", "0") == 2
    err = capsys.readouterr().err
    assert "evaluation.mag_limit = 24" in err and "'mag_i'" in err
    assert not os.path.exists(os.path.join(workdir, "members"))


@pytest.mark.parametrize("content", [b"\xff\xfe\x00binary", b"[1, 2]", b"{not json"])
def test_a_damaged_run_configuration_is_named(tmp_path, content):
    from multimodal_photoz.config import load_run_config

    (tmp_path / "config.json").write_bytes(content)
    with pytest.raises(ValueError, match=r"config\.json: unreadable run configuration"):
        load_run_config(str(tmp_path))
