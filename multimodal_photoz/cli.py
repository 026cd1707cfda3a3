"""The ``photoz`` command line: one subcommand per module in ``SUBCOMMAND_MODULES``.

Each module has ``register(subparsers)``, which adds its subcommand(s) and sets
``func`` (args -> exit status) as the parser default. Modules are imported only
when the CLI starts, so that a missing optional part does not break the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMAND_MODULES = [
    "multimodal_photoz.data.cli",
    "multimodal_photoz.simulate.cli",
    "multimodal_photoz.run_cli",
]


def build_parser() -> argparse.ArgumentParser:
    """The ``photoz`` parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(prog="photoz", description=__doc__.splitlines()[0])
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
    """Entry point of ``photoz``; returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
