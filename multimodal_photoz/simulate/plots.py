"""Figures of the simulated samples for docs/simulation.md.

    python -m multimodal_photoz.simulate.plots --out docs/figures --n 4000

Writes colours_vs_redshift.png, distributions.png and stamps.png (catalogues of n objects
per preset; stamps of a few objects).
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from multimodal_photoz.simulate.simulate import build_scenes, simulate
from multimodal_photoz.simulate.surveys import SURVEYS, get_survey

PRESETS = ("sdss", "cfhtls", "hsc6", "hsc9")
_COLOURS = {"sdss": ("ug", "gr", "ri"), "cfhtls": ("ug", "gr", "iz"),
            "hsc6": ("gr", "iz", "zy"), "hsc9": ("ug", "ri", "jk")}
# What the paper says of the real samples (Sect. 2.4): (lo, hi, fraction) in the selection band
_PAPER_FRACTIONS = {"cfhtls": ((None, 19.5, 0.34), (19.5, 22.5, 0.57), (22.5, 25.0, 0.09)),
                    "hsc6": ((None, 22.0, 0.45), (22.0, 24.0, 0.45), (24.0, None, 0.10)),
                    "sdss": ((None, 17.8, 1.0),)}
_PAPER_FRACTIONS["hsc9"] = _PAPER_FRACTIONS["hsc6"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_small_png(fig, path: str, colours: int = 96) -> None:
    """Saves a figure as a palette PNG (noisy stamps compress badly in full colour)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=72, format="png")
    buffer.seek(0)
    Image.open(buffer).convert("RGB").quantize(colours).save(path, optimize=True)


def colours_vs_redshift(catalogues: dict, path: str) -> None:
    """Scatter of three colours against z_spec for each preset."""
    plt = _plt()
    fig, axes = plt.subplots(len(catalogues), 3, figsize=(9, 2.2 * len(catalogues)))
    for row, (name, cols) in enumerate(catalogues.items()):
        for ax, (a, b) in zip(axes[row], _COLOURS[name]):
            colour = cols[f"mag_{a}"] - cols[f"mag_{b}"]
            ok = np.isfinite(colour) & (cols[f"mag_{a}"] < 99) & (cols[f"mag_{b}"] < 99)
            red = cols["red_sequence"].astype(bool)
            for sel, c in ((ok & red, "tab:red"), (ok & ~red, "tab:blue")):
                ax.scatter(cols["z_spec"][sel], colour[sel], s=1, c=c, alpha=0.3, lw=0,
                           rasterized=True)
            ax.set_ylim(*np.nanpercentile(colour[ok], [0.5, 99.5]))
            ax.set_xlabel("z_spec", fontsize=8)
            ax.set_ylabel(f"{a} - {b}", fontsize=8)
            ax.set_title(name, fontsize=8)
            ax.tick_params(labelsize=7)
    fig.tight_layout()
    _save_small_png(fig, path)
    plt.close(fig)


def _fraction_text(name, mag):
    lines = []
    for lo, hi, frac in _PAPER_FRACTIONS[name]:
        sel = np.ones(mag.size, bool)
        sel &= True if lo is None else mag > lo
        sel &= True if hi is None else mag <= hi
        label = f"{'' if lo is None else lo}<m<={'' if hi is None else hi}"
        lines.append(f"{label}: sim {sel.mean():.2f}, paper {frac:.2f}")
    return "\n".join(lines)


def distributions(catalogues: dict, path: str) -> None:
    """Histograms of the selection magnitude and z_spec, with the paper's fractions."""
    plt = _plt()
    fig, axes = plt.subplots(len(catalogues), 2, figsize=(8, 2.2 * len(catalogues)))
    for row, (name, cols) in enumerate(catalogues.items()):
        preset = get_survey(name)
        mag, z = cols["selection_mag"], cols["z_spec"]
        band = preset.selection_filter.split("-")[-1]
        axes[row, 0].hist(mag, bins=40, color="0.4")
        axes[row, 0].set_xlabel(f"{band} ({preset.selection_filter}, dereddened)", fontsize=8)
        axes[row, 0].text(0.02, 0.95, _fraction_text(name, mag), fontsize=6, va="top",
                          transform=axes[row, 0].transAxes)
        axes[row, 1].hist(z, bins=60, color="0.4")
        axes[row, 1].set_yscale("log")
        axes[row, 1].set_xlabel("z_spec", fontsize=8)
        axes[row, 1].text(0.55, 0.95, f"median z {np.median(z):.2f}\nz>2: {np.mean(z > 2):.3f}"
                          f"\nmax z {z.max():.2f}", fontsize=6, va="top",
                          transform=axes[row, 1].transAxes)
        for ax in axes[row]:
            ax.set_title(name, fontsize=8)
            ax.tick_params(labelsize=7)
    fig.tight_layout()
    _save_small_png(fig, path)
    plt.close(fig)


def _rgb(image, bands, names="irg"):
    rgb = np.stack([image[..., bands.index(b)] for b in names], axis=-1)
    sigma = 1.4826 * np.median(np.abs(rgb - np.median(rgb, (0, 1))), (0, 1))
    scaled = np.arcsinh(rgb / (3 * sigma))
    return np.clip(scaled / np.percentile(scaled, 99.5), 0, 1)


def stamps(path: str, per_survey: int = 6, seed: int = 11) -> None:
    """gri-composite example stamps (asinh stretch) of each preset."""
    plt = _plt()
    fig, axes = plt.subplots(len(PRESETS), per_survey, figsize=(1.6 * per_survey, 6.8))
    for row, name in enumerate(PRESETS):
        sample = simulate(name, per_survey, seed, n_workers=1)
        for j, ax in enumerate(axes[row]):
            ax.imshow(_rgb(sample.images[j], sample.bands), origin="lower")
            ax.set_axis_off()
            ax.set_title(f"{name} z={sample.z_spec[j]:.2f} i={sample.mags['i'][j]:.1f}",
                         fontsize=6)
    fig.tight_layout()
    _save_small_png(fig, path)
    plt.close(fig)


def main(argv=None) -> None:
    """Writes the three figures under ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/figures")
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    catalogues = {name: build_scenes(SURVEYS[name], args.n, args.seed, 64)[1]
                  for name in PRESETS}
    colours_vs_redshift(catalogues, os.path.join(args.out, "colours_vs_redshift.png"))
    distributions(catalogues, os.path.join(args.out, "distributions.png"))
    stamps(os.path.join(args.out, "stamps.png"))


if __name__ == "__main__":
    main()
