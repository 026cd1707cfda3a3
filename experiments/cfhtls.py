"""``python -m experiments.cfhtls``: the paper's protocol on the cfhtls preset (see experiments.common)."""

import sys

from experiments.common import console

if __name__ == "__main__":
    sys.exit(console("cfhtls", sys.argv[1:]))
