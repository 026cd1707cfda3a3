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


# Errors of the user's data, files or configuration: they already name the file,
# the object and the field, so the command prints them without a traceback.
USER_ERRORS = (ValueError, FileNotFoundError)


def main(argv=None) -> int:
    """Runs a ``photoz`` subcommand; returns the exit status (errors propagate)."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


def console(argv=None) -> int:
    """The ``photoz`` command: user errors become one line on stderr and exit status 2."""
    try:
        return main(argv)
    except USER_ERRORS as err:
        print(f"photoz: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(console())
