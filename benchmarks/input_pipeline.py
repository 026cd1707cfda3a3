"""Input-pipeline throughput: cutouts per second from disk to device.

Writes a temporary data set of random cutouts (default 20,000 of 64x64x9),
then times ``iterate_batches`` over all of it, shuffled, for a few epochs,
waiting for each batch to be on device. The first epoch is reported too; the
best later epoch is the steady-state number (files in the page cache).

    python benchmarks/input_pipeline.py --n 20000 --stamp 64 --bands ugrizyjhk
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

from multimodal_photoz.data import DatasetWriter, open_dataset  # noqa: E402
from multimodal_photoz.data.pipeline import iterate_batches  # noqa: E402


def write_random(path: str, n: int, stamp: int, bands: str, seed: int = 0) -> float:
    """Writes ``n`` random cutouts; returns the write rate (cutouts/s)."""
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    with DatasetWriter(path, bands=bands, name="benchmark") as writer:
        for lo in range(0, n, 1000):
            b = min(1000, n - lo)
            writer.add(images=rng.standard_normal((b, stamp, stamp, len(bands)), np.float32),
                       z_spec=rng.uniform(0, 4, b), ebv=rng.uniform(0, 0.1, b),
                       ids=np.arange(lo, lo + b))
    return n / (time.perf_counter() - start)


def time_epochs(path: str, batch_size: int, epochs: int, read_threads: int) -> list[float]:
    """Cutouts/s of each epoch of shuffled batches, disk to device."""
    source = open_dataset(path)
    rates = []
    for epoch in range(epochs):
        start = time.perf_counter()
        count = 0
        for batch in iterate_batches(source, np.arange(len(source)), batch_size=batch_size,
                                     seed=0, epoch=epoch, read_threads=read_threads):
            batch["image"].block_until_ready()
            count += batch["image"].shape[0]
        rates.append(count / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--stamp", type=int, default=64)
    parser.add_argument("--bands", default="ugrizyjhk")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--read-threads", type=int, default=2)
    parser.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = os.path.join(tmp, "ds")
        write_rate = write_random(path, args.n, args.stamp, args.bands)
        size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
        print(f"wrote {args.n} cutouts {args.stamp}x{args.stamp}x{len(args.bands)} "
              f"({size / 2**30:.2f} GiB) at {write_rate:,.0f} cutouts/s")
        rates = time_epochs(path, args.batch_size, args.epochs, args.read_threads)
        for epoch, rate in enumerate(rates):
            print(f"epoch {epoch}: {rate:,.0f} cutouts/s")
        print(f"best: {max(rates):,.0f} cutouts/s (batch {args.batch_size}, "
              f"{args.read_threads} read threads, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
