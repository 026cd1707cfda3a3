"""``python -m experiments.sdss``: the paper's protocol on the sdss preset (see experiments.common)."""

import sys

from experiments.common import console

if __name__ == "__main__":
    sys.exit(console("sdss", sys.argv[1:]))
