"""Reader of a catalogue (FITS table or CSV) with per-object FITS cutouts."""

from __future__ import annotations

import os
import string
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from multimodal_photoz.bands import EFFECTIVE_WAVELENGTH_NM, parse_bands
from multimodal_photoz.data.format import ids as id_kinds
from multimodal_photoz.data.format.checks import Problem
from multimodal_photoz.data.ingest.columns import Chunk, RawColumns



def _file_name_part(obj_id: int | str) -> bool:
    """Whether an id can stand for ``{id}`` in a file name without leaving its
    folder: no path separator, and not '.' or '..' (string ids are the survey's text)."""
    text = str(obj_id)
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return text not in (".", "..") and not any(sep in text for sep in separators)

class CatalogueInput:
    """A FITS or CSV catalogue with per-object FITS cutouts.

    Args:
      path: catalogue file (``.fits``/``.fit``/``.fits.gz`` or ``.csv``).
      cutouts: path pattern with ``{id}`` (or ``{row}``) and, unless ``mef``,
        ``{band}``: ``cutouts/{id}_{band}.fits``. ``{id}`` is the id's text: its
        decimal digits, or a string id exactly as in the catalogue. Relative
        patterns are relative to the current directory.
      bands: bands to read, in any order.
      mef: one multi-extension FITS file per object: image extensions whose
        EXTNAMEs are band letters are matched by name; otherwise the image
        extensions, in file order, are the bands in ``bands`` order.
      id_col, z_col, ebv_col: column names (matched case-insensitively if not exact).
      mag_cols: band -> column of AB magnitudes, or text ``band=column,...``;
        default: ``mag_<band>`` columns.
      labelled: False: the catalogue has no redshifts (or they are not wanted): the
        z column is not read and need not exist (``RawColumns.z_spec`` is None).
    """

    # Keyword arguments that ``photoz ingest`` options of the same names set.
    OPTIONS = ("cutouts", "mef", "id_col", "z_col", "ebv_col", "mag_cols")

    def __init__(self, path, cutouts: str | None = None, *, bands, mef: bool = False,
                 id_col: str = "id", z_col: str = "z_spec", ebv_col: str = "ebv",
                 mag_cols: Mapping[str, str] | str | None = None, labelled: bool = True):
        self.path = Path(path)
        self.source = str(path)
        self.bands = parse_bands(bands)
        self.mef = mef
        self.labelled = bool(labelled)
        self.pattern = _check_pattern(cutouts, mef)
        self.inputs = (self.path, _pattern_directory(self.pattern))
        self.table = _read_table(self.path, id_col)
        self._cols = {"id": self._column(id_col, "id"), "ebv": self._column(ebv_col, "ebv")}
        if self.labelled:
            self._cols["z_spec"] = self._column(z_col, "z")
        names = {c.lower(): c for c in self.table.colnames}
        mag_cols = _band_columns(mag_cols)
        if mag_cols is None:
            mag_cols = {b: names[f"mag_{b}"] for b in self.bands if f"mag_{b}" in names}
        self._mag_cols = {parse_bands(b)[0]: self._column(c, "mag") for b, c in mag_cols.items()}
        self.n = len(self.table)

    def _column(self, name: str, option: str) -> str:
        if name in self.table.colnames:
            return name
        matches = [c for c in self.table.colnames if c.lower() == name.lower()]
        if len(matches) == 1:
            return matches[0]
        hint = (", or pass --no-redshift for data without spectroscopic redshifts"
                if option == "z" else "")
        raise ValueError(f"{self.source}: no column {name!r} (columns: "
                         f"{', '.join(self.table.colnames)}); name it with --{option}-col"
                         + ("s" if option == "mag" else "") + hint)

    def columns(self) -> RawColumns:
        """ids, z_spec (None unless ``labelled``), ebv and magnitude columns as read,
        (N,) each."""
        t = self.table
        z_spec = t[self._cols["z_spec"]] if self.labelled else None
        return RawColumns(t[self._cols["id"]], z_spec, t[self._cols["ebv"]],
                          {b: t[c] for b, c in self._mag_cols.items()})

    def chunks(self, batch_size: int, ids: np.ndarray) -> Iterator[Chunk]:
        """Reads the cutouts of ``batch_size`` objects at a time.

        Args:
          ids: (N,) parsed ids, int64 or numpy unicode, -1 or '' where unusable
            (that object is not read).
        """
        usable = id_kinds.usable(ids)
        for lo in range(0, self.n, batch_size):
            rows = np.arange(lo, min(lo + batch_size, self.n))
            images, present, problems = [], np.zeros((len(rows), len(self.bands)), bool), []
            for k, row in enumerate(rows):
                if not usable[row]:  # no usable id to find its files by
                    images.append(None)
                    continue
                image, present[k], found = self._read_object(
                    int(row), id_kinds.python_value(ids[row]))
                images.append(image)
                problems += found
            yield Chunk(rows, images, present, problems)

    def _read_object(self, row: int, obj_id: int | str
                     ) -> tuple[np.ndarray | None, np.ndarray, list]:
        """(H, W, C) image (or None), (C,) present, problems of one object."""
        if "{id}" in self.pattern and not _file_name_part(obj_id):
            return None, np.zeros(len(self.bands), bool), [Problem(
                row, "id", "bad_id", f"{str(obj_id)!r} cannot be part of a cutout's file name "
                "through {id}: it holds a path separator or is '.' or '..'", obj_id=obj_id)]
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

    def _path(self, row: int, obj_id: int | str, band: str | None) -> Path:
        return Path(self.pattern.format(id=obj_id, row=row, band=band))

    def _read_band_files(self, row: int, obj_id: int | str) -> tuple[dict, list[Problem]]:
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

    def _read_mef(self, row: int, obj_id: int | str) -> tuple[dict, list[Problem]]:
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


