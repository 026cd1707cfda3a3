"""``photoz predict`` throughput and peak memory at catalogue scale.

Trains the cheapest run the tests train (2 folds x 1 seed, a few steps on a
few dozen objects; not timed), writes data sets of N random objects, and runs
``photoz predict`` on each in a subprocess, printing galaxies per second (the
whole command: start-up, restoring the members and compiling included) and the
subprocess's peak resident memory (``os.wait4``'s ``ru_maxrss``, this child only).
Peak memory should grow with N only through the per-object catalogue columns.

    python benchmarks/predict.py --n 2000 20000
    python benchmarks/predict.py --n 20000 --chunk-size 4096 --n-bins 1000 --catalogue
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("PHOTOZ_NO_PROGRESS", "1")

import numpy as np  # noqa: E402

from multimodal_photoz.cli import main as photoz  # noqa: E402
from multimodal_photoz.data import DatasetWriter  # noqa: E402

METADATA = {"zeropoint_ab": 27.0}


def write_random(path: str, n: int, stamp: int, bands: str, first_id: int = 0,
                 seed: int = 0) -> str:
    """Writes ``n`` random objects (images brighter at low z) in blocks of 1000."""
    rng = np.random.default_rng(seed)
    with DatasetWriter(path, bands=bands, name="benchmark", metadata=METADATA) as writer:
        for lo in range(0, n, 1000):
            b = min(1000, n - lo)
            z = rng.uniform(0.05, 1.2, b)
            images = rng.standard_normal((b, stamp, stamp, len(bands)), np.float32)
            images += (3.0 / (0.2 + z)).astype(np.float32)[:, None, None, None]
            writer.add(images=images, z_spec=z, ebv=rng.uniform(0, 0.05, b),
                       ids=np.arange(first_id + lo, first_id + lo + b))
    return path


def train_tiny_run(root: str, args) -> str:
    """The tests' cheapest finished run: 2 members, a few steps (not timed)."""
    data = write_random(os.path.join(root, "train_data"), 32, args.stamp, args.bands, seed=1)
    workdir = os.path.join(root, "run")
    status = photoz(["train", "--data", data, "--workdir", workdir, "--width", str(args.width),
                     "--n-bins", str(args.n_bins), "--z-max", "1.5", "--batch-size", "8",
                     "--steps", "2", "--checkpoint-every", "2",
                     "--eval-batch-size", str(args.eval_batch_size), "--seeds", "1",
                     "--folds", "2"])
    if status:
        sys.exit(f"training the tiny run failed ({status})")
    return workdir


def time_predict(workdir: str, data: str, out: str, args) -> tuple[float, int]:
    """Wall seconds and peak RSS (kB) of one ``photoz predict`` subprocess."""
    command = [sys.executable, "-m", "multimodal_photoz.cli", "predict", "--run", workdir,
               "--data", data, "--out", out, "--chunk-size", str(args.chunk_size),
               "--pdf-dtype", args.pdf_dtype]
    if args.catalogue:
        command += ["--catalogue", out.replace(".h5", ".fits")]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
    seconds = time.perf_counter() - start
    stdout, stderr = proc.stdout.read().decode(), proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"photoz predict failed:\n{stderr[-3000:]}")
    print("   ", stdout.strip().splitlines()[0])
    return seconds, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--chunk-size", type=int, default=4096)
    parser.add_argument("--stamp", type=int, default=32)
    parser.add_argument("--bands", default="griz")
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--n-bins", type=int, default=180)
    parser.add_argument("--eval-batch-size", type=int, default=128)
    parser.add_argument("--pdf-dtype", default="float32", choices=("float32", "float16"))
    parser.add_argument("--catalogue", action="store_true", help="also write a FITS catalogue")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="photoz_predict_bench_") as root:
        workdir = train_tiny_run(root, args)
        print(f"run: width {args.width}, {args.n_bins} bins, stamps {args.stamp}x{args.stamp}x"
              f"{len(args.bands)}, eval batch {args.eval_batch_size}; chunk {args.chunk_size}, "
              f"pdf {args.pdf_dtype}; JAX_PLATFORMS={os.environ['JAX_PLATFORMS']}")
        for n in args.n:
            data = write_random(os.path.join(root, f"data_{n}"), n, args.stamp, args.bands,
                                first_id=10**6)
            out = os.path.join(root, f"pred_{n}.h5")
            seconds, rss_kb = time_predict(workdir, data, out, args)
            print(f"N={n}: {seconds:.1f} s, {n / seconds:.0f} galaxies/s (start-up included), "
                  f"peak RSS {rss_kb / 1024:.0f} MiB, predictions.h5 "
                  f"{os.path.getsize(out) / 2**20:.2f} MiB")
            os.remove(out)


if __name__ == "__main__":
    main()
