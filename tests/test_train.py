import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multimodal_photoz import losses, preprocess, train
from multimodal_photoz.config import TrainConfig
from multimodal_photoz.model import make_config


def tiny_batch(n=8, stamp=16, n_bands=5, seed=0):
    rng = np.random.default_rng(seed)
    return {"image": (rng.normal(size=(n, stamp, stamp, n_bands)) * 10).astype(np.float32),
            "ebv": rng.uniform(0, 0.1, n).astype(np.float32),
            "z_spec": rng.uniform(0.05, 0.95, n).astype(np.float32)}


def test_bin_index_and_losses_by_hand():
    edges = jnp.array([0.0, 0.5, 1.0])
    assert losses.bin_index(jnp.array([0.0, 0.49, 0.5, 0.99, 1.0, 3.0]), edges).tolist() == \
        [0, 0, 1, 1, 1, 1]
    outputs = {"logits": jnp.log(jnp.array([[0.25, 0.75]])), "z_regression": jnp.array([0.9])}
    z = jnp.array([0.6])
    one = jnp.ones(1)
    # CE = -log(0.75); |0.9 - 0.6| = 0.3; (0.3)^2 = 0.09; 0.3 / 1.6 = 0.1875
    ce = -np.log(0.75)
    assert np.isclose(losses.weighted_loss("ce", outputs, z, edges, one), ce, atol=1e-6)
    assert np.isclose(losses.weighted_loss("ce_mae", outputs, z, edges, one), ce + 0.3, atol=1e-6)
    assert np.isclose(losses.weighted_loss("mae", outputs, z, edges, one), 0.3, atol=1e-6)
    assert np.isclose(losses.weighted_loss("rmse", outputs, z, edges, one), 0.3, atol=1e-6)
    assert np.isclose(losses.weighted_loss("nmae", outputs, z, edges, one), 0.1875, atol=1e-6)
    with pytest.raises(ValueError, match="unknown loss 'huber'"):
        losses.weighted_loss("huber", outputs, z, edges, one)


def test_weights_exclude_padding_rows():
    edges = jnp.array([0.0, 1.0])
    outputs = {"logits": jnp.zeros((2, 1)), "z_regression": jnp.array([0.5, 5.0])}
    loss = losses.weighted_loss("mae", outputs, jnp.array([0.0, 0.0]), edges, jnp.array([1.0, 0.0]))
    assert np.isclose(loss, 0.5)


def test_learning_rate_is_divided_by_five_at_half_training():
    schedule = TrainConfig(n_steps=100, learning_rate=1e-4).schedule()
    assert np.isclose(schedule(49), 1e-4) and np.isclose(schedule(50), 2e-5)


def test_cosine_schedule_warms_up_then_decays_to_zero():
    schedule = TrainConfig(n_steps=110, learning_rate=1e-3, lr_schedule="cosine",
                           lr_warmup_steps=10).schedule()
    # warm-up 0 -> 1e-3 over 10 steps; then 1e-3 * (1 + cos(pi * t / 100)) / 2
    assert np.isclose(schedule(0), 0.0) and np.isclose(schedule(5), 5e-4)
    assert np.isclose(schedule(10), 1e-3)
    assert np.isclose(schedule(35), 1e-3 * (1 + np.cos(np.pi / 4)) / 2, rtol=1e-5)
    assert np.isclose(schedule(60), 5e-4, rtol=1e-5) and np.isclose(schedule(110), 0.0)
    no_warmup = TrainConfig(n_steps=100, learning_rate=1e-3, lr_schedule="cosine").schedule()
    assert np.isclose(no_warmup(0), 1e-3) and np.isclose(no_warmup(50), 5e-4, rtol=1e-5)


@pytest.mark.parametrize("settings, message", [
    ({"lr_schedule": "linear"}, "train.lr_schedule: unknown schedule 'linear'; known: "
                                "['cosine', 'step']"),
    ({"lr_schedule": "cosine", "lr_warmup_steps": 100},
     "train.lr_warmup_steps must be in [0, n_steps) for the cosine schedule, got 100 "
     "(n_steps 100); set it with --set train.lr_warmup_steps=N"),
    ({"n_steps": 0}, "train.n_steps must be positive, got 0"),
    ({"lr_schedule": "cosine", "lr_decay_at": 0.75},
     "train.lr_decay_at applies to the step schedule only, and train.lr_schedule is cosine: "
     "leave it at 0.5 or set train.lr_schedule=step"),
    ({"lr_warmup_steps": 10},
     "train.lr_warmup_steps applies to the cosine schedule only, and train.lr_schedule is "
     "step: leave it at 0 or set train.lr_schedule=cosine")])
def test_bad_schedule_settings_are_refused(settings, message):
    with pytest.raises(ValueError) as err:
        TrainConfig(**{"n_steps": 100, **settings})
    assert str(err.value) == message


