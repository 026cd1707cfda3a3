"""Every table and figure of the paper as one entry: the runs it needs and its writer.

``EXPERIMENTS[name]`` names the runs (label -> ``RunSpec``: a survey and the flags
of ``python -m experiments.<survey>``) and the writer (a key of
``experiments.paper.writers.WRITERS``) with its options. The multimodal network of
Sects. 6-7 is early fusion of 2-band first-order modalities (``MULTIMODAL``); the
baseline stacks every band in one modality (``BASELINE``). Runs written with the
same flags map to one workdir (``experiments.paper.workdirs``), so the hsc9
baseline is trained once for Table 3 and Figs. 2-10.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

BASELINE = ("--fusion=none",)
MULTIMODAL = ("--fusion=early", "--modality-size=2", "--orders=1")
NINE_BANDS = "ugrizyjhk"
TWO_BAND_FIRST_ORDER = ("u_g", "g_r", "r_i", "i_z", "z_y", "y_j", "j_h", "h_k")  # Table C.2


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One k-fold ensemble: ``python -m experiments.<survey> <argv>``."""

    survey: str
    argv: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One table or figure of the paper.

    Attributes:
      name: the ``--run`` name (``fig10``).
      reproduces: what of the paper it reproduces, in one line.
      runs: label (as shown in the output) -> run.
      writer: key of ``writers.WRITERS`` (the kind of output).
      options: the writer's keyword arguments.
    """

    name: str
    reproduces: str
    runs: Mapping[str, RunSpec]
    writer: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def surveys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.survey for r in self.runs.values()))


def hsc9(*argv: str) -> RunSpec:
    """A run on the HSC nine-band sample (Sects. 5, 7 use it for every study)."""
    return RunSpec("hsc9", tuple(argv))


def _two_band(fusion: str = "early", orders: str = "1", *more: str) -> tuple[str, ...]:
    """Flags of 2-band modalities of the given orders fused at ``fusion``."""
    return (f"--fusion={fusion}", "--modality-size=2", f"--orders={orders}", *more)


def _pairs(values: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]
           ) -> tuple[dict[str, RunSpec], tuple[tuple[str, str, str], ...]]:
    """x label -> (baseline argv, multimodal argv) on hsc9: the runs and the
    (x, baseline label, multimodal label) triples of a gain figure."""
    runs, pairs = {}, []
    for x, (base, multi) in values.items():
        runs[f"{x}: baseline"], runs[f"{x}: multimodal"] = hsc9(*base), hsc9(*multi)
        pairs.append((x, f"{x}: baseline", f"{x}: multimodal"))
    return runs, tuple(pairs)


def _bands(bands: str) -> tuple[str, ...]:
    return () if bands == NINE_BANDS else (f"--bands={bands}",)  # nine bands: the shared runs


_FIG6 = _pairs({f"{len(b)} ({b})": (BASELINE + _bands(b), MULTIMODAL + _bands(b))
                for b in ("grizy", "ugrizy", "ugrizyj", "ugrizyjh", NINE_BANDS)})
_BACKBONES = {"inception": (BASELINE, MULTIMODAL),
              **{b: (BASELINE + (f"--backbone={b}",), MULTIMODAL + (f"--backbone={b}",))
                 for b in ("cnn5", "cnn10", "cnn21")}}
_FIG7 = _pairs(_BACKBONES)
_FIG8 = _pairs({f"{round(100 * f)}%": (
    BASELINE + (() if f == 1 else (f"--set=train.fraction={f}",)),
    MULTIMODAL + (() if f == 1 else (f"--set=train.fraction={f}",)))
    for f in (0.4, 0.6, 0.8, 1.0)})

_LOSSES = {"Classification and Regression MAE": "ce_mae", "Classification": "ce",
           "Regression RMSE": "rmse", "Regression MAE": "mae", "Normalized Regression MAE": "nmae"}
# Table 3's blocks: display name -> survey; Table 2 and the SDSS block share their runs
_TABLE3 = {"SDSS": "sdss", "CFHTLS": "cfhtls", "HSC-6b": "hsc6", "HSC-9b": "hsc9"}


def _loss_args(loss: str) -> tuple[str, ...]:
    return BASELINE + (() if loss == "ce_mae" else (f"--loss={loss}",))


def _table3(blocks: Mapping[str, str]) -> tuple[dict[str, RunSpec], dict[str, tuple[str, str]]]:
    """Block name -> survey: the runs, and block name -> (baseline label, multimodal label)."""
    runs = {f"{name}: {side}": RunSpec(survey, argv) for name, survey in blocks.items()
            for side, argv in (("baseline", BASELINE), ("multimodal", MULTIMODAL))}
    return runs, {name: (f"{name}: baseline", f"{name}: multimodal") for name in blocks}


_EXPERIMENTS = (
    Experiment(
        "table2", "Table 2: SDSS MGS, our baseline and multimodal beside the published numbers",
        {"Baseline (ours)": RunSpec("sdss", BASELINE),
         "Multimodal (ours)": RunSpec("sdss", MULTIMODAL)},
        "table", {"blocks": {"SDSS r < 17.8": ("Baseline (ours)", "Multimodal (ours)")},
                  "published": "table2"}),
    Experiment(
        "table3", "Table 3: baseline vs multimodal with paired-bootstrap p-values, per data set",
        _table3(_TABLE3)[0], "table3", {"blocks": _table3(_TABLE3)[1]}),
    Experiment(
        "tableA1", "Table A.1: classification and regression losses, baseline, hsc9 and CFHTLS",
        {f"{block}: {label}": RunSpec(survey, _loss_args(loss))
         for block, survey in (("HSC 9 bands", "hsc9"), ("CFHTLS", "cfhtls"))
         for label, loss in _LOSSES.items()},
        "table", {"blocks": {block: tuple(f"{block}: {label}" for label in _LOSSES)
                             for block in ("HSC 9 bands", "CFHTLS")}}),
    Experiment(
        "fig2", "Fig. 2 (and B.1): fusion stage and type, 2-band orders 1+2, vs baseline, hsc9",
        {"Baseline": hsc9(*BASELINE), "Early fusion": hsc9(*_two_band("early", "1,2")),
         "Middle fusion": hsc9(*_two_band("middle", "1,2")),
         "Late fusion": hsc9(*_two_band("late", "1,2")),
         "Early cross-fusion": hsc9(*_two_band("early", "1,2", "--fusion-type=cross"))},
        "binned"),
    Experiment(
        "fig3", "Fig. 3 (and B.2): modality size 1-5, early fusion, first order, vs baseline",
        {"Baseline": hsc9(*BASELINE),
         **{f"{s} band{'s' if s > 1 else ''}": hsc9("--fusion=early", f"--modality-size={s}",
                                                    "--orders=1") for s in range(1, 6)}},
        "binned"),
    Experiment(
        "fig4", "Fig. 4: modality size 2 and 4 under early, middle and late fusion, first order",
        {"Baseline": hsc9(*BASELINE),
         **{f"{stage.capitalize()} fusion, {s} bands": hsc9(
             f"--fusion={stage}", f"--modality-size={s}", "--orders=1")
            for stage in ("early", "middle", "late") for s in (2, 4)}},
        "binned"),
    Experiment(
        "fig5", "Fig. 5 (and B.3): modality orders of 2-band modalities, early fusion",
        {"Baseline": hsc9(*BASELINE),
         **{f"order {o.replace(',', '+')}": hsc9(*_two_band("early", o))
            for o in ("1", "1,2", "1,2,3", "2,3")}},
        "binned"),
    Experiment(
        "fig6", "Fig. 6: multimodality gain G(M) for 5 to 9 bands, hsc9 nine-band objects",
        _FIG6[0], "gain", {"pairs": _FIG6[1], "x_name": "bands",
                           "metrics": ("sigma_mad", "outlier_fraction"),
                           "common_objects": f"9 ({NINE_BANDS}): baseline"}),
    Experiment(
        "fig7", "Fig. 7: multimodality on four backbones (inception, 5-, 10-, 21-layer CNNs)",
        _FIG7[0], "gain", {"pairs": _FIG7[1], "x_name": "backbone", "metrics": ("sigma_mad",)}),
    Experiment(
        "fig8", "Fig. 8: multimodality for 40, 60, 80 and 100% of the training set, hsc9",
        _FIG8[0], "gain", {"pairs": _FIG8[1], "x_name": "training set",
                           "metrics": ("sigma_mad",)}),
    Experiment(
        "fig9", "Fig. 9: 2-band first order with and without a modality of all bands (Sect. 7.3)",
        {"Baseline": hsc9(*BASELINE), "2 bands, first order": hsc9(*MULTIMODAL),
         "2 bands, first order + all bands": hsc9(*MULTIMODAL, "--include-all")},
        "binned"),
    Experiment(
        "fig10", "Fig. 10: sigma_MAD vs z_spec with one modality dropped at a time (Sect. 7.4)",
        {"Baseline": hsc9(*BASELINE), "Multimodal": hsc9(*MULTIMODAL),
         "Multimodal with dropout": hsc9(
             "--fusion=early", "--modalities=" + ",".join(TWO_BAND_FIRST_ORDER + tuple(NINE_BANDS)),
             "--modality-dropout=5")},
        "dropout", {"dropout_run": "Multimodal with dropout",
                    "references": ("Baseline", "Multimodal"),
                    "drop": TWO_BAND_FIRST_ORDER + tuple(NINE_BANDS)}),
    Experiment(
        "figB4", "Fig. B.4: early, very early and extremely early fusion vs baseline, hsc9",
        {"Baseline": hsc9(*BASELINE), "Early fusion": hsc9(*_two_band("early", "1,2")),
         "Very early fusion": hsc9(*_two_band("very_early", "1,2")),
         "Extremely early fusion": hsc9(*_two_band("extremely_early", "1,2"))},
        "binned"),
    Experiment(
        "figD1", "Fig. D.1: paired-bootstrap distributions of the hsc9 Table 3 comparison",
        _table3({"HSC-9b": "hsc9"})[0], "bootstrap", {"blocks": _table3({"HSC-9b": "hsc9"})[1]}),
)
EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in _EXPERIMENTS}
