"""Run metrics, report files and the baseline/multimodal comparison on synthetic runs."""

import json
import os

import numpy as np
import pytest

from multimodal_photoz import report
from multimodal_photoz.logs import RunLogger
from multimodal_photoz.report import evaluation

EDGES = np.linspace(0.0, 2.0, 201)  # 200 bins of width 0.01
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def gaussian_pdfs(z_centre, width):
    centres = 0.5 * (EDGES[1:] + EDGES[:-1])
    pdf = np.exp(-0.5 * ((centres[None, :] - z_centre[:, None]) / width) ** 2)
    return (pdf / pdf.sum(axis=1, keepdims=True)).astype(np.float32)


def make_run(z_spec, z_phot, ids=None, mag_i=None, width=0.03):
    """A predictions dict as read_predictions returns it, PDFs centred on z_phot."""
    n = len(z_spec)
    ids = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids)
    z_phot = np.asarray(z_phot, dtype=np.float64)
    pred = dict(id=ids, fold=(ids % 5).astype(np.int32), pdf=gaussian_pdfs(z_phot, width),
                bin_edges=EDGES, z_spec=np.asarray(z_spec, np.float32),
                z_median=z_phot.astype(np.float32), z_mean=z_phot.astype(np.float32),
                z_mode=z_phot.astype(np.float32), z_regression=z_phot.astype(np.float32),
                attrs={"config": {"survey": "hsc9"}})
    if mag_i is not None:
        pred["mag_i"] = np.asarray(mag_i, np.float32)
    return pred


