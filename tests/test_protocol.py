"""The paper's protocol: HSC-9b selection (objects with every band), the point
estimate of each loss (Table A.1), and PDF grids that cover the labels."""

import numpy as np
import pytest

from multimodal_photoz import losses, report
from multimodal_photoz.config import build
from multimodal_photoz.ensemble import check_labels, label_notes
from multimodal_photoz.predict import catalogue_columns
from multimodal_photoz.predictions import read_predictions, write_predictions


def test_bands_missing_counts_only_the_models_bands():
    catalogue = {"ebv": np.zeros(3, np.float32), "z_spec": np.array([0.1, 0.2, 0.3], np.float32),
                 "band_mask": np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1], [1, 1, 1, 1, 1]], bool)}
    out = catalogue_columns(catalogue, np.array([0, 1, 2]), "ugriz", "gri")
    # model bands g, r, i: row 0 lacks i (its z is not read), row 1 lacks g
    assert out["bands_missing"].tolist() == [1, 1, 0]
    out = catalogue_columns(catalogue, np.array([2, 0]), "ugriz", "ugriz")
    assert out["bands_missing"].tolist() == [0, 2] and out["z_spec"].tolist() == [
        np.float32(0.3), np.float32(0.1)]


def _pred(n=40, seed=0):
    rng = np.random.default_rng(seed)
    edges = np.linspace(0, 2, 21)
    pdf = rng.uniform(0.1, 1, (n, 20)).astype(np.float32)
    pdf /= pdf.sum(1, keepdims=True)
    z_spec = rng.uniform(0.1, 1.8, n).astype(np.float32)
    return dict(ids=np.arange(n), fold=np.arange(n) % 5, pdf=pdf, bin_edges=edges,
                z_regression=z_spec + 0.01, z_spec=z_spec, mag_i=np.full(n, 22.0, np.float32),
                bands_missing=(np.arange(n) % 4 == 0).astype(np.int8))


def test_objects_missing_a_band_are_left_out_and_counted(tmp_path):
    path = write_predictions(tmp_path / "p.h5", **_pred())
    pred = read_predictions(path)
    assert pred["bands_missing"].dtype == np.int8 and pred["bands_missing"].sum() == 10
    mask, sel = report.select(pred, mag_limit=24)
    assert mask.sum() == 30 and sel["n_missing_bands"] == 10 and sel["n_selected"] == 30
    assert "every band of the model" in sel["description"]
    everyone, sel = report.select(pred, all_bands=False)
    assert everyone.sum() == 40 and "n_missing_bands" not in sel
    metrics = report.write_run_report(str(tmp_path / "r"), pred, outlier_threshold=0.15)
    assert metrics["n_objects"] == 30
    text = (tmp_path / "r" / "report.md").read_text()
    assert "left out: 10 objects missing a band the model reads" in text


def test_regression_only_losses_are_scored_on_the_regression_head(tmp_path):
    assert [losses.point_estimate_for(n) for n in ("ce_mae", "ce", "mae", "rmse", "nmae")] == [
        "z_median", "z_median", "z_regression", "z_regression", "z_regression"]
    mae = build({"train.loss": "mae"}, data_bands="griz", z_spec_max=1.0)
    assert mae.evaluation.point_estimate == "z_regression" == mae.scored_estimate()
    chosen = build({"train.loss": "mae", "evaluation.point_estimate": "z_mean"},
                   data_bands="griz", z_spec_max=1.0)
    assert chosen.scored_estimate() == "z_mean"
    pred = read_predictions(write_predictions(tmp_path / "p.h5", **_pred()))
    metrics = report.evaluate(pred, 0.15, point_estimate="z_regression", all_bands=False)
    # z_regression = z_spec + 0.01: dz = 0.01 / (1 + z) for every object, MAD 0
    assert metrics["point_estimate"] == "z_regression" and metrics["outlier_fraction"] == 0
    expected = np.mean(0.01 / (1 + pred["z_spec"].astype(np.float64)))
    assert metrics["bias"] == pytest.approx(expected, rel=1e-3)
    with pytest.raises(ValueError, match="point estimate 'z_best'"):
        report.evaluate(pred, 0.15, point_estimate="z_best")


