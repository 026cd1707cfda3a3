"""The run configuration: defaults in one place, settings, presets, the workdir guard."""

import json
import os

import pytest

from multimodal_photoz.config import (RunConfig, TrainConfig, build, claim_workdir, defaults,
                                      load_run_config)
from multimodal_photoz.config import flags, settings
from multimodal_photoz.model import ModelConfig


def test_defaults_are_the_dataclass_defaults():
    d = defaults()
    assert d["train.n_steps"] == TrainConfig().n_steps == 10_000
    assert d["train.checkpoint_every"] == 500 and d["evaluation.batch_size"] == 128
    assert d["model.width"] == ModelConfig().width and d["model.modality_size"] == 2
    assert d["model.orders"] == (1,) and d["ensemble.seeds"] == (0, 1, 2)
    assert set(d) == set(settings.known_keys())


def test_settings_are_typed_and_unknown_keys_named():
    s = settings.normalize({"train.n_steps": "2000", "model.width": "0.5",
                            "ensemble.only_folds": "0,2", "train.augment": "false",
                            "evaluation.mag_limit": "none", "model.fusion": "late"})
    assert s == {"train.n_steps": 2000, "model.width": 0.5, "ensemble.only_folds": (0, 2),
                 "train.augment": False, "evaluation.mag_limit": None, "model.fusion": "late"}
    with pytest.raises(ValueError, match=r"unknown setting 'train.n_step'.*train\.n_steps"):
        settings.normalize({"train.n_step": 3})
    with pytest.raises(ValueError, match=r"train\.n_steps: expected a number, got 'many'"):
        settings.normalize({"train.n_steps": "many"})
    with pytest.raises(ValueError, match=r"model\.width: expected a finite number"):
        settings.normalize({"model.width": "inf"})
    with pytest.raises(ValueError, match="KEY=VALUE"):
        settings.parse_assignments(["train.n_steps"])


def test_build_resolves_the_papers_vocabulary_and_the_pdf_grid():
    config = build({"model.fusion": "none"}, data_bands="ugriz", z_spec_max=1.2)
    assert config.model.is_baseline and config.model.bands == tuple("ugriz")
    # grid: 1.05 * 1.2 = 1.26 -> 1.3, bins of 0.004 -> 325
    assert (config.model.z_max, config.model.n_bins) == (1.3, 325)
    early = build({"model.bands": "g,r,i", "model.n_bins": 50, "model.z_max": 2.0},
                  data_bands="ugriz", z_spec_max=1.2)
    assert early.model.modality_names() == ("g_r", "r_i") and early.model.n_bins == 50
    explicit = build({"model.modalities": "u_g,i_z"}, data_bands="ugriz", z_spec_max=1.0)
    assert explicit.model.modality_names() == ("u_g", "i_z")
    with pytest.raises(ValueError, match="takes no modalities"):
        build({"model.fusion": "none", "model.modalities": "u_g"}, data_bands="ugriz",
              z_spec_max=1.0)


def test_named_flags_then_set_override_a_preset():
    import argparse

    parser = argparse.ArgumentParser()
    flags.add_flags(parser)
    args = parser.parse_args(["--steps", "10", "--seeds", "2", "--fusion", "none",
                              "--set", "train.n_steps=20", "--set", "train.log_every=5"])
    given = flags.settings_from_args(args)
    assert given == {"train.n_steps": "20", "ensemble.seeds": (0, 1), "model.fusion": "none",
                     "train.log_every": "5"}
    merged = settings.merge({"train.n_steps": 1000, "model.width": 0.125}, given)
    assert merged["train.n_steps"] == 20 and merged["model.width"] == 0.125


def test_config_json_round_trips_and_guards_the_workdir(tmp_path):
    config = build({"train.n_steps": 7, "ensemble.seeds": (0, 3)}, data_bands="griz",
                   z_spec_max=0.9)
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    fingerprint = {"n_objects": 10, "bands": "griz", "stamp": 16, "ids_sha256": "ab"}
    workdir = str(tmp_path / "w")
    claim_workdir(workdir, config, fingerprint)
    assert load_run_config(workdir) == (config, fingerprint)
    # fields that change no result may differ
    same = build({"train.n_steps": 7, "ensemble.seeds": (0, 3), "train.checkpoint_every": 3,
                  "data.path": "elsewhere"}, data_bands="griz", z_spec_max=0.9)
    claim_workdir(workdir, same, fingerprint)
    other = build({"train.n_steps": 8, "ensemble.seeds": (0, 3), "model.width": 0.5},
                  data_bands="griz", z_spec_max=0.9)
    with pytest.raises(ValueError, match=r"model\.width: 1\.0 in the workdir, 0\.5 now.*"
                                         r"train\.n_steps: 7 in the workdir, 8 now"):
        claim_workdir(workdir, other, fingerprint)
    assert not [f for f in os.listdir(workdir) if f.startswith(".")]  # no temporary left


def test_a_damaged_config_json_is_named(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json: unreadable run configuration"):
        load_run_config(str(tmp_path))