def synthetic_pair(n=2000, seed=0, scatter=(0.04, 0.03)):
    """Same objects, two models: the second has less scatter (multimodal better)."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.1, 1.5, n)
    noise = rng.standard_normal(n)
    mag_i = rng.uniform(19, 25, n)
    runs = []
    for s, n_out in zip(scatter, (n // 25, n // 40)):  # 4% and 2.5% catastrophic outliers
        z_phot = z + s * (1 + z) * noise
        z_phot[:n_out] = z[:n_out] + 0.3 * (1 + z[:n_out])
        runs.append(make_run(z, np.clip(z_phot, 0.0, 1.99), mag_i=mag_i))
    return runs


def test_perfect_predictions_have_zero_scatter():
    z = np.linspace(0.1, 1.5, 80)
    ev = report.evaluate(make_run(z, z.astype(np.float32), width=0.005), outlier_threshold=0.15)
    assert ev["sigma_mad"] == 0 and ev["outlier_fraction"] == 0 and abs(ev["bias"]) < 1e-7
    assert ev["n_objects"] == 80 and ev["selection"]["description"] == "all objects with z_spec"
    assert ev["crps"] < 0.005 and ev["pit"]["extreme_fraction"] == 0


def test_metrics_by_hand():
    dz = np.array([0.01, -0.01, 0.02, -0.02, 0.0, 0.0, 0.0, 0.0, 0.4, 0.0])
    z_spec = np.ones(10)
    pred = make_run(z_spec, z_spec + 2 * dz)  # 1 + z_spec = 2
    ev = report.evaluate(pred, outlier_threshold=0.15)
    # |dz - median| sorted: 0 x5, .01, .01, .02, .02, .4 -> median 0.005
    assert ev["sigma_mad"] == pytest.approx(1.4826 * 0.005, rel=1e-5)
    assert ev["outlier_fraction"] == pytest.approx(0.1)
    assert ev["bias"] == pytest.approx(0.04, rel=1e-5)
    # fold = id % 5: fold 3 holds dz[3] = -0.02 and dz[8] = 0.4
    assert ev["per_fold"]["3"]["n_objects"] == 2
    assert ev["per_fold"]["3"]["bias"] == pytest.approx(0.19, rel=1e-5)
    assert ev["per_fold"]["3"]["outlier_fraction"] == pytest.approx(0.5)


def test_magnitude_selection():
    dz = np.array([0.0, 0.0, 0.0, 0.5])
    pred = make_run(np.ones(4), 1 + 2 * dz, mag_i=[20.0, 23.9, 24.0, 24.5])
    everything = report.evaluate(pred, 0.15)
    bright = report.evaluate(pred, 0.15, mag_limit=24)
    assert everything["outlier_fraction"] == pytest.approx(0.25)
    assert bright["outlier_fraction"] == 0 and bright["n_objects"] == 3
    assert bright["selection"] == {"n_total": 4, "n_without_z_spec": 0, "mag_i_max": 24.0,
                                   "n_fainter_or_unknown_mag": 1, "n_selected": 3,
                                   "description": "i <= 24 objects with z_spec"}
    explicit = report.evaluate(pred, 0.15, mag_i=[20.0, 23.9, 24.5, 24.5], mag_limit=24)
    assert explicit["n_objects"] == 2
    with pytest.raises(ValueError, match="mag_limit=24 needs i magnitudes"):
        report.evaluate({k: v for k, v in pred.items() if k != "mag_i"}, 0.15, mag_limit=24)


def test_binned_metrics_use_8_equal_count_bins():
    base, _ = synthetic_pair(n=800)
    ev = report.evaluate(base, 0.15)
    for x in ("mag_i", "z_spec"):
        b = ev["binned"][x]
        assert list(b["counts"]) == [100] * 8 and len(b["edges"]) == 9
        assert len(b["sigma_mad"]) == 8 and len(b["sigma_mad_std"]) == 8
        assert np.all(np.asarray(b["sigma_mad_std"]) >= 0)
        assert sum(b["distribution"]["counts"]) == 800
    assert sum(ev["pit"]["counts"]) == 800
    nz = ev["n_of_z"]
    widths = np.diff(nz["edges"])
    assert np.sum(nz["true"] * widths) == pytest.approx(1) and np.sum(nz["estimated"] * widths) == pytest.approx(1)


def assert_png(path):
    assert os.path.getsize(path) > 1000
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC


def test_write_report_files(tmp_path):
    base, _ = synthetic_pair(n=600)
    with RunLogger(tmp_path, "run", tensorboard=False) as log:
        for step in range(0, 100, 10):
            for member in (0, 1):
                log.scalars(step, {"loss": 1.0 / (step + 1), "lr": 1e-4}, member=member)
    ev = report.evaluate(base, 0.15, mag_limit=24)
    paths = report.write_report(tmp_path, base, ev, title="HSC 9 bands")
    for name in ("zphot_zspec", "binned", "pit", "n_of_z", "training_curves"):
        assert_png(paths[name])
    saved = json.loads(open(tmp_path / "metrics.json").read())
    assert {"sigma_mad", "outlier_fraction", "bias", "n_objects", "per_fold", "binned", "pit", "crps",
            "selection"} <= set(saved)
    assert set(saved["binned"]) == {"mag_i", "z_spec"} and saved["selection"]["mag_i_max"] == 24
    text = open(tmp_path / "report.md").read()
    assert "# HSC 9 bands" in text and "](figures/zphot_zspec.png)" in text
    assert '"survey": "hsc9"' in text and str(tmp_path) not in text  # config shown, no absolute paths


def test_compare_refuses_different_objects():
    base, multi = synthetic_pair(n=100)
    multi = dict(multi, id=multi["id"] + 1)
    with pytest.raises(ValueError, match=r"cover different object ids: 1 only in baseline \(e.g. \[0\]\)"):
        report.compare(base, multi, 0.15, n_resamples=10)
    _, multi = synthetic_pair(n=100)
    multi["z_spec"] = multi["z_spec"] + 0.1
    with pytest.raises(ValueError, match="z_spec differs between the runs for id 0"):
        report.compare(base, multi, 0.15, n_resamples=10)


def test_compare_aligns_by_id_and_gain_sign():
    base, multi = synthetic_pair()
    comparison = report.compare(base, multi, 0.15, n_resamples=300, seed=1)
    assert set(comparison) == {"sigma_mad", "outlier_fraction", "bias", "count", "settings",
                               "catalogue_baseline"}
    assert comparison["catalogue_baseline"] == {}  # the synthetic runs have no such columns
    for name in ("sigma_mad", "outlier_fraction", "bias"):
        assert set(comparison[name]) >= {"baseline", "multimodal", "gain", "p_value", "tested", "delta"}
    assert comparison["settings"]["alternative"] == "observed"
    sigma = comparison["sigma_mad"]
    assert sigma["multimodal"] < sigma["baseline"]
    assert sigma["gain"] == pytest.approx((sigma["baseline"] - sigma["multimodal"]) / sigma["baseline"])
    assert sigma["gain"] > 0.15 and sigma["p_value"] < 0.01  # 25% less scatter on 2000 objects
    assert sigma["tested"] == "multimodal_better"
    assert comparison["count"]["baseline"] == 2000
    # the same objects in another row order give the same comparison
    order = np.random.default_rng(0).permutation(2000)
    shuffled = {k: (v[order] if k in report.PER_OBJECT else v) for k, v in multi.items()}
    again = report.compare(base, shuffled, 0.15, n_resamples=300, seed=1)
    assert json.dumps(report.to_jsonable(again)) == json.dumps(report.to_jsonable(comparison))
    assert comparison["outlier_fraction"]["gain"] == pytest.approx(1 - 50 / 80)
    # the baseline better: the default tests that direction, eq. D.3's fixed one gives p ~ 1
    swapped = report.compare(multi, base, 0.15, n_resamples=300, seed=1)["sigma_mad"]
    assert swapped["gain"] < 0 and swapped["p_value"] < 0.01 and swapped["tested"] == "baseline_better"
    fixed = report.compare(multi, base, 0.15, n_resamples=300, seed=1, alternative="multimodal_better")
    assert fixed["sigma_mad"]["p_value"] > 0.99 and fixed["sigma_mad"]["tested"] == "multimodal_better"
    assert fixed["settings"]["alternative"] == "multimodal_better"
    two_sided = report.compare(multi, base, 0.15, n_resamples=300, seed=1, alternative="two-sided")
    assert two_sided["sigma_mad"]["p_value"] == min(1.0, 2 * swapped["p_value"])
    assert two_sided["sigma_mad"]["tested"] == "two-sided"


def test_format_table3_uses_paper_units():
    sdss = {  # Table 3, SDSS block
        "sigma_mad": {"baseline": 7.99e-3, "multimodal": 7.85e-3, "gain": 0.0174, "p_value": 0.0},
        "outlier_fraction": {"baseline": 0.0018, "multimodal": 0.0016, "gain": 0.1088, "p_value": 0.0},
        "bias": {"baseline": 0.34e-3, "multimodal": 0.31e-3, "gain": 0.0628, "p_value": 0.15},
        "count": {"baseline": 516_500, "multimodal": 516_500, "gain": None, "p_value": None},
    }
    lines = report.format_table3({"SDSS": sdss}).splitlines()
    assert lines[2].startswith("| **SDSS** |")
    assert lines[3] == "| Baseline | 07.99 | 0.18 | 0.34 | 516.5 |"
    assert lines[4] == "| Multimodal | **07.85** | **0.16** | **0.31** | 516.5 |"
    assert lines[5] == "| G(M) | 1.74% | 10.88% | 6.28% | – |"
    assert lines[6] == "| p_value | **0.0** | **0.0** | 0.15 | – |"
    assert len(lines) == 7  # results that do not say which test: no note


def test_format_table3_says_what_each_p_value_tests():
    def block(p_bias, tested_bias, alternative="observed", tested_other="multimodal_better"):
        entry = {"baseline": 1e-3, "multimodal": 0.9e-3, "gain": 0.1, "p_value": 0.0, "tested": tested_other}
        return {"sigma_mad": entry, "outlier_fraction": entry,
                "bias": {"baseline": 0.22e-3, "multimodal": 0.29e-3, "gain": -0.2405,
                         "p_value": p_bias, "tested": tested_bias},
                "count": {"baseline": 108_500, "multimodal": 108_500, "gain": None, "p_value": None},
                "settings": {"alternative": alternative}}

    lines = report.format_table3({"CFHTLS": block(0.15, "baseline_better"),
                                  "HSC-6b": block(0.04, "baseline_better")}).splitlines()
    assert lines[6] == "| p_value | **0.0** | **0.0** | 0.15† | – |"  # Table 3's CFHTLS bias
    assert lines[11] == "| p_value | **0.0** | **0.0** | **0.04**† | – |"  # still bold below 0.05
    assert lines[12:] == ["", "p-values: one-sided in the observed direction; H1: multimodal better, "
                              "† H1: baseline better; bold: p < 0.05."]
    tie = report.format_table3(block(1.0, "none")).splitlines()
    assert tie[5] == "| p_value | **0.0** | **0.0** | 1.0‡ | – |"
    assert tie[-1].endswith("H1: multimodal better, ‡ equal on the test set, p = 1; bold: p < 0.05.")
    two = report.format_table3(block(0.3, "two-sided", "two-sided", "two-sided")).splitlines()
    assert two[5] == "| p_value | **0.0** | **0.0** | 0.3 | – |"
    assert two[-1] == ("p-values: two-sided (2 × the one-sided p in the observed direction, at most 1); "
                       "bold: p < 0.05.")
    fixed = report.format_table3(block(0.85, "multimodal_better", "multimodal_better")).splitlines()
    assert fixed[-1] == "p-values: one-sided; H1: multimodal better; bold: p < 0.05."


def test_describe_test_for_fig_d1():
    from multimodal_photoz.report.table3 import describe_test
    assert describe_test("observed", "baseline_better") == \
        "one-sided, H1: baseline better (observed direction)"
    assert describe_test("multimodal_better", "multimodal_better") == "one-sided, H1: multimodal better"
    assert describe_test("two-sided", "two-sided") == "two-sided"
    assert describe_test("observed", "none") == "equal on the test set, p = 1"


def test_compare_cli_alternative_flag():
    from multimodal_photoz.cli import build_parser
    parser = build_parser()
    assert parser.parse_args(["compare", "a", "b"]).alternative == "observed"
    assert parser.parse_args(["compare", "a", "b", "--alternative", "two-sided"]).alternative == "two-sided"
    with pytest.raises(SystemExit):
        parser.parse_args(["compare", "a", "b", "--alternative", "greater"])


def test_write_comparison_files(tmp_path):
    base, multi = synthetic_pair(n=500)
    comparison = report.write_comparison(tmp_path, base, multi, 0.15, n_resamples=200, mag_limit=24)
    saved = json.loads(open(tmp_path / "comparison.json").read())
    assert saved["sigma_mad"]["p_value"] == comparison["sigma_mad"]["p_value"]
    assert saved["sigma_mad"]["tested"] == "multimodal_better"
    assert saved["settings"]["alternative"] == "observed"
    assert saved["settings"]["selection"]["mag_i_max"] == 24 and saved["settings"]["n_resamples"] == 200
    text = open(tmp_path / "comparison.md").read()
    assert "| Multimodal |" in text and "p-values one-sided in the observed direction." in text
    assert "\np-values: one-sided in the observed direction; H1: multimodal better" in text
    assert_png(tmp_path / "figures" / "bootstrap.png")
    assert_png(tmp_path / "figures" / "binned_overlay.png")


def count_calls(monkeypatch, module, name):
    """Wrap module.name so that calls are counted; returns the list of calls."""
    calls, original = [], getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_write_comparison_draws_the_overlay_without_evaluating(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("write_comparison must not evaluate the runs again")

    for name in ("evaluate", "evaluate_with_mask"):
        monkeypatch.setattr(evaluation, name, refuse)
    monkeypatch.setattr(report, "evaluate", refuse)
    selects = count_calls(monkeypatch, evaluation, "select")
    base, multi = synthetic_pair(n=500)
    report.write_comparison(tmp_path, base, multi, 0.15, n_resamples=50, mag_limit=24)
    assert len(selects) == 1
    assert_png(tmp_path / "figures" / "bootstrap.png")
    assert_png(tmp_path / "figures" / "binned_overlay.png")


def test_binned_summary_matches_evaluate():
    base, _ = synthetic_pair(n=600)
    ev, mask = report.evaluate_with_mask(base, 0.15, mag_limit=24)
    summary = report.binned_summary(base, mask, 0.15)
    assert set(summary) == {"sigma_mad", "outlier_fraction", "bias", "binned"}
    expected = {k: ev[k] for k in summary}
    assert json.dumps(report.to_jsonable(summary), sort_keys=True) == json.dumps(
        report.to_jsonable(expected), sort_keys=True)


def test_evaluate_with_mask_returns_the_selection():
    pred = make_run(np.ones(4), np.ones(4), mag_i=[20.0, 23.9, 24.0, 24.5])
    pred["z_spec"][1] = np.nan
    ev, mask = report.evaluate_with_mask(pred, 0.15, mag_limit=24)
    assert mask.tolist() == [True, False, True, False]
    assert json.dumps(report.to_jsonable(ev)) == json.dumps(
        report.to_jsonable(report.evaluate(pred, 0.15, mag_limit=24)))


def test_run_report_selects_once(tmp_path, monkeypatch):
    base, _ = synthetic_pair(n=600)
    selects = count_calls(monkeypatch, evaluation, "select")
    ev = report.write_run_report(tmp_path / "one", base, outlier_threshold=0.15, mag_limit=24, title="t")
    assert len(selects) == 1
    assert json.loads(open(tmp_path / "one" / "metrics.json").read()) == report.to_jsonable(ev)
    assert ev["n_objects"] == ev["selection"]["n_selected"] < 600
    assert_png(tmp_path / "one" / "figures" / "zphot_zspec.png")
    # the older pair evaluate + write_report: the report reuses the evaluation's selection
    selects.clear()
    report.write_report(tmp_path / "two", base, report.evaluate(base, 0.15, mag_limit=24), title="t")
    assert len(selects) == 1
    assert open(tmp_path / "two" / "report.md").read() == open(tmp_path / "one" / "report.md").read()


def test_write_report_refuses_metrics_of_other_predictions(tmp_path):
    base, _ = synthetic_pair(n=600)
    ev = report.evaluate(base, 0.15, mag_limit=24)
    with pytest.raises(ValueError, match="not the same run"):
        report.write_report(tmp_path, base, ev, mag_i=np.full(600, 20.0))


def hidden_files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


@pytest.mark.parametrize("kind", ["report", "comparison"])
def test_markdown_written_atomically(tmp_path, monkeypatch, kind):
    base, multi = synthetic_pair(n=300)

    def write():
        if kind == "report":
            report.write_run_report(tmp_path, base, outlier_threshold=0.15)
        else:
            report.write_comparison(tmp_path, base, multi, 0.15, n_resamples=20)

    write()
    md = tmp_path / f"{kind}.md"
    assert md.read_text().startswith("# ") and hidden_files(tmp_path) == []
    md.write_text("previous report")
    real_replace = os.replace

    def replace_fails_for_markdown(src, dst):
        if str(dst).endswith(".md"):
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_fails_for_markdown)
    with pytest.raises(OSError, match="disk full"):
        write()
    # a failed write leaves the previous file whole and no temporary file beside it
    assert md.read_text() == "previous report" and hidden_files(tmp_path) == []


def test_catalogue_baseline_beside_the_networks_in_metrics_report_and_table3(tmp_path):
    base, multi = synthetic_pair()
    rng = np.random.default_rng(5)
    z = np.asarray(base["z_spec"], np.float64)
    # a catalogue method with a known error: dz/(1+z) = +-0.02 alternately, one outlier in ten
    knn = z + np.where(np.arange(len(z)) % 2, 0.02, -0.02) * (1 + z)
    knn[::10] = z[::10] + 0.5 * (1 + z[::10])
    base = dict(base, z_knn=knn.astype(np.float32))
    base["z_gbt"] = (z + rng.normal(0, 0.001, len(z))).astype(np.float32)
    ev = report.evaluate(base, 0.15)
    knn_metrics = ev["catalogue_baseline"]["z_knn"]
    dz = (knn - z) / (1 + z)
    assert knn_metrics["outlier_fraction"] == pytest.approx(np.mean(np.abs(dz) >= 0.15))
    assert knn_metrics["bias"] == pytest.approx(np.mean(dz), rel=1e-5)
    gain = knn_metrics["images_gain"]["sigma_mad"]
    assert gain == pytest.approx((knn_metrics["sigma_mad"] - ev["sigma_mad"])
                                 / knn_metrics["sigma_mad"])
    metrics_ = report.write_run_report(str(tmp_path / "run"), base, outlier_threshold=0.15)
    text = (tmp_path / "run" / "report.md").read_text()
    assert "What the images add" in text and "catalogue boosted trees" in text
    assert "catalogue kNN" in text and metrics_["catalogue_baseline"]["z_gbt"]["sigma_mad"] < 0.01
    comparison = report.compare(base, multi, 0.15, n_resamples=50)
    assert comparison["catalogue_baseline"]["z_knn"]["outlier_fraction"] == pytest.approx(
        knn_metrics["outlier_fraction"])
    table = report.format_table3(comparison)
    assert "| catalogue kNN (no images) |" in table


def test_convergence_flags_members_still_learning():
    from multimodal_photoz.report import convergence

    steps = np.arange(100, 1001, 100.0)
    flat = 1.0 + np.exp(-steps / 100.0)                  # levelled off long before the end
    falling = 3.0 - 2.0 * steps / 1000.0                # 1.4 at step 800, 1.0 at the end
    records = ([{"step": s, "member": 0, "metrics": {"val_loss": v}} for s, v in zip(steps, flat)]
               + [{"step": s, "member": 1, "metrics": {"val_loss": v}} for s, v in zip(steps, falling)])
    result = convergence.check(records)
    assert result["0"]["still_falling"] is False and result["0"]["fall"] < 1e-3
    assert result["1"]["fall"] == pytest.approx((1.4 - 1.0) / 1.0)
    assert result["1"]["still_falling"] is True
    (line,) = convergence.notes(result)
    assert "1 of 2 members" in line and "40.0%" in line and "members 1" in line
    assert convergence.notes(convergence.check(records[:10])) == []
