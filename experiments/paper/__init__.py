"""Every table and figure of the paper by name: ``python -m experiments.paper``.

    python -m experiments.paper --list
    python -m experiments.paper --run fig10 --scale quick      # CPU-sized
    python -m experiments.paper --run fig10 --scale paper      # the paper's setup, accelerator

* :mod:`.registry`: ``EXPERIMENTS`` (name -> runs and writer).
* :mod:`.workdirs`: one workdir per distinct run, shared between experiments.
* :mod:`.runner`: train, resume or skip the runs; call the writer.
* :mod:`.writers`: one writer per kind of output (``WRITERS``), with
  :mod:`.figures`, :mod:`.tables`, :mod:`.dropout` (Fig. 10's test) and
  :mod:`.published` (published numbers shown beside ours, labelled).
* :mod:`.outputs`: ``<name>.md`` and ``<name>.json`` in the output folder.
"""

from experiments.paper.registry import EXPERIMENTS, Experiment, RunSpec
from experiments.paper.runner import run_experiment
from experiments.paper.workdirs import workdir_for

__all__ = ["EXPERIMENTS", "Experiment", "RunSpec", "run_experiment", "workdir_for"]
