"""Shared test settings: CPU, quiet, deterministic."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("PHOTOZ_NO_PROGRESS", "1")
