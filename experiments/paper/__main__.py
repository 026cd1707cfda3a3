"""``python -m experiments.paper``: list the paper's tables and figures, or reproduce one.

    python -m experiments.paper --list
    python -m experiments.paper --run fig10 [--scale quick] [--out DIR] [--runs-root DIR]
        [--data SURVEY=PATH ...] [--resamples K] [-- FLAGS FOR EVERY RUN]

Flags after ``--`` go to every run (``-- --only-folds=0 --seeds=1``); those that
change a result are part of the runs' workdir names. ``--run all`` runs every
experiment (shared runs are trained once).
"""

from __future__ import annotations

import argparse
import os
import sys

from experiments.configs.common import SCALES
from experiments.paper import workdirs
from experiments.paper.registry import EXPERIMENTS
from multimodal_photoz.surveys import SURVEYS

COMMAND = "python -m experiments.paper --run {name} --scale quick"


def listing(runs_root: str = workdirs.DEFAULT_RUNS_ROOT, scale: str = "quick") -> str:
    """One line per experiment: name, what it reproduces, its surveys, its runs, the command."""
    width = max(len(e.reproduces) for e in EXPERIMENTS.values())
    surveys = {e.name: ",".join(e.surveys) for e in EXPERIMENTS.values()}
    s_width = max(len(s) for s in surveys.values())
    lines = [f"{'name':<8} {'reproduces':<{width}} {'surveys':<{s_width}} {'runs':>4}  command"]
    distinct = set()
    for e in EXPERIMENTS.values():
        lines.append(f"{e.name:<8} {e.reproduces:<{width}} {surveys[e.name]:<{s_width}} "
                     f"{len(e.runs):>4}  " + COMMAND.format(name=e.name))
        distinct |= {workdirs.workdir_for(r.survey, scale, r.argv, runs_root)
                     for r in e.runs.values()}
    lines.append(f"\n{len(distinct)} distinct runs in all (shared runs train once). "
                 "--scale paper: the paper's setup, for an accelerator; --scale smoke: seconds "
                 "per run, for tests. Outputs: workdirs/paper/<name>/<name>.{md,json,png}.")
    return "\n".join(lines)


def _data(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        survey, sep, path = item.partition("=")
        if not sep or not path:
            raise ValueError(f"--data {item!r}: expected SURVEY=PATH, e.g. hsc9=data/hsc9")
        if survey not in SURVEYS:
            raise ValueError(f"--data {item!r}: unknown survey {survey!r}; known: "
                             f"{', '.join(SURVEYS)}")
        out[survey] = path
    return out


def build_parser() -> argparse.ArgumentParser:
    """The parser of everything before ``--``."""
    p = argparse.ArgumentParser(
        prog="python -m experiments.paper",
        description="List the paper's tables and figures, or reproduce one (every run it "
                    "needs, resumable) into --out: the figure, the table and a JSON of numbers.",
        epilog="Flags after -- go to every run, e.g. -- --only-folds=0 --seeds=1.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--list", action="store_true", help="list every table and figure")
    what.add_argument("--run", metavar="NAME",
                      help=f"one of {', '.join(EXPERIMENTS)}, or all")
    p.add_argument("--scale", default="quick", choices=sorted(SCALES))
    p.add_argument("--out", default=None,
                   help="output folder (default workdirs/paper/<name>; with --run all, "
                        "<out>/<name>)")
    p.add_argument("--runs-root", default=workdirs.DEFAULT_RUNS_ROOT,
                   help="where the runs' workdirs are (default %(default)s)")
    p.add_argument("--data", action="append", default=[], metavar="SURVEY=PATH",
                   help="a survey's data set instead of its simulated sample (repeatable)")
    p.add_argument("--resamples", type=int, default=None,
                   help="paired-bootstrap resamples (default 10^4, Appendix D)")
    return p


def main(argv=None) -> int:
    """``--list`` or ``--run NAME``; returns the exit status (user errors propagate)."""
    from experiments.paper.runner import run_experiment
    from multimodal_photoz.metrics import N_RESAMPLES

    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = build_parser().parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    if args.list:
        print(listing(args.runs_root))
        return 0
    names = list(EXPERIMENTS) if args.run == "all" else [args.run]
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiment {unknown[0]!r}; known: {', '.join(EXPERIMENTS)}")
    for name in names:
        out = args.out and (os.path.join(args.out, name) if args.run == "all" else args.out)
        run_experiment(EXPERIMENTS[name], scale=args.scale, out_dir=out,
                       runs_root=args.runs_root, extra=extra, data=_data(args.data),
                       resamples=args.resamples or N_RESAMPLES)
    return 0


if __name__ == "__main__":
    from multimodal_photoz.cli import console_main

    sys.exit(console_main(main, sys.argv[1:], "experiments.paper"))
