"""Reader of an image cube: images, z_spec, E(B-V) and ids in one .npz or HDF5 file
(without z_spec for a reader made with ``labelled=False``)."""

from __future__ import annotations

import contextlib
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from multimodal_photoz.bands import parse_bands
from multimodal_photoz.data.ingest.columns import Chunk, RawColumns

LAYOUTS = ("NCHW", "NHWC")
# What numpy and h5py raise for a damaged file (truncated, bad CRC, not what its name says).
_UNREADABLE = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


class CubeInput:
    """Images (N, C, H, W) or (N, H, W, C) with z, E(B-V) and ids in one .npz / HDF5 file.

    Args:
      path: ``.npz`` or ``.h5`` / ``.hdf5`` file.
      bands: band names of the channels, in the file's channel order.
      layout: 'NCHW' or 'NHWC'; None infers it from the number of bands.
      images_key, z_key, ebv_key, id_key: array names in the file. Arrays
        named ``mag_<band>`` are taken as AB magnitudes.
      labelled: False: the file has no redshifts (or they are not wanted): the
        z array is not read and need not exist (``RawColumns.z_spec`` is None).
    """

    # Keyword arguments that ``photoz ingest`` options of the same names set.
    OPTIONS = ("layout", "images_key", "z_key", "ebv_key", "id_key")

    def __init__(self, path, *, bands, layout: str | None = None, images_key: str = "images",
                 z_key: str = "z_spec", ebv_key: str = "ebv", id_key: str = "id",
                 labelled: bool = True):
        self.path = Path(path)
        self.source = str(path)
        self.inputs = (self.path,)
        self.bands = parse_bands(bands)
        self.labelled = bool(labelled)
        self._file = _open_cube(self.path)
        self._keys = {"image": images_key, "z_spec": z_key, "ebv": ebv_key, "id": id_key}
        with self._reading("image") as key:
            self._images = self._file[key]  # .npz: read now; HDF5: read by chunks
        self.layout = _resolve_layout(self.source, self._images.shape, len(self.bands), layout)
        self.n = self._images.shape[0]

    def _key(self, field: str) -> str:
        """The name of the array of ``field`` in the file (it must be there)."""
        key = self._keys.get(field, field)
        if key not in self._file:
            hint = (", or pass --no-redshift for data without spectroscopic redshifts"
                    if field == "z_spec" else "")
            raise ValueError(f"{self.source}: no array {key!r} for field '{field}' (arrays: "
                             f"{', '.join(sorted(_cube_keys(self._file)))}); name it with "
                             f"--{'images' if field == 'image' else field.split('_')[0]}-key"
                             f"{hint}")
        return key

    @contextlib.contextmanager
    def _reading(self, field: str):
        """Gives the array name of ``field``; a damaged array read in the block is a
        ValueError naming the file, the array and the field."""
        key = self._key(field)
        try:
            yield key
        except _UNREADABLE as err:
            what = ("holds Python objects (dtype=object), which are not read; save it as "
                    "numbers" if "allow_pickle" in str(err) else
                    f"cannot be read ({type(err).__name__}: {err}); is the file complete?")
            raise ValueError(f"{self.source}: array {key!r} (field '{field}') {what}") from err

    def columns(self) -> RawColumns:
        """ids, z_spec (None unless ``labelled``), ebv and the mag_<band> arrays present
        in the file, (N,) each."""
        fields = ((["z_spec"] if self.labelled else []) + ["ebv", "id"]
                  + [f"mag_{b}" for b in self.bands if f"mag_{b}" in self._file])
        values = {}
        for field in fields:
            with self._reading(field) as key:
                values[field] = np.asarray(self._file[key][()])
        for field, v in values.items():
            if v.shape != (self.n,):
                raise ValueError(f"{self.source}: field '{field}' has shape {v.shape}; expected "
                                 f"({self.n},), one value per image")
        mags = {k[4:]: v for k, v in values.items() if k.startswith("mag_")}
        return RawColumns(values["id"], values.get("z_spec"), values["ebv"], mags)

    def chunks(self, batch_size: int, ids: np.ndarray) -> Iterator[Chunk]:
        """Reads ``batch_size`` images at a time, as (H, W, C) (every object: ``ids`` unused)."""
        for lo in range(0, self.n, batch_size):
            hi = min(lo + batch_size, self.n)
            with self._reading("image"):
                block = np.asarray(self._images[lo:hi], np.float32)
            if self.layout == "NCHW":
                block = block.transpose(0, 2, 3, 1)
            yield Chunk(np.arange(lo, hi), list(block),
                        np.ones((hi - lo, len(self.bands)), bool), [])

    def close(self) -> None:
        self._file.close()


def _open_cube(path: Path):
    """The open .npz or HDF5 file; a damaged one is a ValueError naming it."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: cube file not found")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        # np.load takes a file that is not a zip archive for a pickle, and advises unpickling it.
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path}: not a .npz archive (empty, truncated, or not written by "
                             "numpy.savez)")
        try:
            return np.load(path, allow_pickle=False)
        except _UNREADABLE as err:
            raise ValueError(f"{path}: damaged .npz archive ({err})") from err
    if suffix in (".h5", ".hdf5", ".hdf"):
        import h5py

        try:
            return h5py.File(path, "r")
        except OSError as err:
            raise ValueError(f"{path}: not a readable HDF5 file, or an incomplete one "
                             f"({err})") from err
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
    if not fits:
        (small, lay), (big, other) = sorted([(shape[3], "NHWC"), (shape[1], "NCHW")])
        channels = (f"{small} channels" if small == big else
                    f"{small} channels ({lay} layout), or {big} if it is {other}")
        raise ValueError(f"{source}: --bands names {n_bands} bands, but field 'image' of shape "
                         f"{tuple(shape)} has {channels}; give one band per channel")
    if len(fits) != 1:
        raise ValueError(f"{source}: cannot tell the layout of images of shape {tuple(shape)} "
                         f"for {n_bands} bands; pass --layout NCHW or NHWC")
    return fits[0]
