"""``python -m experiments.paper``: the registry of the paper's tables and figures,
the shared workdirs of their runs, and Fig. 10 end to end at the smoke scale."""

import dataclasses
import json
import os
import re

import pytest

from experiments import common
from experiments.paper import EXPERIMENTS, run_experiment, workdir_for
from experiments.paper.__main__ import main
from experiments.paper.registry import BASELINE, MULTIMODAL, Experiment
from experiments.paper.workdirs import canonical_settings, preset_settings, stated_settings
from multimodal_photoz.config import build
from multimodal_photoz.surveys import SURVEYS
from experiments.paper.writers import WRITERS

PAPER_ITEMS = {"table2": "Table 2", "table3": "Table 3", "tableA1": "Table A.1",
               **{f"fig{k}": f"Fig. {k}" for k in range(2, 11)}, "figD1": "Fig. D.1"}


def test_list_names_every_table_and_figure(capsys):
    assert main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name, item in PAPER_ITEMS.items():
        line = next((l for l in lines if l.split() and l.split()[0] == name), None)
        assert line is not None, name
        assert re.search(rf"\s{re.escape(item)}[ :]", line), (item, line)
        assert line.rstrip().endswith(f"python -m experiments.paper --run {name} --scale quick")
        assert f" {len(EXPERIMENTS[name].runs)}  python" in line


def _labels_in_options(options) -> set[str]:
    """Every run label a writer's options refer to."""
    out = set()
    for key, value in options.items():
        if key == "blocks":
            out |= {label for labels in value.values() for label in labels}
        elif key == "pairs":
            out |= {label for _, base, multi in value for label in (base, multi)}
        elif key in ("dropout_run", "common_objects"):
            out.add(value)
        elif key == "references":
            out |= set(value)
    return out


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_registry_is_well_formed(name):
    experiment = EXPERIMENTS[name]
    assert experiment.writer in WRITERS and experiment.runs
    for label, spec in experiment.runs.items():
        common.parser(spec.survey).parse_args(["--scale=smoke", *spec.argv])  # SystemExit if bad
        canonical_settings(spec.survey, "smoke", spec.argv)  # every --set key known and typed
        settings = {**preset_settings(spec.survey, "smoke"),
                    **stated_settings(spec.survey, spec.argv)}
        config = build(settings, data_bands=SURVEYS[spec.survey].bands, z_spec_max=1.0)
        assert config.model.is_baseline == ("--fusion=none" in spec.argv), label
    missing = _labels_in_options(experiment.options) - set(experiment.runs)
    assert not missing, f"{name}: options name runs it does not have: {missing}"


def test_shared_runs_map_to_one_workdir():
    def where(experiment, label, scale="quick"):
        spec = EXPERIMENTS[experiment].runs[label]
        return workdir_for(spec.survey, scale, spec.argv)

    baseline = {where("table3", "HSC-9b: baseline"), where("fig2", "Baseline"),
                where("fig9", "Baseline"), where("fig10", "Baseline"),
                where("tableA1", "HSC 9 bands: Classification and Regression MAE"),
                where("fig6", "9 (ugrizyjhk): baseline"), where("fig7", "inception: baseline"),
                where("fig8", "100%: baseline"), where("figD1", "HSC-9b: baseline")}
    assert len(baseline) == 1
    multimodal = {where("table3", "HSC-9b: multimodal"), where("fig3", "2 bands"),
                  where("fig5", "order 1"), where("fig9", "2 bands, first order"),
                  where("fig10", "Multimodal"), where("fig8", "100%: multimodal")}
    assert len(multimodal) == 1 and multimodal != baseline
    assert where("table2", "Baseline (ours)") == where("table3", "SDSS: baseline")
    assert where("fig2", "Early fusion") == where("fig5", "order 1+2") \
        == where("figB4", "Early fusion")
    # spelling, order and flags that change no result do not matter; the scale does
    assert workdir_for("hsc9", "quick", ["--orders", "1", "--fusion", "early"]) == \
        workdir_for("hsc9", "quick", MULTIMODAL + ("--only-folds=0", "--checkpoint-every=7"))
    assert workdir_for("hsc9", "smoke", BASELINE) != workdir_for("hsc9", "quick", BASELINE)
    # distinct runs never share a workdir
    runs = {}
    for experiment in EXPERIMENTS.values():
        for spec in experiment.runs.values():
            settings = canonical_settings(spec.survey, "quick", spec.argv)
            key = (spec.survey, tuple(sorted(settings.items())))
            runs.setdefault(workdir_for(spec.survey, "quick", spec.argv), set()).add(key)
    assert all(len(keys) == 1 for keys in runs.values())


def _read(path):
    """A non-empty output file: JSON parsed, Markdown as text, a PNG's signature checked."""
    assert os.path.getsize(path) > 0, path
    if path.endswith(".png"):
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", path
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f) if path.endswith(".json") else f.read()


EXTRA = ("--only-folds=0", "--set=evaluation.all_bands=false")  # 12 objects: enough to bin


