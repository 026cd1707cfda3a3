"""``python -m experiments.hsc9``: the paper's protocol on the hsc9 preset (see experiments.common)."""

import sys

from experiments.common import main

if __name__ == "__main__":
    main("hsc9", sys.argv[1:])
