"""Shared test settings: CPU, quiet, deterministic, and one XLA compilation cache per
test session.

Many tests train the same tiny networks, in this process, in the other xdist worker
and in ``photoz`` subprocesses; JAX's persistent compilation cache lets each program
compile once per session. The process that starts the session makes a temporary
folder for it, its xdist workers and subprocesses inherit it through the environment,
and it is removed when the session ends, so no session starts warm from an earlier
one. ``JAX_COMPILATION_CACHE_MAX_SIZE`` makes JAX lock the folder (``filelock``)
while several processes read and write it.
"""

import os
import shutil
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("PHOTOZ_NO_PROGRESS", "1")

_OWN_CACHE = None
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:  # the session's first process
    _OWN_CACHE = tempfile.mkdtemp(prefix="multimodal_photoz-tests-xla-")
    os.environ.update({"JAX_COMPILATION_CACHE_DIR": _OWN_CACHE,
                       "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                       "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
                       "JAX_COMPILATION_CACHE_MAX_SIZE": str(4 << 30)})


def pytest_sessionfinish(session):
    if _OWN_CACHE:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)
