"""Several JAX processes: a 2-process job (``photoz launch``, gloo on CPU) trains
and predicts what one process with 2 devices does; ``distributed.agree`` and
``photoz launch`` refuse or stop what they cannot run."""

import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

from multimodal_photoz import distributed, predictions
from multimodal_photoz.cli import console
from test_end_to_end import make_data

FLAGS = ["--width", "0.05", "--n-bins", "30", "--z-max", "1.5", "--batch-size", "8",
         "--steps", "4", "--checkpoint-every", "2", "--eval-batch-size", "8",
         "--seeds", "1", "--folds", "2", "--fusion", "early"]


def photoz_job(argv, processes, tmp_path, timeout=420):
    """Runs ``photoz argv`` as one process of 2 CPU devices, or as ``processes``
    processes of one device each; kills the whole job if it outlives ``timeout``."""
    env = {k: v for k, v in os.environ.items() if k not in (
        distributed.ADDRESS, distributed.COUNT, distributed.INDEX)}
    env.update(JAX_PLATFORMS="cpu", PHOTOZ_NO_PROGRESS="1")
    if processes == 1:
        env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
        command = [sys.executable, "-m", "multimodal_photoz.cli", *argv]
    else:
        command = [sys.executable, "-m", "multimodal_photoz.cli", "launch", "--processes",
                   str(processes), "--", *argv]
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"photoz {' '.join(argv)} with {processes} processes hung:\n{out[-3000:]}")
    assert proc.returncode == 0, out[-3000:]
    return out


def h5_datasets(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in f if isinstance(f[k], h5py.Dataset)}


def test_two_processes_train_and_predict_what_one_process_of_two_devices_does(tmp_path):
    """One test, not two sharing a fixture: under ``pytest -n 2`` a shared module
    fixture may be built on both workers at once."""
    data = make_data(str(tmp_path / "data"), n=32)
    other = make_data(str(tmp_path / "other"), n=20, seed=1, id_offset=1000)
    jobs = {}
    for processes in (1, 2):
        workdir, pred = str(tmp_path / f"run{processes}"), str(tmp_path / f"pred{processes}.h5")
        log = photoz_job(["train", "--data", data, "--workdir", workdir, *FLAGS],
                         processes, tmp_path)
        photoz_job(["predict", "--run", workdir, "--data", other, "--out", pred,
                    "--chunk-size", "8"], processes, tmp_path)
        jobs[processes] = {"workdir": workdir, "predict": pred, "log": log}

    # training: the run's own predictions (the members that never saw each object)
    one, two = (predictions.read_predictions(os.path.join(jobs[p]["workdir"], "predictions.h5"))
                for p in (1, 2))
    assert sorted(one["id"].tolist()) == list(range(32))
    for name in ("id", "fold", "z_spec"):
        np.testing.assert_array_equal(two[name], one[name], err_msg=name)
    for name in ("pdf", "z_regression", "z_median", "z_knn", "z_gbt"):
        np.testing.assert_allclose(two[name], one[name], rtol=0, atol=1e-6, err_msg=name)
    # every process saw both folds finished: none printed a partial coverage
    assert "not trained yet" not in jobs[2]["log"]
    assert jobs[2]["log"].count("member fold1_seed0 (2/2): finished") == 2

    # prediction of new data: 3 chunks shared by the 2 processes, joined by process 0
    one, two = (h5_datasets(jobs[p]["predict"]) for p in (1, 2))
    assert sorted(one) == sorted(two)
    assert sorted(one["id"].tolist()) == list(range(1000, 1020))
    for name in one:
        if one[name].dtype.kind == "f":
            np.testing.assert_allclose(two[name], one[name], rtol=0, atol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(two[name], one[name], err_msg=name)
    assert not os.path.exists(jobs[2]["predict"] + ".parts")


def test_agree_is_the_value_itself_with_one_process_and_takes_bools_and_int32_only():
    assert distributed.agree(True).dtype == bool and distributed.agree(True)
    np.testing.assert_array_equal(distributed.agree([True, False]), [True, False])
    assert distributed.agree(7) == 7
    for value in (1.5, 2**40):  # the broadcast carries int32
        with pytest.raises(TypeError, match="bools or integers within int32"):
            distributed.agree(value)
    distributed.barrier("a barrier of one process returns")


def test_launch_stops_the_others_when_one_process_fails(tmp_path):
    # process 1 exits at once with status 3; process 0 would sleep for ever
    script = ("import os, sys, time\n"
              "sys.exit(3) if os.environ['JAX_PROCESS_ID'] == '1' else time.sleep(3600)\n")
    procs = [subprocess.Popen([sys.executable, "-c", script],
                              env={**os.environ, distributed.INDEX: str(i)}) for i in range(2)]
    assert distributed._wait_all(procs, grace_s=5.0) == 3
    assert all(p.returncode is not None for p in procs)
    assert procs[0].returncode == -signal.SIGTERM


def test_a_process_count_without_the_coordinator_is_refused(monkeypatch):
    monkeypatch.setenv(distributed.COUNT, "2")
    monkeypatch.delenv(distributed.ADDRESS, raising=False)
    monkeypatch.delenv(distributed.INDEX, raising=False)
    with pytest.raises(ValueError, match="JAX_COORDINATOR_ADDRESS and JAX_PROCESS_ID not set"):
        distributed.initialize()


def test_launch_needs_a_command(capsys):
    assert console(["launch", "--processes", "2"]) == 2
    assert "give the photoz command to run" in capsys.readouterr().err
