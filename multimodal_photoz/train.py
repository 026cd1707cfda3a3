"""The train step: one ``jax.jit``-compiled function over a data-parallel mesh.

Batches are global arrays sharded over the mesh's ``data`` axis (see
``make_mesh``); parameters and optimizer state are replicated. Inside the step:
rot90/flip augmentation, compression and standardization, forward pass, loss,
gradient, Adam update. No ``pmap``.

A batch is a dict: ``image`` (B, H, W, C) float32 raw fluxes, ``ebv`` (B,),
``z_spec`` (B,), optional ``band_mask`` (B, C) (1 = band present) and optional
``weight`` (B,) (0 for padding rows).
"""

from __future__ import annotations

import functools
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import NamedSharding, PartitionSpec as P

from multimodal_photoz import losses, preprocess
from multimodal_photoz.xla_options import compiler_options
from multimodal_photoz.config.run import TrainConfig
from multimodal_photoz.model import ModelConfig, PhotoZNet, init_params


@flax.struct.dataclass
class TrainState:
    """Everything a member needs to resume: a pytree of arrays.

    ``norm`` holds the per-band statistics of the training objects, so they
    travel with the parameters.
    """

    step: jax.Array
    params: Any
    opt_state: Any
    norm: dict[str, jax.Array]


def make_mesh(devices=None) -> jax.sharding.Mesh:
    """A 1-D mesh with axis ``data`` over ``devices`` (default: every device of
    every process, ordered by process, so each host feeds its own rows)."""
    devices = np.asarray(jax.devices() if devices is None else devices)
    return jax.sharding.Mesh(devices, ("data",))


def batch_sharding(mesh) -> NamedSharding:
    return NamedSharding(mesh, P("data"))


def replicated(mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def make_optimizer(train_config: TrainConfig) -> optax.GradientTransformation:
    return optax.adam(train_config.schedule())


def create_train_state(rng: jax.Array, model_config: ModelConfig, train_config: TrainConfig,
                       stats: preprocess.BandStats, stamp: int, mesh=None) -> TrainState:
    """Initial state, replicated over the mesh."""
    params = init_params(model_config, rng, stamp)
    state = TrainState(
        step=jnp.zeros((), jnp.int32), params=params,
        opt_state=make_optimizer(train_config).init(params),
        norm={"mean": jnp.asarray(stats.mean, jnp.float32),
              "std": jnp.asarray(stats.std, jnp.float32)})
    return jax.device_put(state, replicated(mesh or make_mesh()))


def _inputs(batch: dict, norm: dict) -> jax.Array:
    return preprocess.standardize(batch["image"], norm, batch.get("band_mask"))


def _weight(batch: dict) -> jax.Array:
    w = batch.get("weight")
    return jnp.ones_like(batch["z_spec"]) if w is None else w


def make_train_step(model_config: ModelConfig, train_config: TrainConfig, mesh=None):
    """Returns ``step(state, batch, rng) -> (state, metrics)``, jit-compiled.

    ``rng`` is the member's key; the step folds in ``state.step`` so every step
    draws fresh augmentations and dropouts, and the same key replays a run.
    The state argument is donated.
    """
    mesh = mesh or make_mesh()
    model = PhotoZNet(model_config)
    tx = make_optimizer(train_config)
    bin_edges = jnp.asarray(model_config.bin_edges(), jnp.float32)

    def step(state: TrainState, batch: dict, rng: jax.Array):
        rng = jax.random.fold_in(rng, state.step)
        augment_rng, dropout_rng = jax.random.split(rng)
        images = batch["image"]
        if train_config.augment:
            images = preprocess.augment(augment_rng, images)
        x = _inputs({**batch, "image": images}, state.norm)
        weight = _weight(batch)

        def loss_fn(params):
            outputs = model.apply({"params": params}, x, batch["ebv"], train=True,
                                  band_mask=batch.get("band_mask"),
                                  rngs={"modality_dropout": dropout_rng})
            return losses.weighted_loss(train_config.loss, outputs, batch["z_spec"],
                                        bin_edges, weight)

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = {"loss": loss, "grad_norm": optax.tree.norm(grads),
                   "param_norm": optax.tree.norm(params),
                   "learning_rate": train_config.schedule()(state.step)}
        return state.replace(step=state.step + 1, params=params, opt_state=opt_state), metrics

    rep, data = replicated(mesh), batch_sharding(mesh)
    return jax.jit(step, in_shardings=(rep, data, rep), out_shardings=(rep, rep),
                   donate_argnums=(0,), compiler_options=compiler_options())


@functools.lru_cache(maxsize=64)  # one compiled function per (network, mesh, dropped set)
def make_predict_fn(model_config: ModelConfig, mesh=None, drop_modalities: tuple = ()):
    """Returns ``predict(params, norm, batch) -> {pdf, z_regression}``, jit-compiled.

    ``pdf``: (B, n_bins); ``z_regression``: (B,). No augmentation.
    """
    mesh = mesh or make_mesh()
    model = PhotoZNet(model_config)

    def predict(params, norm, batch):
        outputs = model.apply({"params": params}, _inputs(batch, norm), batch["ebv"],
                              band_mask=batch.get("band_mask"),
                              drop_modalities=drop_modalities)
        return {"pdf": outputs["pdf"], "z_regression": outputs["z_regression"]}

    rep, data = replicated(mesh), batch_sharding(mesh)
    return jax.jit(predict, in_shardings=(rep, rep, data), out_shardings=data,
                   compiler_options=compiler_options())


@functools.lru_cache(maxsize=64)  # one compiled function per (network, loss, mesh)
def make_eval_loss_fn(model_config: ModelConfig, train_config: TrainConfig, mesh=None):
    """Returns ``loss(params, norm, batch) -> (loss * weight sum, weight sum)``, jit-compiled:
    the training loss of a batch without augmentation or dropout (validation)."""
    mesh = mesh or make_mesh()
    model = PhotoZNet(model_config)
    bin_edges = jnp.asarray(model_config.bin_edges(), jnp.float32)

    def loss(params, norm, batch):
        outputs = model.apply({"params": params}, _inputs(batch, norm), batch["ebv"],
                              band_mask=batch.get("band_mask"))
        weight = _weight(batch)
        value = losses.weighted_loss(train_config.loss, outputs, batch["z_spec"], bin_edges,
                                     weight)
        return value * jnp.sum(weight), jnp.sum(weight)

    rep, data = replicated(mesh), batch_sharding(mesh)
    return jax.jit(loss, in_shardings=(rep, rep, data), out_shardings=(rep, rep),
                   compiler_options=compiler_options())


def to_host(x: jax.Array) -> np.ndarray:
    """A global array as one numpy array on every host (gathered across processes)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def shard_batch(batch: dict[str, np.ndarray], mesh) -> dict[str, jax.Array]:
    """Puts a host batch (single process) on the mesh, split over ``data``."""
    sharding = batch_sharding(mesh)
    return {k: jax.device_put(np.asarray(v), sharding) for k, v in batch.items()}
