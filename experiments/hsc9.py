"""``python -m experiments.hsc9``: the paper's protocol on the hsc9 preset (see experiments.common)."""

import sys

from experiments.common import console

if __name__ == "__main__":
    sys.exit(console("hsc9", sys.argv[1:]))
