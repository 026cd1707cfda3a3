"""Our train step against the same network's in Keras (TensorFlow), side by side.

Usage (TensorFlow is a benchmark-only dependency, kept out of the package):
  python -m venv .venv-peer && .venv-peer/bin/pip install -e ".[peer]"
  .venv-peer/bin/python benchmarks/peer_keras.py --stamp 32 --width 0.25 --batch 32 \
      [--steps 5] [--rounds 5] [--bands ugrizyjhk] [--jit-compile auto|true|false]

For the baseline (one all-band modality) and early fusion of the eight 2-band
first-order modalities, builds the network twice: ours (``PhotoZNet``, Flax,
one ``jax.jit`` train step) and a Keras 3 functional model of the same layers
(stem, Treyer inception blocks with the same pools, concatenation fusion, the
head's convolutions and dense layers, a PDF and a regression output), its
branches a Python loop of ordinary layers, as one writes it in Keras. The
filter counts come from our width rule, so the parameter counts must agree;
the script stops if they do not. Both take one Adam step of softmax
cross-entropy (bin of z_spec) + absolute error of the regression output on
the same random batch; ours also runs its on-device rot90/flip augmentation
and standardization, which the peer does not (a small share of the step:
``benchmarks/train_step.py`` times the whole of ours). Steps are timed in
turns, ``--rounds`` times, so both frameworks share the same load; the figure
is the median of the rounds. Prints each time and our time / peer time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step import NETWORKS, StepRunner, add_network_arguments, network_config  # noqa: E402

from multimodal_photoz import train  # noqa: E402
from multimodal_photoz.model import BACKBONES, ModelConfig  # noqa: E402
from multimodal_photoz.model import layers as ours  # noqa: E402
from multimodal_photoz.model.network import DENSE_UNITS  # noqa: E402
from multimodal_photoz.model.trunk import branch_scale, branch_stem_scale, trunk_scale  # noqa: E402


def _keras():
    try:
        import keras
        import tensorflow as tf
    except ImportError as err:
        raise SystemExit(f"this benchmark needs TensorFlow: pip install -e '.[peer]' ({err})")
    return keras, tf


def keras_network(config: ModelConfig, stamp: int):
    """The Keras model of ``PhotoZNet(config)`` (inception backbone, concatenation
    fusion): inputs (images (B, S, S, C), ebv (B, 1), band mask (B, C)), outputs
    (logits (B, n_bins), z_regression (B, 1))."""
    keras, _ = _keras()
    L = keras.layers
    if config.backbone != "inception" or config.fusion_type != "concat":
        raise ValueError("the peer network covers the inception backbone with concatenation")
    spec = BACKBONES[config.backbone]
    depth = spec.fusion_depth[config.fusion]

    def conv(x, filters, size, activation=None, padding="same"):
        return L.Conv2D(filters, size, padding=padding, activation=activation)(x)

    def inception(x, scale):
        k = ours.scaled(ours.INCEPTION_K, scale)
        reduce = max(1, int(0.65 * k))
        b5 = conv(conv(x, reduce, 1, "relu"), k, 5, "relu")
        b3 = conv(conv(x, reduce, 1, "relu"), k, 3, "relu")
        # TF's SAME average pooling, like ours, does not count the padding.
        bp = L.AveragePooling2D(2, strides=1, padding="same")(conv(x, reduce, 1, "relu"))
        b1 = conv(x, max(1, int(0.7 * k)), 1, "relu")
        return L.Concatenate()([b5, b3, bp, b1])

    def blocks(x, start, stop, scale):
        for index in range(start, stop):
            if index in spec.pool_before:
                x = L.AveragePooling2D(2)(x)
            x = inception(x, scale)
        return x

    images = keras.Input((stamp, stamp, config.n_bands), name="images")
    ebv = keras.Input((1,), name="ebv")
    band_mask = keras.Input((config.n_bands,), name="band_mask")
    features = []
    for modality in config.resolved_modalities():  # the branches: a Python loop
        s = len(modality)
        idx = [config.bands.index(b) for b in modality]
        x = L.Lambda(lambda t, idx=idx: keras.ops.take(t, idx, axis=-1))(images)
        stem_f = ours.scaled(ours.STEM_FILTERS,
                             branch_stem_scale(config.width, s, config.n_bands,
                                               config.branch_width))
        x = conv(x, stem_f, 5)
        x = L.PReLU(shared_axes=[1, 2, 3])(x)  # one slope, as Flax's PReLU
        x = conv(x, stem_f, 3, "tanh")
        features.append(blocks(x, 0, depth, branch_scale(config.width, s, config.n_bands,
                                                          config.branch_width)))
    x = features[0] if len(features) == 1 else L.Concatenate()(features)
    x = blocks(x, depth, spec.n_blocks, trunk_scale(config.width, config.branch_width))
    for _ in range(spec.head_convs):
        padding = "valid" if min(x.shape[1], x.shape[2]) >= 3 else "same"
        x = conv(x, ours.scaled(ours.HEAD_FILTERS, config.width), 3, "relu", padding)
    latent = L.GlobalAveragePooling2D()(x)
    h = L.Concatenate()([latent, ebv, band_mask] if config.band_mask_input else [latent, ebv])
    units = ours.scaled(DENSE_UNITS, config.width)
    h = L.Dense(units, activation="relu")(L.Dense(units, activation="relu")(h))
    logits = L.Dense(config.n_bins, name="logits")(h)
    z = L.Dense(1, name="z_regression")(h)
    return keras.Model([images, ebv, band_mask], [logits, z])


class KerasStep:
    """The Keras model compiled with Adam and cross-entropy + MAE, and a random batch."""

    def __init__(self, config: ModelConfig, batch: int, stamp: int, lr: float,
                 jit_compile, warmup: int):
        keras, tf = _keras()
        self.model = keras_network(config, stamp)
        edges = np.asarray(config.bin_edges())
        rng = np.random.default_rng(0)
        n = config.n_bands
        z = rng.uniform(0, config.z_max, batch).astype(np.float32)
        self.x = [rng.normal(size=(batch, stamp, stamp, n)).astype(np.float32),
                  rng.uniform(0, 0.1, (batch, 1)).astype(np.float32),
                  np.ones((batch, n), np.float32)]
        labels = np.clip(np.searchsorted(edges, z, side="right") - 1, 0, config.n_bins - 1)
        self.y = [labels.astype(np.int32), z[:, None]]
        self.model.compile(
            optimizer=keras.optimizers.Adam(lr),
            loss=[keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  keras.losses.MeanAbsoluteError()],
            jit_compile=jit_compile)
        t0 = time.perf_counter()
        self.model.train_on_batch(self.x, self.y)  # traces and compiles
        self.compile_s = time.perf_counter() - t0
        self.jit_compile = getattr(self.model, "jit_compile", jit_compile)
        self.params = int(self.model.count_params())
        self.tf = tf
        if warmup:
            self.run(warmup)

    def run(self, steps: int) -> float:
        """Seconds per step over ``steps`` steps."""
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = self.model.train_on_batch(self.x, self.y)
        np.asarray(loss)
        return (time.perf_counter() - t0) / steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_network_arguments(parser, stamp=32, width=0.25)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--n-bins", type=int, default=400)
    parser.add_argument("--jit-compile", default="auto", choices=["auto", "true", "false"],
                        help="Keras' XLA compilation of its step (auto: Keras decides)")
    args = parser.parse_args(argv)
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    mesh = train.make_mesh(jax.local_devices()[:1])
    runners = {}
    for label in NETWORKS:
        config = network_config(label, args, n_bins=args.n_bins)
        mine = StepRunner(config, args.batch, args.stamp, args.steps, args.warmup, mesh)
        peer = KerasStep(config, args.batch, args.stamp, 1e-3, jit, args.warmup)
        if peer.params != mine.params:
            raise SystemExit(f"{label}: Keras has {peer.params:,} parameters, ours "
                             f"{mine.params:,}: not the same network")
        runners[label] = {"ours": mine, "keras": peer}
    times = {(label, side): [] for label in runners for side in ("ours", "keras")}
    for _ in range(args.rounds):
        for label, pair in runners.items():
            for side, runner in pair.items():
                times[label, side].append(runner.run(args.steps))
    results = {}
    for label, pair in runners.items():
        ours_s = float(np.median(times[label, "ours"]))
        keras_s = float(np.median(times[label, "keras"]))
        per_round = [a / b for a, b in zip(times[label, "ours"], times[label, "keras"])]
        results[label] = {"params": pair["ours"].params, "ours_ms": ours_s * 1e3,
                          "keras_ms": keras_s * 1e3, "ratio": ours_s / keras_s,
                          "ratio_per_round": per_round,
                          "keras_jit_compile": str(pair["keras"].jit_compile)}
        print(f"{label:20s} params {pair['ours'].params / 1e6:5.2f}M (both)  "
              f"ours {ours_s * 1e3:7.1f} ms  keras {keras_s * 1e3:7.1f} ms  "
              f"ours/keras {ours_s / keras_s:.2f} "
              f"(per round: {', '.join(f'{r:.2f}' for r in per_round)})")
    base, early = results["baseline"], results["early_2band_order1"]
    print(f"multimodal/baseline time ratio: ours {early['ours_ms'] / base['ours_ms']:.2f}, "
          f"keras {early['keras_ms'] / base['keras_ms']:.2f}  "
          f"(keras jit_compile={base['keras_jit_compile']})")
    _, tf = _keras()
    print(json.dumps({"jax": jax.__version__, "tensorflow": tf.__version__, **vars(args),
                      "results": results}))


if __name__ == "__main__":
    main()