@pytest.mark.parametrize("modality_size", [None, 2], ids=["baseline", "early_fusion"])
def test_overfits_a_fixed_tiny_batch(modality_size):
    config = make_config("ugriz", modality_size=modality_size, fusion="early", width=0.125,
                         n_bins=20, z_max=1.0)
    tc = TrainConfig(batch_size=8, n_steps=60, learning_rate=3e-3, augment=False)
    mesh = train.make_mesh(jax.local_devices()[:1])
    state = train.create_train_state(jax.random.key(0), config, tc,
                                     preprocess.BandStats.identity(5), 16, mesh)
    step = train.make_train_step(config, tc, mesh)
    batch = train.shard_batch(tiny_batch(), mesh)
    first = None
    for _ in range(tc.n_steps):
        state, metrics = step(state, batch, jax.random.key(1))
        first = float(metrics["loss"]) if first is None else first
    assert float(metrics["loss"]) < 0.5 * first
    assert int(state.step) == tc.n_steps


def test_same_key_same_run():
    config = make_config("ugri", modality_size=2, width=0.1, n_bins=8, z_max=1.0)
    tc = TrainConfig(batch_size=4, n_steps=4)
    mesh = train.make_mesh(jax.local_devices()[:1])
    step = train.make_train_step(config, tc, mesh)
    batch = train.shard_batch(tiny_batch(4, n_bands=4), mesh)
    results = []
    for _ in range(2):
        state = train.create_train_state(jax.random.key(5), config, tc,
                                         preprocess.BandStats.identity(4), 16, mesh)
        for _ in range(3):
            state, _ = step(state, batch, jax.random.key(9))
        results.append(np.asarray(state.params["fc1"]["kernel"]))
    np.testing.assert_array_equal(results[0], results[1])


DEVICE_SCRIPT = textwrap.dedent("""
    import json, jax, numpy as np
    jax.config.update("jax_num_cpu_devices", 4)
    from multimodal_photoz import preprocess, train
    from multimodal_photoz.config import TrainConfig
    from multimodal_photoz.model import make_config
    config = make_config("ugriz", modality_size=2, width=0.1, n_bins=16, z_max=1.0,
                         modality_dropout=1)
    tc = TrainConfig(batch_size=8, n_steps=10, learning_rate=1e-3)
    rng = np.random.default_rng(0)
    batch = {"image": (rng.normal(size=(8, 16, 16, 5)) * 10).astype(np.float32),
             "ebv": rng.uniform(0, 0.1, 8).astype(np.float32),
             "z_spec": rng.uniform(0, 1, 8).astype(np.float32),
             "band_mask": np.ones((8, 5), np.float32)}
    out = {}
    for n in (1, 4):
        mesh = train.make_mesh(jax.devices()[:n])
        stats = preprocess.BandStats(mean=(0.1,) * 5, std=(2.0,) * 5)
        state = train.create_train_state(jax.random.key(0), config, tc, stats, 16, mesh)
        step = train.make_train_step(config, tc, mesh)
        sharded = train.shard_batch(batch, mesh)
        assert len(sharded["image"].sharding.device_set) == n
        state, m1 = step(state, sharded, jax.random.key(3))
        state, m2 = step(state, sharded, jax.random.key(3))
        out[n] = {"losses": [float(m1["loss"]), float(m2["loss"])],
                  "kernel": np.asarray(state.params["fc2"]["kernel"]).ravel()[:64].tolist(),
                  "stem": np.asarray(state.params["branches_size2"]["stem"]["conv5x5"]["kernel"]).ravel()[:64].tolist()}
    print(json.dumps(out))
""")


def test_one_and_four_devices_give_the_same_update():
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", DEVICE_SCRIPT], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    one, four = out["1"], out["4"]
    np.testing.assert_allclose(one["losses"], four["losses"], rtol=1e-5)
    np.testing.assert_allclose(one["kernel"], four["kernel"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(one["stem"], four["stem"], rtol=1e-4, atol=1e-6)
    assert one["losses"][1] != one["losses"][0]  # the parameters did move


def test_hot_loop_makes_no_hidden_host_device_transfer():
    """Batches and keys on device, the steps run under jax_transfer_guard('disallow')."""
    config = make_config("ugriz", modality_size=2, width=0.05, n_bins=8, z_max=1.0)
    tc = TrainConfig(batch_size=8, n_steps=10, learning_rate=1e-3)
    mesh = train.make_mesh()
    stats = preprocess.BandStats(mean=(0.1,) * 5, std=(2.0,) * 5)
    state = train.create_train_state(jax.random.key(0), config, tc, stats, 16, mesh)
    step = train.make_train_step(config, tc, mesh)
    batch = train.shard_batch({**tiny_batch(), "band_mask": np.ones((8, 5), np.float32)}, mesh)
    key = jax.device_put(jax.random.key(1), train.replicated(mesh))
    state, _ = step(state, batch, key)  # compile outside the guard
    with jax.transfer_guard("disallow"):
        for _ in range(3):
            state, metrics = step(state, batch, key)
    assert int(state.step) == 4 and np.isfinite(float(metrics["loss"]))
    with pytest.raises(Exception, match="[Dd]isallowed"):  # the guard does catch a copy
        with jax.transfer_guard("disallow"):
            step(state, {**batch, "ebv": np.zeros(8, np.float32)}, key)
