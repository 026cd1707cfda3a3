"""The ``photoz`` command line and the one path from a user error to exit status 2.

Each module in ``SUBCOMMAND_MODULES`` has ``register(subparsers)``, which adds
its subcommand(s) and sets ``func`` (args -> exit status) as the parser default.
Modules are imported only when the CLI starts, so that a missing optional part
does not break the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

DESCRIPTION = ("Photometric redshifts from multiband galaxy images: simulate or ingest "
               "cutouts, train k-fold ensembles, predict, evaluate and compare runs.")

SUBCOMMAND_MODULES = [
    "multimodal_photoz.data.ingest.cli",
    "multimodal_photoz.simulate.cli",
    "multimodal_photoz.run_cli",
]

# Errors of the user's data, files, configuration or file system (a full disk, a
# read-only mount: OSError names the path): commands print them without a traceback.
USER_ERRORS = (ValueError, OSError)


def build_parser() -> argparse.ArgumentParser:
    """The ``photoz`` parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(prog="photoz", description=DESCRIPTION)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name and name.startswith(err.name):  # that part is not installed
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv=None) -> int:
    """Runs a ``photoz`` subcommand; returns the exit status (errors propagate)."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


def console_main(fn: Callable[[list[str] | None], int | None], argv=None,
                 prog: str = "photoz") -> int:
    """Joins the job's other JAX processes, if any (``distributed.initialize``), then
    runs ``fn(argv)``; a user error becomes one line on stderr and status 2."""
    from multimodal_photoz import distributed

    try:
        distributed.initialize()
        return int(fn(argv) or 0)
    except USER_ERRORS as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2


def console(argv=None) -> int:
    """The ``photoz`` command (the package's console script)."""
    return console_main(main, argv, "photoz")


if __name__ == "__main__":
    sys.exit(console())
