"""The files of one experiment: ``<name>.md`` (the table in the paper's layout, the
figure, notes and the list of runs) and ``<name>.json`` (every number behind them).

Both say what *our* runs gave, at which scale and on which data; the paper's own
numbers appear only where a table shows them beside ours, labelled as published.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Mapping
from typing import Any

from multimodal_photoz import files

# the keys of metrics.json copied for each run into <name>.json
RUN_METRICS = ("sigma_mad", "outlier_fraction", "bias", "n_objects", "point_estimate",
               "outlier_threshold", "selection", "fold_std", "per_fold", "binned")


@dataclasses.dataclass(frozen=True)
class WriterOutput:
    """What a writer made: its numbers (into the JSON), its Markdown table(s), the
    figures it wrote (paths) and notes on how ours differs from the paper's setup."""

    numbers: Mapping[str, Any]
    markdown: str
    figures: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def data_description(config) -> str:
    """``simulated hsc9 sample (3000 objects, 16x16 stamps)`` or ``data set <path>``."""
    d = config.data
    if d.n_objects is not None:
        return f"simulated {d.survey} sample ({d.n_objects} objects, {d.stamp}x{d.stamp} stamps)"
    return f"data set {d.path}"


def run_summary(result) -> dict[str, Any]:
    """One run in the JSON: where it is, how it was made, and its metrics.json numbers."""
    return {"survey": result.spec.survey, "flags": list(result.spec.argv),
            "command": f"python -m experiments.{result.spec.survey} {shlex.join(result.argv)}",
            "workdir": result.workdir, "folds": list(result.folds), "status": result.status,
            "data": data_description(result.config),
            **{k: result.metrics.get(k) for k in RUN_METRICS}}


def _runs_table(ctx) -> list[str]:
    lines = ["| Run | Survey | Objects scored | Flags | Workdir |", "|---|---|---|---|---|"]
    for label, r in ctx.runs.items():
        flags = [a for a in r.argv if not a.startswith("--workdir=")]
        lines.append(f"| {label} | {r.spec.survey} | {r.metrics.get('n_objects')} | "
                     f"`{shlex.join(flags)}` | `{r.workdir}` |")
    return lines


def markdown(ctx, written: WriterOutput) -> str:
    """The experiment's Markdown page."""
    exp = ctx.experiment
    data = "; ".join(dict.fromkeys(data_description(r.config) for r in ctx.runs.values()))
    lines = [f"# {exp.reproduces}", "",
             f"What our runs gave at scale `{ctx.scale}` on {data}. These are not the paper's "
             "numbers; compare them with the paper's own table or figure.", "",
             f"Reproduce: `{ctx.command}`", "",
             written.markdown.rstrip(), ""]
    lines += [f"![{exp.name}]({os.path.relpath(p, ctx.out_dir)})\n" for p in written.figures]
    lines += [f"- {note}" for note in written.notes] + ([""] if written.notes else [])
    return "\n".join(lines + ["## Runs", "", *_runs_table(ctx), ""])


def write_outputs(ctx, written: WriterOutput) -> dict[str, Any]:
    """Writes ``<name>.md`` and ``<name>.json`` into ``ctx.out_dir``; returns the JSON content."""
    exp = ctx.experiment
    payload = {"experiment": exp.name, "reproduces": exp.reproduces, "scale": ctx.scale,
               "command": ctx.command,
               "what": "metrics of our runs (not the paper's numbers)",
               "figures": [os.path.relpath(p, ctx.out_dir) for p in written.figures],
               "notes": list(written.notes),
               "runs": {label: run_summary(r) for label, r in ctx.runs.items()},
               **written.numbers}
    files.write_json(ctx.path(".json"), payload)
    files.write_text(ctx.path(".md"), markdown(ctx, written))
    print(f"[{exp.name}] wrote {ctx.path('.md')}, {ctx.path('.json')}"
          + "".join(f", {p}" for p in written.figures), flush=True)
    return files.to_jsonable(payload)
