"""``python -m experiments.<survey>``: presets, the cached simulated sample, a smoke run."""

import os

import pytest

from experiments import common
from experiments.configs import common as configs
from experiments.configs import hsc9, sdss
from multimodal_photoz.surveys import SURVEYS


def test_presets_follow_the_paper():
    assert SURVEYS["sdss"].n_bins == 180 and SURVEYS["sdss"].z_max == 0.4
    assert SURVEYS["sdss"].outlier_threshold == 0.05 and SURVEYS["sdss"].paper_seeds == 5
    assert all(SURVEYS[s].outlier_threshold == 0.15 for s in ("cfhtls", "hsc6", "hsc9"))
    assert SURVEYS["hsc9"].bands == "ugrizyjhk" and SURVEYS["hsc9"].mag_limit == 24.0
    paper = configs.SCALES["paper"]
    assert (paper["data.stamp"], paper["model.width"], paper["train.batch_size"]) == (64, 1.0, 32)


def test_get_config_states_only_what_differs():
    quick = hsc9.get_config("scale=quick,fusion=early")
    assert quick["model.fusion"] == "early" and quick["model.n_bins"] == 300
    assert quick["evaluation.mag_limit"] == 24.0 and quick["ensemble.seeds"] == (0,)
    paper = sdss.get_config("scale=paper")
    assert paper["model.n_bins"] == 180 and paper["ensemble.seeds"] == (0, 1, 2, 3, 4)
    assert "model.fusion" not in paper
    with pytest.raises(ValueError, match="unknown scale"):
        hsc9.get_config("scale=huge")
    with pytest.raises(ValueError, match="expected scale"):
        hsc9.get_config("width=2")


def test_paper_scale_resolves_to_the_paper_setup(tmp_path, monkeypatch):
    monkeypatch.setenv(common.CACHE_ENV, str(tmp_path / "cache"))
    smoke_data = common.simulated_dataset("sdss", 12, 16)
    config, workdir = common.resolve("sdss", ["--scale=paper", f"--data={smoke_data}",
                                              "--fusion=early"])
    assert config.train.batch_size == 32 and config.train.n_steps == 120_000
    assert config.ensemble.seeds == (0, 1, 2, 3, 4) and config.ensemble.n_folds == 5
    assert config.model.width == 1.0 and config.model.n_bins == 180
    assert [m for m in config.model.modality_names()] == ["u_g", "g_r", "r_i", "i_z"]
    assert config.evaluation.outlier_threshold == 0.05
    assert workdir.endswith("sdss_paper_early_concat")
    # the generic syntax wins over the named flags and the preset
    config, _ = common.resolve("sdss", ["--scale=paper", f"--data={smoke_data}", "--steps=10",
                                        "--set", "train.n_steps=2000",
                                        "--set", "train.lr_decay_at=0.75"])
    assert config.train.n_steps == 2000 and config.train.lr_decay_at == 0.75
    with pytest.raises(SystemExit):
        common.resolve("hsc9", ["--fusion=latest"])


def test_smoke_run_simulates_once_and_trains(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(common.CACHE_ENV, str(tmp_path / "cache"))
    workdir = str(tmp_path / "run")
    metrics = common.main("hsc6", ["--scale=smoke", "--fusion=early", f"--workdir={workdir}",
                                   "--modality-dropout=1"])
    assert {"sigma_mad", "outlier_fraction", "bias"} <= set(metrics)
    assert os.path.exists(os.path.join(workdir, "predictions.h5"))
    cached = os.listdir(os.path.join(str(tmp_path / "cache"), "simulated"))
    from multimodal_photoz.simulate.simulate import SIMULATOR_VERSION

    assert cached == [f"hsc6_sim{SIMULATOR_VERSION}_n60_stamp16_seed0"]
    capsys.readouterr()
    common.main("hsc6", ["--scale=smoke", "--fusion=early", f"--workdir={workdir}",
                         "--modality-dropout=1"])
    out = capsys.readouterr().out
    assert "simulate:" not in out and out.count(": skipped") == 5


def test_the_simulator_observes_the_surveys_of_the_one_table():
    from multimodal_photoz.simulate import SURVEYS as OBSERVED

    assert set(OBSERVED) == set(SURVEYS)
    for name, survey in SURVEYS.items():
        assert "".join(b.band for b in OBSERVED[name].bands) == survey.bands, name
