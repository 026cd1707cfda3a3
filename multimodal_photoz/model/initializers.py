"""Parameter initialization from one random draw.

Flax's ``init`` draws every parameter with its own PRNG call; on CPU, XLA takes
about 0.1 s to compile each such call, i.e. tens of seconds for this network.
Here the parameter tree's structure comes from ``jax.eval_shape(model.init)``
and all the values from ONE truncated-normal draw, scaled per leaf exactly as
Flax's defaults: LeCun normal (variance 1 / fan_in, truncated at 2 sigma) for
kernels, zeros for biases, 0.01 for PReLU slopes. Same key, same parameters.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# Flax's variance_scaling divides by the std of a standard normal truncated to [-2, 2].
_TRUNCATED_STD = 0.87962566103423978
PRELU_SLOPE = 0.01


def _fan_in(shape: tuple[int, ...]) -> int:
    """Input size of a kernel: (…, kh, kw, c_in, c_out) convs or (c_in, c_out) dense;
    leading axes of stacked branches are not part of it."""
    if len(shape) >= 4:
        return int(np.prod(shape[-4:-1]))
    return int(shape[0]) if len(shape) == 2 else int(np.prod(shape[:-1]))


def init_from_shapes(abstract_params, rng: jax.Array):
    """Concrete parameters for an abstract tree (``jax.ShapeDtypeStruct`` leaves)."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(abstract_params)
    kernels = [(i, leaf) for i, (path, leaf) in enumerate(leaves)
               if jax.tree_util.keystr(path[-1:]).strip("[]'") == "kernel"]
    total = sum(int(np.prod(leaf.shape)) for _, leaf in kernels)
    draw = jax.random.truncated_normal(rng, -2.0, 2.0, (max(total, 1),), jnp.float32)
    values, offset = [None] * len(leaves), 0
    for i, leaf in kernels:
        size = int(np.prod(leaf.shape))
        std = np.sqrt(1.0 / _fan_in(leaf.shape)) / _TRUNCATED_STD
        values[i] = (draw[offset:offset + size] * std).reshape(leaf.shape).astype(leaf.dtype)
        offset += size
    for i, (path, leaf) in enumerate(leaves):
        if values[i] is None:
            name = jax.tree_util.keystr(path[-1:]).strip("[]'")
            fill = PRELU_SLOPE if name == "negative_slope" else 0.0
            values[i] = jnp.full(leaf.shape, fill, leaf.dtype)
    return jax.tree_util.tree_unflatten(treedef, values)
