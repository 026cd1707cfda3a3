"""Process-wide allocator tuning for reading large records.

Each 64x64x9 record (about 150 kB) passes through several buffers. glibc
serves blocks over its mmap threshold (128 kB by default) with fresh mmap'd
pages and trims freed heap memory back to the kernel, so every record read
pays page faults and page zeroing: measured at more than half of the reading
time. Raising both thresholds lets freed buffers be reused instead, which
made ArrayRecord reads about 2-3x faster. Memory stays bounded by the peak in
use (a few batches).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Keep blocks up to this size on the heap and this much free memory before trimming.
MMAP_THRESHOLD_BYTES = 256 * 2**20
TRIM_THRESHOLD_BYTES = 1024 * 2**20

_done = False


def reuse_freed_memory() -> bool:
    """Raises glibc's mmap and trim thresholds once per process (no-op elsewhere).

    Left alone when the user set ``MALLOC_MMAP_THRESHOLD_`` or
    ``MALLOC_TRIM_THRESHOLD_``. Returns True if the thresholds were set.
    """
    global _done
    if _done:
        return True
    _done = True
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