def test_labels_outside_the_grid_are_an_error_or_a_counted_choice():
    catalogue = {"id": np.array([5, 6, 7]), "z_spec": np.array([0.5, 4.5, 6.2])}
    config = build({"model.z_max": 4.0, "model.n_bins": 40, "data.path": "d"},
                   data_bands="griz", z_spec_max=6.2)
    with pytest.raises(ValueError, match=r"d: object id 6 \(row 1\): field 'z_spec' = 4\.5 is "
                                         r"outside the PDF grid \[0, 4\] \(2 objects are\)"):
        check_labels(catalogue, config)
    clip = build({"model.z_max": 4.0, "model.n_bins": 40, "train.labels_outside_grid": "clip"},
                 data_bands="griz", z_spec_max=6.2)
    labels = check_labels(catalogue, clip)
    assert labels["n_outside"] == 2 and labels["policy"] == "clip"
    assert "2 training labels outside the PDF grid" in label_notes(labels)[0]
    covering = build({}, data_bands="griz", z_spec_max=6.2)  # default grid covers the sample
    assert covering.model.z_max == 6.6 and check_labels(catalogue, covering)["n_outside"] == 0
    assert label_notes(check_labels(catalogue, covering)) == []


def test_the_deep_surveys_grids_cover_their_samples():
    from multimodal_photoz.surveys import SURVEYS

    for name in ("cfhtls", "hsc6", "hsc9"):
        assert SURVEYS[name].z_max >= 5.9, name  # the simulator draws z <= 5.9


def test_training_fraction_is_a_fixed_subset_of_the_other_folds():
    from multimodal_photoz.ensemble import training_objects

    fold = np.arange(100) % 5
    everyone = training_objects(fold, 0, 1.0)
    assert everyone.tolist() == [i for i in range(100) if i % 5]
    part = training_objects(fold, 0, 0.4)
    assert len(part) == 32 and set(part) <= set(everyone)  # 40% of 80
    np.testing.assert_array_equal(part, training_objects(fold, 0, 0.4))  # same every call
    assert not np.array_equal(part, training_objects(fold, 1, 0.4))
    with pytest.raises(ValueError, match=r"train\.fraction must be in \(0, 1\]"):
        build({"train.fraction": 1.5}, data_bands="griz", z_spec_max=1.0)


def test_compare_scores_each_run_on_its_own_point_estimate(tmp_path):
    from multimodal_photoz.run_cli import scored_estimate

    fields = _pred()
    base = read_predictions(write_predictions(tmp_path / "b.h5", **fields,
                                              config={"train": {"loss": "ce_mae"}}))
    regression = read_predictions(write_predictions(tmp_path / "m.h5", **fields,
                                                    config={"train": {"loss": "nmae"}}))
    assert scored_estimate(base) == "z_median" and scored_estimate(regression) == "z_regression"
    result = report.compare(base, regression, 0.15, n_resamples=50,
                            point_estimates=("z_median", "z_regression"))
    assert result["settings"]["point_estimate"] == {"baseline": "z_median",
                                                    "multimodal": "z_regression"}
    ev = report.evaluate(regression, 0.15, point_estimate="z_regression")
    assert result["sigma_mad"]["multimodal"] == pytest.approx(ev["sigma_mad"])


def test_photoz_compare_keeps_the_runs_own_selection(tmp_path):
    import json

    from multimodal_photoz.cli import main as photoz

    counts = {}
    for all_bands in (True, False):
        runs = []
        for name in ("b", "m"):
            run = tmp_path / f"{name}_{all_bands}"
            run.mkdir()
            write_predictions(run / "predictions.h5", **_pred(),
                              config={"evaluation": {"all_bands": all_bands}})
            runs.append(str(run))
        out = tmp_path / f"cmp_{all_bands}"
        assert photoz(["compare", *runs, "--outlier-threshold", "0.15", "--mag-limit", "24",
                       "--resamples", "20", "--out", str(out)]) == 0
        counts[all_bands] = json.loads((out / "comparison.json").read_text())["count"]["baseline"]
    assert counts == {True: 30, False: 40}
