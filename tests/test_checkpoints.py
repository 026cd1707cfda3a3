"""Checkpoints: bit-identical round trips, fallback past damaged steps, kill -9."""

import glob
import os
import signal
import subprocess
import sys
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multimodal_photoz.checkpoints import (
    CheckpointWarning,
    MemberCheckpoints,
    NoValidCheckpointError,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_state(step: int) -> dict:
    """A train-state-like pytree whose every value depends on ``step``."""
    rng = np.random.default_rng(step)
    return {
        "params": {"conv": {"kernel": jnp.asarray(rng.normal(size=(3, 3, 2, 4)), jnp.float32)},
                   "dense": {"bias": jnp.asarray(rng.normal(size=(7,)), jnp.float32)}},
        "opt_state": {"mu": np.asarray(rng.normal(size=(7,)), np.float32),
                      "count": np.asarray(step, np.int32)},
        "step": np.asarray(step, np.int64),
        "rng": jax.random.key_data(jax.random.key(step)),
    }


def assert_bit_identical(a, b):
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


def data_files(step_dir: str) -> list[str]:
    return [f for f in glob.glob(os.path.join(step_dir, "state", "**"), recursive=True)
            if os.path.isfile(f)]


def test_round_trip_is_bit_identical(tmp_path):
    ckpt = MemberCheckpoints(tmp_path / "m0", max_to_keep=3)
    assert ckpt.latest_step() is None
    for step in (100, 200):
        assert ckpt.save(step, make_state(step), {"epoch": step // 100, "loss": 0.5})
    assert ckpt.all_steps() == [100, 200] and ckpt.latest_step() == 200
    step, state, meta = ckpt.restore(make_state(0))
    assert step == 200 and meta == {"epoch": 2, "loss": 0.5}
    assert_bit_identical(state, make_state(200))
    assert isinstance(state["params"]["conv"]["kernel"], jax.Array)
    assert isinstance(state["opt_state"]["mu"], np.ndarray)
    step, state, _ = ckpt.restore(make_state(0), step=100)
    assert step == 100
    assert_bit_identical(state, make_state(100))
    ckpt.close()


def test_restore_into_sharded_abstract_target(tmp_path):
    ckpt = MemberCheckpoints(tmp_path / "m0")
    saved = {k: v for k, v in make_state(1).items() if k != "step"}  # int64 is not a jax dtype here
    ckpt.save(1, saved, {})
    mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=replicated),
                          saved)
    _, state, _ = ckpt.restore(target)
    assert_bit_identical(state, saved)
    assert state["params"]["dense"]["bias"].sharding == replicated


def test_typed_prng_key_round_trip(tmp_path):
    ckpt = MemberCheckpoints(tmp_path / "m0")
    state = {"key": jax.random.key(7), "w": jnp.ones(3)}
    ckpt.save(1, state, {})
    _, restored, _ = ckpt.restore(state)
    assert np.array_equal(jax.random.key_data(restored["key"]), jax.random.key_data(state["key"]))


def test_interval_and_keep_policy(tmp_path):
    ckpt = MemberCheckpoints(tmp_path / "m0", max_to_keep=2, save_interval_steps=10)
    assert not ckpt.save(5, make_state(5), {})
    assert ckpt.save(7, make_state(7), {}, force=True)
    for step in (10, 20, 30):
        assert ckpt.save(step, make_state(step), {})
    assert ckpt.all_steps() == [20, 30]
    assert not ckpt.save(30, make_state(30), {}, force=True)  # already saved: no error
    assert not ckpt.save(25, make_state(25), {})  # not after the latest step


@pytest.mark.parametrize("damage", ["truncate", "remove_state", "no_commit_marker", "flip_bytes"])
def test_damaged_latest_step_falls_back_with_warning(tmp_path, damage):
    ckpt = MemberCheckpoints(tmp_path / "m0", max_to_keep=3)
    for step in (1, 2):
        ckpt.save(step, make_state(step), {"step": step})
    step_dir = os.path.join(ckpt.directory, "2")
    if damage == "truncate":
        for f in data_files(step_dir):
            with open(f, "r+b") as fh:
                fh.truncate(3)
    elif damage == "remove_state":
        for f in data_files(step_dir):
            os.remove(f)
    elif damage == "no_commit_marker":
        os.remove(os.path.join(step_dir, "commit_success.txt"))
    else:  # same size, different bytes: only the CRC32 written at save time sees it
        biggest = max(data_files(step_dir), key=os.path.getsize)
        raw = bytearray(open(biggest, "rb").read())
        raw[len(raw) // 2] ^= 0xFF
        open(biggest, "wb").write(bytes(raw))
    with pytest.warns(CheckpointWarning, match=r"step 2 is unreadable"):
        step, state, meta = ckpt.restore(make_state(0))
    assert step == 1 and meta == {"step": 1}
    assert_bit_identical(state, make_state(1))
    # the damaged step was moved aside, so training can save step 2 again
    assert ckpt.all_steps() == [1]
    assert len(os.listdir(os.path.join(ckpt.directory, "corrupt"))) == 1
    assert ckpt.save(2, make_state(2), {"step": 2})
    assert ckpt.restore(make_state(0))[0] == 2


def test_no_readable_step_raises_and_moves_nothing(tmp_path):
    ckpt = MemberCheckpoints(tmp_path / "m0")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        ckpt.restore(make_state(0))
    ckpt.save(1, make_state(1), {})
    wrong_target = {"params": {"other": jnp.zeros(2)}}
    with pytest.warns(CheckpointWarning), pytest.raises(NoValidCheckpointError, match="step 1"):
        ckpt.restore(wrong_target)
    assert ckpt.all_steps() == [1]


def test_finished_marker(tmp_path):
    ckpt = MemberCheckpoints(tmp_path / "m0")
    assert not ckpt.is_finished() and ckpt.finished_payload() is None
    ckpt.mark_finished({"final_step": 1000, "best_loss": 1.25})
    reopened = MemberCheckpoints(tmp_path / "m0")
    assert reopened.is_finished()
    payload = reopened.finished_payload()
    assert payload["final_step"] == 1000 and payload["best_loss"] == 1.25
    assert not [n for n in os.listdir(reopened.directory) if ".tmp" in n]


CHILD = textwrap.dedent("""
    import sys, numpy as np, jax, jax.numpy as jnp
    from multimodal_photoz.checkpoints import MemberCheckpoints
    ckpt = MemberCheckpoints(sys.argv[1], max_to_keep=2)
    state = lambda s: {"w": jnp.arange(400_000, dtype=jnp.float32) + s, "step": np.asarray(s, np.int64)}
    start = 0
    if ckpt.latest_step() is not None:
        start, _, _ = ckpt.restore(state(0))
    for step in range(start + 1, 10**6):
        ckpt.save(step, state(step), {"step": step})
        if step == start + 1:
            print("saved", flush=True)
""")


def test_kill_9_during_saves_leaves_a_restorable_checkpoint(tmp_path):
    """kill -9 the saving process at random moments; every reopen must restore."""
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    member = str(tmp_path / "m0")
    rng = np.random.default_rng(0)
    last = 0
    for _ in range(2):
        child = subprocess.Popen([sys.executable, "-c", CHILD, member], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert child.stdout.readline().strip() == "saved"
        time.sleep(rng.uniform(0.05, 0.5))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        ckpt = MemberCheckpoints(member, max_to_keep=2)
        step, state, meta = ckpt.restore({"w": jnp.zeros(400_000, jnp.float32), "step": np.asarray(0, np.int64)})
        assert step > last and meta == {"step": step} and int(state["step"]) == step
        assert np.array_equal(np.asarray(state["w"]), np.arange(400_000, dtype=np.float32) + step)
        # a killed save leaves '<step>.orbax-checkpoint-tmp'; the next save removes it
        ckpt.save(step + 1, {"w": state["w"] + 1, "step": np.asarray(step + 1, np.int64)}, {"step": step + 1})
        assert not [n for n in os.listdir(member) if "orbax-checkpoint-tmp" in n]
        last = step + 1


SHARDED_CHILD = textwrap.dedent("""
    import sys, numpy as np, jax, jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    from multimodal_photoz.checkpoints import MemberCheckpoints
    assert len(jax.devices()) == 2
    mesh = Mesh(np.array(jax.devices()), ("data",))
    sharded = NamedSharding(mesh, P("data"))
    w = jax.device_put(jnp.arange(64, dtype=jnp.float32).reshape(8, 8) * 0.1, sharded)
    ckpt = MemberCheckpoints(sys.argv[1])
    ckpt.save(1, {"w": w}, {})
    target = {"w": jax.ShapeDtypeStruct(w.shape, w.dtype, sharding=sharded)}
    _, state, _ = ckpt.restore(target)
    assert state["w"].sharding == sharded
    assert np.asarray(state["w"]).tobytes() == np.asarray(w).tobytes()
    print("ok")
""")


def test_restore_across_two_devices(tmp_path):
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SHARDED_CHILD, str(tmp_path / "m0")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