@pytest.fixture(scope="module")
def fig10_smoke(tmp_path_factory):
    """Fig. 10 at the smoke scale, one fold, two modalities dropped (one 2-band, one
    single-band) instead of 17: every step of Fig. 10 at the cost of a test."""
    root = tmp_path_factory.mktemp("paper")
    experiment = dataclasses.replace(EXPERIMENTS["fig10"],
                                     options={**EXPERIMENTS["fig10"].options, "drop": ("g_r", "u")})
    out, runs_root = str(root / "fig10"), str(root / "runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(common.CACHE_ENV, str(root / "cache"))
        result = run_experiment(experiment, scale="smoke", out_dir=out, runs_root=runs_root,
                                extra=EXTRA)
        yield {"experiment": experiment, "out": out, "runs_root": runs_root, "result": result,
               "root": root}


def test_fig10_end_to_end_at_smoke_scale(fig10_smoke, capsys):
    out, result = fig10_smoke["out"], fig10_smoke["result"]
    for suffix in (".png", ".md", ".json"):
        _read(os.path.join(out, "fig10" + suffix))
    stored = _read(os.path.join(out, "fig10.json"))
    assert stored == result and stored["scale"] == "smoke"
    for label, run in stored["runs"].items():
        metrics = _read(os.path.join(run["workdir"], "metrics.json"))
        for key in ("sigma_mad", "outlier_fraction", "bias", "n_objects", "binned"):
            assert run[key] == metrics[key], (label, key)
        assert not os.path.exists(os.path.join(run["workdir"], "dropped"))
    ranking = stored["ranking"]
    assert {r["dropped"] for r in ranking} == {"g_r", "u"} and len(ranking) == 2
    sigmas = [r["sigma_mad"] for r in ranking]
    assert sigmas == sorted(sigmas, reverse=True)
    for r in ranking:
        cached = _read(os.path.join(out, "dropped", r["dropped"], "metrics.json"))
        assert r["sigma_mad"] == cached["sigma_mad"] and cached["dropped_modality"] == r["dropped"]
    page = _read(os.path.join(out, "fig10.md"))
    assert "not the paper's numbers" in page and "g_r dropped" in page
    # a re-run trains nothing and evaluates nothing again
    capsys.readouterr()
    again = run_experiment(fig10_smoke["experiment"], scale="smoke", out_dir=out,
                           runs_root=fig10_smoke["runs_root"], extra=EXTRA)
    assert again["ranking"] == ranking
    printed = capsys.readouterr().out
    assert printed.count(": skipped") == 3 and printed.count(": cached") == 2
    assert ": trained" not in printed and ": evaluated" not in printed


@pytest.mark.parametrize("writer, options, outputs", [
    ("binned", {}, (".png",)),
    ("gain", {"pairs": (("9 bands", "Baseline", "Multimodal"),), "x_name": "bands",
              "metrics": ("sigma_mad", "outlier_fraction"), "common_objects": "Baseline"},
     (".png",)),
    ("table", {"blocks": {"hsc9": ("Baseline", "Multimodal")}, "published": "table2"}, ()),
    ("table3", {"blocks": {"HSC-9b": ("Baseline", "Multimodal")}}, ("hsc_9b/comparison.json",)),
    ("bootstrap", {"blocks": {"HSC-9b": ("Baseline", "Multimodal")}}, (".png",)),
])
def test_every_writer_on_the_shared_runs(fig10_smoke, capsys, monkeypatch, writer, options,
                                         outputs):
    """Fig. 10's baseline and multimodal runs, reused (skipped) by an experiment of each kind."""
    monkeypatch.setenv(common.CACHE_ENV, str(fig10_smoke["root"] / "cache"))
    runs = {label: EXPERIMENTS["fig10"].runs[label] for label in ("Baseline", "Multimodal")}
    experiment = Experiment(f"check_{writer}", f"check: the {writer} writer", runs, writer, options)
    out = str(fig10_smoke["root"] / experiment.name)
    capsys.readouterr()
    result = run_experiment(experiment, scale="smoke", out_dir=out,
                            runs_root=fig10_smoke["runs_root"], extra=EXTRA, resamples=200)
    assert capsys.readouterr().out.count(": skipped") == 2
    assert _read(os.path.join(out, f"{experiment.name}.json")) == result
    page = _read(os.path.join(out, f"{experiment.name}.md"))
    assert "| Baseline |" in page or "| **" in page
    for suffix in outputs:
        _read(os.path.join(out, suffix if "/" in suffix else experiment.name + suffix))
    fig10_runs = fig10_smoke["result"]["runs"]
    for label, run in result["runs"].items():
        assert run["workdir"] == fig10_runs[label]["workdir"]
        assert run["sigma_mad"] == fig10_runs[label]["sigma_mad"]
    if writer == "gain":
        (point,) = result["points"]
        base, multi = point["baseline"]["sigma_mad"], point["multimodal"]["sigma_mad"]
        assert point["gain"]["sigma_mad"] == pytest.approx((abs(base) - abs(multi)) / abs(base))
    if writer == "table":
        assert "P19 (published)" in page and "Table 2" in result["published_source"]
    if writer in ("table3", "bootstrap"):
        block = result["blocks"]["HSC-9b"]  # the objects and numbers of the runs' metrics
        assert block["count"]["baseline"] == fig10_runs["Baseline"]["n_objects"]
        for side, label in (("baseline", "Baseline"), ("multimodal", "Multimodal")):
            assert block["sigma_mad"][side] == pytest.approx(fig10_runs[label]["sigma_mad"])
