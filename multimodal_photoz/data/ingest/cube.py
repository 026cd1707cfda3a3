"""Reader of an image cube: images, z_spec, E(B-V) and ids in one .npz or HDF5 file."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from multimodal_photoz.bands import parse_bands
from multimodal_photoz.data.ingest.columns import Chunk, RawColumns

LAYOUTS = ("NCHW", "NHWC")


class CubeInput:
    """Images (N, C, H, W) or (N, H, W, C) with z, E(B-V) and ids in one .npz / HDF5 file.

    Args:
      path: ``.npz`` or ``.h5`` / ``.hdf5`` file.
      bands: band names of the channels, in the file's channel order.
      layout: 'NCHW' or 'NHWC'; None infers it from the number of bands.
      images_key, z_key, ebv_key, id_key: array names in the file. Arrays
        named ``mag_<band>`` are taken as AB magnitudes.
    """

    # Keyword arguments that ``photoz ingest`` options of the same names set.
    OPTIONS = ("layout", "images_key", "z_key", "ebv_key", "id_key")

    def __init__(self, path, *, bands, layout: str | None = None, images_key: str = "images",
                 z_key: str = "z_spec", ebv_key: str = "ebv", id_key: str = "id"):
        self.path = Path(path)
        self.source = str(path)
        self.bands = parse_bands(bands)
        self._file = _open_cube(self.path)
        self._keys = {"image": images_key, "z_spec": z_key, "ebv": ebv_key, "id": id_key}
        self._images = self._array("image")
        self.layout = _resolve_layout(self.source, self._images.shape, len(self.bands), layout)
        self.n = self._images.shape[0]

    def _array(self, field: str):
        key = self._keys[field]
        if key not in self._file:
            raise ValueError(f"{self.source}: no array {key!r} for field '{field}' (arrays: "
                             f"{', '.join(sorted(_cube_keys(self._file)))}); name it with "
                             f"--{'images' if field == 'image' else field.split('_')[0]}-key")
        return self._file[key]

    def columns(self) -> RawColumns:
        """ids, z_spec, ebv (and mag_<band> arrays present in the file), (N,) each."""
        values = {f: np.asarray(self._array(f)[()]) for f in ("z_spec", "ebv", "id")}
        values.update({f"mag_{b}": np.asarray(self._file[f"mag_{b}"][()]) for b in self.bands
                       if f"mag_{b}" in self._file})
        for field, v in values.items():
            if v.shape != (self.n,):
                raise ValueError(f"{self.source}: field '{field}' has shape {v.shape}; expected "
                                 f"({self.n},), one value per image")
        mags = {k[4:]: v for k, v in values.items() if k.startswith("mag_")}
        return RawColumns(values["id"], values["z_spec"], values["ebv"], mags)

    def chunks(self, batch_size: int, ids: np.ndarray) -> Iterator[Chunk]:
        """Reads ``batch_size`` images at a time, as (H, W, C) (every object: ``ids`` unused)."""
        for lo in range(0, self.n, batch_size):
            hi = min(lo + batch_size, self.n)
            block = np.asarray(self._images[lo:hi], np.float32)
            if self.layout == "NCHW":
                block = block.transpose(0, 2, 3, 1)
            yield Chunk(np.arange(lo, hi), list(block),
                        np.ones((hi - lo, len(self.bands)), bool), [])

    def close(self) -> None:
        self._file.close()


def _open_cube(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"{path}: cube file not found")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return np.load(path, allow_pickle=False)
    if suffix in (".h5", ".hdf5", ".hdf"):
        import h5py

        return h5py.File(path, "r")
    raise ValueError(f"{path}: cube files must be .npz or .h5/.hdf5, not {suffix!r}")


def _cube_keys(file) -> list[str]:
    if hasattr(file, "files"):
        return list(file.files)
    names: list[str] = []
    file.visit(names.append)
    return names


def _resolve_layout(source: str, shape: Sequence[int], n_bands: int, layout: str | None) -> str:
    """The cube's layout, given or inferred from where the channel axis is."""
    if len(shape) != 4:
        raise ValueError(f"{source}: field 'image' has shape {tuple(shape)}; expected 4 axes "
                         "(N, C, H, W) or (N, H, W, C)")
    if layout is not None:
        layout = layout.upper()
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        channels = shape[1] if layout == "NCHW" else shape[3]
        if channels != n_bands:
            raise ValueError(f"{source}: field 'image' has shape {tuple(shape)}, {channels} "
                             f"channels with layout {layout}, but --bands names {n_bands} bands")
        return layout
    fits = [lay for lay, c in (("NCHW", shape[1]), ("NHWC", shape[3])) if c == n_bands]
    if len(fits) != 1:
        raise ValueError(f"{source}: cannot tell the layout of images of shape {tuple(shape)} "
                         f"for {n_bands} bands; pass --layout NCHW or NHWC")
    return fits[0]
