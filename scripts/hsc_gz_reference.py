"""Writes multimodal_photoz/simulate/reference_colours.py: g-z percentiles of real galaxies.

Source: the HSC PDR2 spectroscopic sample (429,235 objects with HSC i magnitude, g-z colour
and spectroscopic redshift) that LSST DESC RAIL ships as
``rail/examples_data/creation_data/data/hsc_ratios_and_specz.hdf5`` in the PyPI package
``pz-rail-astro-tools`` (version 2.0.5 used here). It is not a dependency: fetch the wheel
once and point this script at it,

    pip download pz-rail-astro-tools==2.0.5 --no-deps -d /tmp/rail
    python scripts/hsc_gz_reference.py /tmp/rail/pz_rail_astro_tools-2.0.5-py3-none-any.whl

The table keeps objects with i < 24 in 0.1-wide redshift bins from 0 to 1.6: the number of
objects and the 16th, 50th and 84th percentiles of g - z (the blue envelope, the median
and the red envelope that the deep-field simulations are compared with).

Colours at fixed redshift depend on luminosity, so a simulated sample is compared with
real galaxies of the same i-magnitude mix: besides the table of the sample as it is, the
script writes, for each simulated spectroscopic population (``population.SPECTROSCOPIC_SAMPLES``),
the weighted percentiles of the real galaxies, each weighted by the ratio of the
population's i-magnitude density to the real sample's (0.25-mag bins, i < 24).
"""

import io
import os
import sys
import zipfile

import h5py
import numpy as np

MEMBER = "rail/examples_data/creation_data/data/hsc_ratios_and_specz.hdf5"
OUT = os.path.join(os.path.dirname(__file__), "..", "multimodal_photoz", "simulate",
                   "reference_colours.py")
MAG_LIMIT = 24.0
EDGES = np.round(np.arange(0.0, 1.61, 0.1), 1)
MAG_EDGES = np.arange(14.0, MAG_LIMIT + 0.001, 0.25)


def read(wheel: str) -> np.ndarray:
    """(N, 3) columns mag (HSC i), color (g - z), specz of the RAIL sample."""
    with zipfile.ZipFile(wheel) as zf, h5py.File(io.BytesIO(zf.read(MEMBER))) as f:
        names = [n.decode() for n in f["data/block0_items"][:]]
        values = f["data/block0_values"][:]
    return values[:, [names.index("mag"), names.index("color"), names.index("specz")]]


def weighted_percentiles(x: np.ndarray, w: np.ndarray, q) -> np.ndarray:
    """Percentiles ``q`` (0-100) of ``x`` with weights ``w`` (midpoint interpolation)."""
    order = np.argsort(x)
    x, w = x[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(np.asarray(q) / 100.0, cdf, x)


def table(mag, gz, z, weights) -> str:
    rows = []
    for lo, hi in zip(EDGES[:-1], EDGES[1:]):
        sel = (mag < MAG_LIMIT) & (z >= lo) & (z < hi) & np.isfinite(gz)
        p16, p50, p84 = weighted_percentiles(gz[sel], weights[sel], [16, 50, 84])
        rows.append(f"    ({lo:.1f}, {hi:.1f}, {int(sel.sum())}, {p16:.3f}, {p50:.3f}, {p84:.3f}),")
    return "(\n" + "\n".join(rows) + "\n)"


def magnitude_weights(mag: np.ndarray, sample) -> np.ndarray:
    """(N,) weights giving the real objects the i-magnitude density of ``sample``."""
    bright = mag < MAG_LIMIT
    real, _ = np.histogram(mag[bright], MAG_EDGES, density=True)
    centres = (MAG_EDGES[:-1] + MAG_EDGES[1:]) / 2
    wanted = sample.mag_density(centres)
    ratio = np.where(real > 0, wanted / np.maximum(real, 1e-12), 0.0)
    k = np.clip(np.digitize(mag, MAG_EDGES) - 1, 0, len(centres) - 1)
    return np.where(bright, ratio[k], 0.0)


def main(wheel: str) -> None:
    from multimodal_photoz.simulate.population import SPECTROSCOPIC_SAMPLES

    mag, gz, z = read(wheel).T
    matched = "\n".join(f"    {name!r}: {table(mag, gz, z, magnitude_weights(mag, sample))},"
                         for name, sample in SPECTROSCOPIC_SAMPLES.items())
    text = (
        '"""g - z percentiles of the HSC PDR2 spectroscopic sample (i < 24), per redshift bin.\n\n'
        "Written by scripts/hsc_gz_reference.py from RAIL's hsc_ratios_and_specz.hdf5\n"
        "(PyPI pz-rail-astro-tools 2.0.5); do not edit by hand. Rows: (z_lo, z_hi, objects,\n"
        "g-z p16, p50, p84). HSC_PDR2_GZ is the sample as it is; MAGNITUDE_MATCHED[population]\n"
        "weights its galaxies to that simulated population's i-magnitude mix.\n"
        '"""\n\n'
        f"MAG_LIMIT_I = {MAG_LIMIT}\n"
        f"HSC_PDR2_GZ = {table(mag, gz, z, np.ones_like(mag))}\n"
        "MAGNITUDE_MATCHED = {\n" + matched + "\n}\n")
    with open(OUT, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1])
