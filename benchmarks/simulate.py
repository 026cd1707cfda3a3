"""Simulator throughput: galaxies per second per core (rendering 64x64 stamps).

    python benchmarks/simulate.py --surveys hsc9 sdss --n 1000 --stamp 64

For each survey: (1) the catalogue stage (populations, SEDs through filters; one process,
including the one-off template photometry grid and SED-library fit), then (2) rendering in
one process (GalSim profiles + noise, neighbours included): galaxies per wall second and per
CPU second (the steadier number on a shared machine), and (3) the end-to-end ``simulate``
call on all cores.
"""

from __future__ import annotations

import argparse
import os
import time

from multimodal_photoz.simulate import get_survey, simulate
from multimodal_photoz.simulate.render import StampRenderer, render_stamps
from multimodal_photoz.simulate.simulate import build_scenes


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def bench(survey: str, n: int, stamp: int, workers: int) -> None:
    """Prints the three timings of one survey."""
    preset = get_survey(survey)
    (scenes, _), wall, _ = _timed(lambda: build_scenes(preset, n, 0, stamp))
    n_comp = scenes.obj.size / n
    print(f"{survey}: catalogue {n} objects in {wall:.2f} s "
          f"({n_comp / 2 - 1:.2f} neighbours per stamp on average)")
    renderer = StampRenderer(preset, stamp)
    _, wall, cpu = _timed(lambda: render_stamps(renderer, scenes, 0, 0))
    shape = f"{stamp}x{stamp}x{len(preset.bands)}"
    print(f"{survey}: render {shape}, 1 process: {n / wall:.0f} galaxies/s wall, "
          f"{n / cpu:.0f} galaxies per CPU-second")
    _, wall, _ = _timed(lambda: simulate(survey, n, 0, stamp=stamp, n_workers=workers))
    print(f"{survey}: simulate() end to end on {workers} processes: {n / wall:.0f} "
          f"galaxies/s ({n / wall / workers:.0f} per process)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surveys", nargs="+", default=["hsc9", "sdss"])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--stamp", type=int, default=64)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    for survey in args.surveys:
        bench(survey, args.n, args.stamp, args.workers)


if __name__ == "__main__":
    main()
