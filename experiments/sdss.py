"""``python -m experiments.sdss``: the paper's protocol on the sdss preset (see experiments.common)."""

import sys

from experiments.common import main

if __name__ == "__main__":
    main("sdss", sys.argv[1:])