def _check_pattern(pattern: str | None, mef: bool) -> str:
    """The cutout path pattern, checked for its placeholders."""
    if not pattern:
        raise ValueError("--catalogue needs --cutouts PATTERN")
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


def _pattern_directory(pattern: str) -> Path:
    """The directory that holds every cutout of ``pattern`` (its part before any ``{``)."""
    return Path(os.path.dirname(pattern.split("{", 1)[0]) or ".")


def _band_columns(mag_cols: Mapping[str, str] | str | None) -> Mapping[str, str] | None:
    """band -> column, from a mapping or from text ``band=column,...`` (None if not given)."""
    if not isinstance(mag_cols, str):
        return mag_cols
    if not mag_cols:
        return None
    pairs = [item.split("=", 1) for item in mag_cols.split(",")]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"--mag-cols {mag_cols!r}: expected band=column,...")
    return dict(pairs)


def _as_text_pattern(name: str) -> str:
    """An fnmatch pattern matching ``name`` in any case (astropy's converter keys)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.lower() != c.upper()
                   else f"[{c}]" if c in "*?[]" else c for c in name)


def _read_table(path: Path, id_col: str = "id"):
    """The catalogue as an astropy Table. A CSV's id column is read as text, so
    that every id reaches ``checks.parse_ids`` exactly as written: astropy's
    Python reader (its fallback whenever the C reader fails, e.g. on non-ASCII
    text) reads '10000_324608_4317' as the integer 100003246084317. Converters
    need that Python reader (about 2.5 s per million rows)."""
    from astropy.io import ascii as astropy_ascii
    from astropy.table import Table

    if not path.is_file():
        raise FileNotFoundError(f"{path}: catalogue file not found")
    name = path.name.lower()
    fmt = ("fits" if name.endswith((".fits", ".fit", ".fits.gz", ".fit.gz"))
           else "ascii.csv" if name.endswith(".csv") else None)
    if fmt is None:
        raise ValueError(f"{path}: catalogues must be FITS tables (.fits) or CSV (.csv)")
    options = ({"converters": {_as_text_pattern(id_col): [astropy_ascii.convert_numpy(str)]}}
               if fmt == "ascii.csv" else {})
    try:
        return Table.read(path, format=fmt, **options)
    except (OSError, ValueError, TypeError, IndexError) as err:  # astropy's, for a bad file
        hint = " (every line of a CSV needs one value per column)" if fmt == "ascii.csv" else ""
        reason = "; ".join(line.strip() for line in str(err).splitlines() if line.strip())
        raise ValueError(f"{path}: cannot be read as a {fmt.split('.')[-1].upper()} "
                         f"catalogue: {reason}{hint}") from err


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
