"""Readers of users' own data: an image cube, or a catalogue with FITS cutouts.

Each reader gives the per-object columns of the whole input at once
(``columns``: ids, z_spec, ebv, magnitudes, with their problems) and the
images in chunks (``chunks``), so that images are never all in memory. Images
come in the input's own band order; ``ingest`` reorders, resizes and checks.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from multimodal_photoz.bands import EFFECTIVE_WAVELENGTH_NM, parse_bands
from multimodal_photoz.data import checks
from multimodal_photoz.data.checks import Problem

LAYOUTS = ("NCHW", "NHWC")


@dataclasses.dataclass
class Columns:
    """Per-object scalars of a whole input, in input row order.

    Attributes:
      rows: (N,) 0-based input rows.
      ids: (N,) int64 (-1 where unusable; see problems).
      raw_ids: (N,) ids as read, for messages and file names.
      z_spec, ebv: (N,) float64, NaN where missing.
      mags: band -> (N,) float64 AB magnitudes, NaN where unknown.
      problems: the problems found in these columns.
    """

    rows: np.ndarray
    ids: np.ndarray
    raw_ids: list
    z_spec: np.ndarray
    ebv: np.ndarray
    mags: dict[str, np.ndarray]
    problems: list[Problem]


@dataclasses.dataclass
class Chunk:
    """Images of consecutive objects, in the input's band order.

    Attributes:
      rows: (B,) input rows.
      images: B arrays (H, W, C) (any H, W), None where nothing could be read.
      present: (B, C) bool, False where a band's cutout is missing.
      problems: problems met while reading (missing or unreadable files, shapes).
    """

    rows: np.ndarray
    images: list[np.ndarray | None]
    present: np.ndarray
    problems: list[Problem]


def _floats(values) -> np.ndarray:
    """A column as float64 with NaN for masked / empty / unparsable entries."""
    if np.ma.isMaskedArray(values):
        values = np.ma.filled(np.ma.asarray(values).astype(np.float64), np.nan)
    try:
        return np.asarray(values, np.float64)
    except (TypeError, ValueError):
        return np.array([_to_float(v) for v in values], np.float64)


def _to_float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _columns(rows, raw_ids, z, ebv, mags) -> Columns:
    """Parses and checks the scalar columns (every problem of the whole input)."""
    ids, problems = checks.parse_ids(raw_ids, rows)
    z, ebv = _floats(z), _floats(ebv)
    mags = {b: _floats(v) for b, v in mags.items()}
    problems += checks.value_problems("z_spec", z, rows)
    problems += checks.value_problems("ebv", ebv, rows)
    problems += checks.magnitude_problems(mags, rows)
    raw = list(np.ma.asarray(raw_ids, dtype=object).filled(None)) if np.ma.isMaskedArray(
        raw_ids) else list(raw_ids)
    raw = [r.decode() if isinstance(r, bytes) else r for r in raw]
    problems = [p if p.obj_id is not None or p.field == "id" else
                dataclasses.replace(p, obj_id=raw[p.row] if ids[p.row] < 0 else int(ids[p.row]))
                for p in problems]
    return Columns(np.asarray(rows), ids, raw, z, ebv, mags, problems)


# -- image cube ----------------------------------------------------------------------
class CubeInput:
    """Images (N, C, H, W) or (N, H, W, C) with z, E(B-V) and ids in one .npz / HDF5 file.

    Args:
      path: ``.npz`` or ``.h5`` / ``.hdf5`` file.
      bands: band names of the channels, in the file's channel order.
      layout: 'NCHW' or 'NHWC'; None infers it from the number of bands.
      images_key, z_key, ebv_key, id_key: array names in the file. Arrays
        named ``mag_<band>`` are taken as AB magnitudes.
    """

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

    def columns(self) -> Columns:
        """ids, z_spec, ebv (and mag_<band> arrays present in the file)."""
        values = {f: np.asarray(self._array(f)[()]) for f in ("z_spec", "ebv", "id")}
        values.update({f"mag_{b}": np.asarray(self._file[f"mag_{b}"][()]) for b in self.bands
                       if f"mag_{b}" in self._file})
        for field, v in values.items():
            if v.shape != (self.n,):
                raise ValueError(f"{self.source}: field '{field}' has shape {v.shape}; expected "
                                 f"({self.n},), one value per image")
        mags = {k[4:]: v for k, v in values.items() if k.startswith("mag_")}
        return _columns(np.arange(self.n), values["id"], values["z_spec"], values["ebv"], mags)

    def chunks(self, batch_size: int) -> Iterator[Chunk]:
        """Reads ``batch_size`` images at a time, as (H, W, C)."""
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


# -- catalogue and FITS cutouts ------------------------------------------------------
class CatalogueInput:
    """A FITS or CSV catalogue with per-object FITS cutouts.

    Args:
      path: catalogue file (``.fits``/``.fit``/``.fits.gz`` or ``.csv``).
      cutouts: path pattern with ``{id}`` (or ``{row}``) and, unless ``mef``,
        ``{band}``: ``cutouts/{id}_{band}.fits``. Relative patterns are relative
        to the current directory.
      bands: bands to read, in any order.
      mef: one multi-extension FITS file per object: image extensions whose
        EXTNAMEs are band letters are matched by name; otherwise the image
        extensions, in file order, are the bands in ``bands`` order.
      id_col, z_col, ebv_col: column names (matched case-insensitively if not exact).
      mag_cols: band -> column of AB magnitudes; default: ``mag_<band>`` columns.
    """

    def __init__(self, path, cutouts: str, *, bands, mef: bool = False, id_col: str = "id",
                 z_col: str = "z_spec", ebv_col: str = "ebv",
                 mag_cols: dict[str, str] | None = None):
        self.path = Path(path)
        self.source = str(path)
        self.bands = parse_bands(bands)
        self.mef = mef
        self.pattern = _check_pattern(cutouts, mef)
        self.table = _read_table(self.path)
        self._cols = {"id": self._column(id_col, "id"), "z_spec": self._column(z_col, "z"),
                      "ebv": self._column(ebv_col, "ebv")}
        names = {c.lower(): c for c in self.table.colnames}
        mag_cols = (mag_cols if mag_cols is not None else
                    {b: names[f"mag_{b}"] for b in self.bands if f"mag_{b}" in names})
        self._mag_cols = {parse_bands(b)[0]: self._column(c, "mag") for b, c in mag_cols.items()}
        self.n = len(self.table)
        self._columns: Columns | None = None

    def _column(self, name: str, option: str) -> str:
        if name in self.table.colnames:
            return name
        matches = [c for c in self.table.colnames if c.lower() == name.lower()]
        if len(matches) == 1:
            return matches[0]
        raise ValueError(f"{self.source}: no column {name!r} (columns: "
                         f"{', '.join(self.table.colnames)}); name it with --{option}-col"
                         + ("s" if option == "mag" else ""))

    def columns(self) -> Columns:
        if self._columns is None:
            t = self.table
            self._columns = _columns(
                np.arange(self.n), t[self._cols["id"]], t[self._cols["z_spec"]],
                t[self._cols["ebv"]], {b: t[c] for b, c in self._mag_cols.items()})
        return self._columns

    def chunks(self, batch_size: int) -> Iterator[Chunk]:
        """Reads the cutouts of ``batch_size`` objects at a time."""
        cols = self.columns()
        bad_id = {p.row for p in cols.problems if p.field == "id"}
        for lo in range(0, self.n, batch_size):
            rows = np.arange(lo, min(lo + batch_size, self.n))
            images, present, problems = [], np.zeros((len(rows), len(self.bands)), bool), []
            for k, row in enumerate(rows):
                if row in bad_id:  # no usable id to find its files by
                    images.append(None)
                    continue
                image, present[k], found = self._read_object(int(row), int(cols.ids[row]))
                images.append(image)
                problems += found
            yield Chunk(rows, images, present, problems)

    def _read_object(self, row: int, obj_id: int) -> tuple[np.ndarray | None, np.ndarray, list]:
        """(H, W, C) image (or None), (C,) present, problems of one object."""
        planes, problems = (self._read_mef(row, obj_id) if self.mef
                            else self._read_band_files(row, obj_id))
        present = np.array([planes.get(b) is not None for b in self.bands])
        if problems and not all(p.kind == "missing_band" for p in problems) or not present.any():
            if not present.any() and not problems:
                problems.append(Problem(row, "image", "missing_band", "has no band image",
                                        obj_id=obj_id))
            return None, present, problems
        shapes = {planes[b].shape for b in self.bands if present[self.bands.index(b)]}
        if len(shapes) > 1:
            sizes = ", ".join(f"{b}: {planes[b].shape[1]}x{planes[b].shape[0]}"
                              for b in self.bands if planes.get(b) is not None)
            return None, present, problems + [Problem(
                row, "image", "wrong_shape", f"has bands of different sizes ({sizes})",
                obj_id=obj_id)]
        (shape,) = shapes
        image = np.zeros(shape + (len(self.bands),), np.float32)
        for c, b in enumerate(self.bands):
            if planes.get(b) is not None:
                image[..., c] = planes[b]
        return image, present, problems

    def _path(self, row: int, obj_id: int, band: str | None) -> Path:
        return Path(self.pattern.format(id=obj_id, row=row, band=band))

    def _read_band_files(self, row: int, obj_id: int) -> tuple[dict, list[Problem]]:
        planes, problems = {}, []
        for band in self.bands:
            path = self._path(row, obj_id, band)
            try:
                planes[band] = _read_fits_plane(path)
            except FileNotFoundError:
                problems.append(Problem(row, "image", "missing_band",
                                        f"band {band}: file {path} not found", obj_id=obj_id))
            except (OSError, ValueError, TypeError) as err:
                problems.append(Problem(row, "image", "unreadable_file",
                                        f"band {band}: cannot be read ({err})", obj_id=obj_id,
                                        file=str(path)))
        return planes, problems

    def _read_mef(self, row: int, obj_id: int) -> tuple[dict, list[Problem]]:
        path = self._path(row, obj_id, None)
        try:
            planes = _read_mef_planes(path, self.bands)
        except FileNotFoundError:
            return {}, [Problem(row, "image", "missing_file", f"file {path} not found",
                                obj_id=obj_id)]
        except (OSError, ValueError, TypeError) as err:
            return {}, [Problem(row, "image", "unreadable_file", f"cannot be read ({err})",
                                obj_id=obj_id, file=str(path))]
        return planes, [Problem(row, "image", "missing_band",
                                f"band {b}: no extension {b.upper()!r} in {path}", obj_id=obj_id)
                        for b in self.bands if b not in planes]

    def close(self) -> None:
        pass


def _check_pattern(pattern: str, mef: bool) -> str:
    """The cutout path pattern, checked for its placeholders."""
    names = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
    unknown = names - {"id", "row", "band"}
    if unknown:
        raise ValueError(f"cutout pattern {pattern!r}: unknown placeholder(s) "
                         f"{sorted(unknown)}; use {{id}}, {{row}} and {{band}}")
    if not names & {"id", "row"}:
        raise ValueError(f"cutout pattern {pattern!r} needs {{id}} or {{row}}")
    if not mef and "band" not in names:
        raise ValueError(f"cutout pattern {pattern!r} needs {{band}} (one file per band), "
                         "or pass --mef for one multi-extension file per object")
    return pattern


def _read_table(path: Path):
    from astropy.table import Table

    if not path.is_file():
        raise FileNotFoundError(f"{path}: catalogue file not found")
    name = path.name.lower()
    fmt = ("fits" if name.endswith((".fits", ".fit", ".fits.gz", ".fit.gz"))
           else "ascii.csv" if name.endswith(".csv") else None)
    if fmt is None:
        raise ValueError(f"{path}: catalogues must be FITS tables (.fits) or CSV (.csv)")
    return Table.read(path, format=fmt)


def _read_fits_plane(path: Path) -> np.ndarray:
    """The first 2-D image of a FITS file (primary HDU or an extension), float32."""
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        for hdu in hdul:
            if hdu.data is not None and hdu.data.ndim == 2 and hdu.is_image:
                return np.asarray(hdu.data, np.float32)
    raise ValueError("no 2-D image in the file")


def _read_mef_planes(path: Path, bands: Sequence[str]) -> dict[str, np.ndarray]:
    """band -> 2-D image of a multi-extension FITS file (by EXTNAME, else by order)."""
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        hdus = [h for h in hdul if h.is_image and h.data is not None and h.data.ndim == 2]
        names = [h.name.strip().lower() for h in hdus]
        named = all(n in EFFECTIVE_WAVELENGTH_NM for n in names) and len(set(names)) == len(names)
        if hdus and named:
            return {n: np.asarray(h.data, np.float32) for n, h in zip(names, hdus) if n in bands}
        if len(hdus) != len(bands):
            raise ValueError(f"{len(hdus)} image extensions (EXTNAMEs {names}) for "
                             f"{len(bands)} bands; name them after the bands or give one per band")
        return {b: np.asarray(h.data, np.float32) for b, h in zip(bands, hdus)}


INPUTS = {"cube": CubeInput, "catalogue": CatalogueInput}
