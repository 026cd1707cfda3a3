"""Per-computation XLA options: the one place the project tunes XLA's compiler.

On CPU, XLA (jaxlib 0.10) hands dot products, element-wise fusions, reductions
and convolutions to YNNPACK. For this network's convolutions Eigen, XLA's other
CPU path, is faster: the compiled train step of the quick-scale baseline takes
0.74x the time with convolutions and element-wise fusions left to XLA and Eigen,
and early fusion 0.73x (BENCHMARKS.md, "Where the CPU step's time went"). The
options are passed to ``jax.jit(..., compiler_options=...)`` of each step, not
through ``XLA_FLAGS``, so a user's own computations are untouched; a user's
``XLA_FLAGS`` still applies to everything else.
"""

from __future__ import annotations

import jax

CPU_OPTIONS = {
    # YNNPACK takes dot products (and the reductions fused with them); convolutions and
    # element-wise fusions stay with XLA:CPU's Eigen and fusion emitters.
    "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_DOT,LIBRARY_FUSION_TYPE_REDUCE",
}


def compiler_options(backend: str | None = None) -> dict[str, str] | None:
    """The options for a computation on ``backend`` (default: JAX's default
    backend), or None where the project sets none."""
    return dict(CPU_OPTIONS) if (backend or jax.default_backend()) == "cpu" else None
