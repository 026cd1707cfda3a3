"""``python -m experiments.hsc6``: the paper's protocol on the hsc6 preset (see experiments.common)."""

import sys

from experiments.common import console

if __name__ == "__main__":
    sys.exit(console("hsc6", sys.argv[1:]))
