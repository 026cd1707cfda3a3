"""``python -m experiments.cfhtls``: the paper's protocol on the cfhtls preset (see experiments.common)."""

import sys

from experiments.common import main

if __name__ == "__main__":
    main("cfhtls", sys.argv[1:])
