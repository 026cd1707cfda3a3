"""``predictions.h5``: the redshift PDFs and point estimates of one run.

One row per object (N objects, n_bins redshift bins):

====================  ==============  ===============================================
dataset               shape, dtype    meaning
====================  ==============  ===============================================
``id``                (N,) int64      object id (unique); string ids (``data/format/ids.py``):
                      or (N,) str     fixed-width UTF-8 in the file, numpy unicode when read
``fold``              (N,) int32      cross-validation fold in which it was tested
``pdf``               (N, n_bins) f4  ensemble-mean probability of each bin (rows sum to 1);
                      or f2           float16 when written with ``pdf_dtype="float16"``
``bin_edges``         (n_bins+1,) f8  redshift bin edges, strictly increasing
``z_median``          (N,) float32    median of the PDF (the paper's z_phot)
``z_mean``            (N,) float32    mean of the PDF
``z_mode``            (N,) float32    centre of the most probable bin
``z_regression``      (N,) float32    ensemble mean of the regression head
``z_spec``            (N,) float32    optional: spectroscopic redshift (NaN if unknown)
``mag_i``, ``ebv``    (N,) float32    optional: i magnitude (AB), Galactic E(B-V) (mag)
``bands_missing``     (N,) int8       optional: how many of the model's bands the object
                                      lacks (zero-filled); metrics leave such objects out
====================  ==============  ===============================================

File attributes: ``format_version``, ``config`` (the run configuration as a JSON
string), ``bands`` (e.g. ``"ugrizyjhk"``), ``n_members`` (ensemble size),
``created_utc`` (ISO 8601), ``package_version``.

The point estimates are computed from the float32 PDFs, before a float16 ``pdf``
is rounded. ``PredictionsWriter`` writes a file block by block (catalogue scale);
``write_predictions`` writes one held in memory.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import h5py
import numpy as np

from multimodal_photoz import __version__, files, metrics
from multimodal_photoz.data.format import ids as id_kinds

FORMAT_VERSION = 1
PDF_SUM_TOLERANCE = 1e-3  # softmax outputs in float32 sum to 1 far better than this
POINT_ESTIMATES = {"z_median": metrics.pdf_median, "z_mean": metrics.pdf_mean,
                   "z_mode": metrics.pdf_mode}
REQUIRED = ("id", "fold", "pdf", "bin_edges", "z_median", "z_mean", "z_mode", "z_regression")
# z_knn, z_gbt: the classical photometric baseline (``photometric``), out of fold.
OPTIONAL = ("z_spec", "mag_i", "ebv", "z_knn", "z_gbt")
# "id": int64, or text (numpy unicode in memory, fixed-width UTF-8 in the file): ``ids.as_stored``.
DTYPES = {"id": np.int64, "fold": np.int32, "pdf": np.float32, "bin_edges": np.float64,
          "bands_missing": np.int8,
          **{k: np.float32 for k in ("z_median", "z_mean", "z_mode", "z_regression") + OPTIONAL}}
FINITE = ("z_median", "z_mean", "z_mode", "z_regression")  # and pdf; NaN allowed elsewhere
# How ``pdf`` may be stored; it is read back as float32 either way (``read_predictions``).
PDF_DTYPES = {"float32": np.float32, "float16": np.float16}


class PredictionsError(ValueError):
    """A predictions file or dict is malformed; the message names file and field."""


def _fail(source: str, field: str, message: str) -> None:
    raise PredictionsError(f"{source}: field '{field}': {message}")


def _object(pred: Mapping[str, Any], index: int) -> str:
    return f"object index {index} (id {id_kinds.canonical(pred['id'][index])})"


def _check_shapes(pred: Mapping[str, Any], source: str, required: tuple[str, ...]) -> None:
    for field in required:
        if field not in pred:
            _fail(source, field, "missing dataset")
    ids = np.asarray(pred["id"])
    if ids.ndim != 1 or ids.dtype.kind not in "iuU":
        _fail(source, "id", f"expected a 1-d array of integer or text ids, got {ids.dtype} "
                            f"{ids.shape}")
    if ids.dtype.kind == "U" and not id_kinds.usable(ids).all():
        _fail(source, "id", f"empty id at object index {int(np.argmin(id_kinds.usable(ids)))}")
    n = len(ids)
    pdf = np.asarray(pred["pdf"])
    if pdf.ndim != 2 or pdf.shape[0] != n:
        _fail(source, "pdf", f"expected shape ({n}, n_bins), got {pdf.shape}")
    edges = np.asarray(pred["bin_edges"])
    if edges.shape != (pdf.shape[1] + 1,):
        _fail(source, "bin_edges", f"expected shape ({pdf.shape[1] + 1},) for {pdf.shape[1]} bins, got {edges.shape}")
    for field in REQUIRED[4:] + ("fold", "bands_missing") + OPTIONAL:
        if field in pred and np.shape(pred[field]) != (n,):
            _fail(source, field, f"expected shape ({n},), got {np.shape(pred[field])}")
    if not np.issubdtype(np.asarray(pred["fold"]).dtype, np.integer):
        _fail(source, "fold", f"expected integers, got {np.asarray(pred['fold']).dtype}")


def _check_pdf_rows(pred: Mapping[str, Any], source: str) -> None:
    """Finite, non-negative rows summing to 1, checked in chunks (N x n_bins can be GBs)."""
    pdf = pred["pdf"]
    step = max(1, (1 << 22) // max(pdf.shape[1], 1))
    for start in range(0, len(pdf), step):
        chunk = np.asarray(pdf[start:start + step])
        bad = ~np.isfinite(chunk).all(axis=1) | (chunk < 0).any(axis=1)
        if bad.any():
            _fail(source, "pdf", f"non-finite or negative probability at {_object(pred, start + int(np.argmax(bad)))}")
        sums = chunk.sum(axis=1, dtype=np.float64)
        off = np.abs(sums - 1.0) > PDF_SUM_TOLERANCE
        if off.any():
            i = int(np.argmax(off))
            _fail(source, "pdf", f"{_object(pred, start + i)} sums to {sums[i]:.6f}, "
                                 f"expected 1 within {PDF_SUM_TOLERANCE}")


def _check_values(pred: Mapping[str, Any], source: str) -> None:
    edges = np.asarray(pred["bin_edges"], dtype=np.float64)
    if not np.isfinite(edges).all() or not (np.diff(edges) > 0).all():
        _fail(source, "bin_edges", "edges must be finite and strictly increasing")
    for field in (f for f in FINITE if f in pred):
        bad = ~np.isfinite(np.asarray(pred[field], dtype=np.float64))
        if bad.any():
            _fail(source, field, f"non-finite value at {_object(pred, int(np.argmax(bad)))}")
    _check_pdf_rows(pred, source)
    _check_unique(np.asarray(pred["id"]), source)
    if "z_spec" in pred:
        z = np.nan_to_num(np.asarray(pred["z_spec"], dtype=np.float64), nan=0.0)
        if (z < 0).any():
            _fail(source, "z_spec", f"negative redshift at {_object(pred, int(np.argmax(z < 0)))}")


def validate_predictions(pred: Mapping[str, Any], source: str = "predictions",
                         required: tuple[str, ...] = REQUIRED) -> None:
    """Raise PredictionsError (naming ``source``, the field and the object) if ``pred`` is
    malformed: missing datasets, inconsistent shapes, non-finite values, PDFs that
    are negative or do not sum to 1 within 1e-3, non-increasing bin edges, duplicate ids."""
    _check_shapes(pred, source, required)
    _check_values(pred, source)


def point_estimates(pdf: np.ndarray, bin_edges: np.ndarray) -> dict[str, np.ndarray]:
    """z_median, z_mean, z_mode of histogram PDFs (N, n_bins) as (N,) float32 arrays."""
    return {name: fn(pdf, bin_edges).astype(np.float32) for name, fn in POINT_ESTIMATES.items()}


def _present(fields: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The given fields as arrays, less those that are None and the optional
    columns that are NaN everywhere (unlabelled data: no z_spec column at all)."""
    pred = {k: np.asarray(v) for k, v in fields.items() if v is not None}
    for field in OPTIONAL:
        if field in pred and pred[field].size and np.isnan(pred[field].astype(np.float64)).all():
            del pred[field]
    return pred


def optional_columns(fields: Mapping[str, Any]) -> tuple[str, ...]:
    """The optional per-object datasets a file of ``fields`` holds: those of
    ``OPTIONAL`` and ``bands_missing`` given, less the columns NaN everywhere."""
    return tuple(k for k in _present(fields) if k in OPTIONAL + ("bands_missing",))


def _assemble(pred: Mapping[str, np.ndarray], source: str,
              extra: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Cast dtypes (``extra`` columns to float32), validate, then fill in missing
    point estimates from the (now validated) PDFs."""
    pred = {k: id_kinds.as_stored(v) if k == "id" else
            np.asarray(v).astype(np.float32 if k in extra else DTYPES[k], copy=False)
            for k, v in pred.items()}
    missing = [k for k in POINT_ESTIMATES if k not in pred]
    validate_predictions(pred, source, tuple(k for k in REQUIRED if k not in missing))
    for field in extra:
        if np.shape(pred[field]) != (len(pred["id"]),):
            _fail(source, field, f"expected shape ({len(pred['id'])},), got "
                                 f"{np.shape(pred[field])}")
    if missing:
        estimates = point_estimates(pred["pdf"], pred["bin_edges"])
        pred.update({k: estimates[k] for k in missing})
    return pred


def _attributes(config: Any, bands: Any, n_members: int, attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    out = {
        "format_version": FORMAT_VERSION,
        "config": json.dumps(config if config is not None else {}, sort_keys=True, default=str),
        "bands": "".join(bands) if not isinstance(bands, str) else bands,
        "n_members": int(n_members),
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "package_version": __version__,
    }
    for key, value in (attrs or {}).items():
        out[key] = value if isinstance(value, (str, int, float)) else json.dumps(value, default=str)
    return out


def id_storage_dtype(ids: Any) -> np.dtype:
    """How ``id`` is stored for these (N,) ids: int64, or fixed-width UTF-8 (an
    h5py string dtype) as wide as the longest id's encoding."""
    ids = id_kinds.as_stored(ids)
    if ids.dtype.kind != "U":
        return np.dtype(np.int64)
    return h5py.string_dtype("utf-8", id_kinds.to_utf8(ids).dtype.itemsize)


def _check_unique(ids: np.ndarray, source: str) -> None:
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if dup.size:
        a, b = order[dup[0]], order[dup[0] + 1]
        _fail(source, "id", f"duplicate id {id_kinds.canonical(ids[a])} at object indices "
                            f"{int(a)} and {int(b)}")


class PredictionsWriter:
    """Writes ``predictions.h5`` block of rows by block of rows, so that a file
    larger than memory can be written (``photoz predict`` on a survey catalogue).

    Entering creates every dataset at its full size in a temporary file beside
    ``path``; ``write`` validates one block (every check of
    ``validate_predictions``, within the block) and fills its rows; a clean exit
    checks that each row was written exactly once and that the ids are unique
    over the whole file, sets the attributes and renames the file to ``path``
    (``files.atomic_path``). An exception leaves ``path`` as it was.

    Memory: one block, and at the end the id column (the uniqueness check).

    Args:
      path: output file.
      n_objects: N, the number of rows.
      bin_edges: (n_bins+1,) redshift bin edges.
      columns: the optional per-object datasets of the file (names in ``OPTIONAL``
        and ``bands_missing``); every block gives exactly these.
      id_dtype: ``id_storage_dtype`` of all the ids (int64, or UTF-8 of a width).
      pdf_dtype: how ``pdf`` is stored, a key of ``PDF_DTYPES``; blocks give float32
        PDFs, from which missing point estimates are computed before rounding.
      extra_columns: names of further (N,) float32 datasets outside the format
        (``read_predictions`` ignores them), e.g. a parts file's catalogue columns.
      checksums: put an HDF5 Fletcher-32 checksum on every dataset (a damaged
        file then fails to read instead of giving wrong numbers).
      config, bands, n_members, attrs: the file attributes (``write_predictions``).
    """

    def __init__(self, path: str, *, n_objects: int, bin_edges: Any,
                 columns: tuple[str, ...] = (), id_dtype: Any = np.int64,
                 pdf_dtype: str = "float32", extra_columns: tuple[str, ...] = (),
                 checksums: bool = False, config: Any = None, bands: Any = "",
                 n_members: int = 1, attrs: Mapping[str, Any] | None = None):
        self.path = os.fspath(path)
        self.n_objects = int(n_objects)
        self.bin_edges = np.asarray(bin_edges, DTYPES["bin_edges"])
        edges = self.bin_edges
        if (edges.ndim != 1 or len(edges) < 2 or not np.isfinite(edges).all()
                or not (np.diff(edges) > 0).all()):
            _fail(self.path, "bin_edges", "edges must be finite and strictly increasing")
        unknown = [c for c in columns if c not in OPTIONAL + ("bands_missing",)]
        if unknown:
            raise ValueError(f"{self.path}: unknown optional columns {unknown}")
        if pdf_dtype not in PDF_DTYPES:
            raise ValueError(f"{self.path}: pdf dtype {pdf_dtype!r} is not one of "
                             f"{', '.join(PDF_DTYPES)}")
        self.columns, self.extra_columns = tuple(columns), tuple(extra_columns)
        self.id_dtype, self.pdf_dtype, self.checksums = np.dtype(id_dtype), pdf_dtype, checksums
        self._attrs = (config, bands, n_members, attrs)
        self._blocks: list[tuple[int, int]] = []
        self._file = None

    def _names(self) -> tuple[str, ...]:
        return REQUIRED[:3] + REQUIRED[4:] + self.columns + self.extra_columns

    def __enter__(self) -> PredictionsWriter:
        self._context = self._opened()
        return self._context.__enter__()

    def __exit__(self, *exc) -> bool | None:
        return self._context.__exit__(*exc)

    @contextlib.contextmanager
    def _opened(self) -> Iterator[PredictionsWriter]:
        with files.atomic_path(self.path) as tmp, h5py.File(tmp, "w") as f:
            self._file = f
            try:
                self._create(f)
                yield self
                self._finish(f)
            finally:
                self._file = None

    def _create(self, f: h5py.File) -> None:
        n, n_bins = self.n_objects, len(self.bin_edges) - 1
        check = {"fletcher32": True, "chunks": True} if self.checksums else {}
        # the bulk of the file: compressed, one chunk ~ 1 MB of float32
        rows = max(1, min(n, (1 << 18) // max(n_bins, 1)))
        f.create_dataset("pdf", shape=(n, n_bins), dtype=PDF_DTYPES[self.pdf_dtype],
                         chunks=(rows, n_bins), compression="gzip", compression_opts=4,
                         shuffle=True, fletcher32=self.checksums)
        f.create_dataset("bin_edges", data=self.bin_edges, **check)
        f.create_dataset("id", shape=(n,), dtype=self.id_dtype, **check)
        for name in self._names():
            if name not in ("id", "pdf"):
                dtype = np.float32 if name in self.extra_columns else DTYPES[name]
                f.create_dataset(name, shape=(n,), dtype=dtype, **check)

    def write(self, rows: slice, fields: Mapping[str, Any]) -> None:
        """Validates and writes one block of rows.

        Args:
          rows: slice(start, stop) of [0, N), not written before.
          fields: ``id`` (n,), ``fold`` (n,), ``pdf`` (n, n_bins) float32 rows summing
            to 1, ``z_regression`` (n,), the writer's ``columns`` and ``extra_columns``
            (n,), and optionally ``z_median``, ``z_mean``, ``z_mode`` (n,) (computed
            from the PDFs when absent); n = stop - start.
        Raises:
          PredictionsError: a field is missing, unexpected or invalid (the message
            names the file, the rows, the field and the object).
        """
        if self._file is None:
            raise RuntimeError("PredictionsWriter.write outside its with-block")
        start, stop, _ = rows.indices(self.n_objects)
        source = self.path if (start, stop) == (0, self.n_objects) else \
            f"{self.path} (rows {start} to {stop - 1})"
        names = set(self._names()) - set(POINT_ESTIMATES)
        given = {k for k, v in fields.items() if v is not None} - {"bin_edges"}
        for field in sorted(names ^ (given - set(POINT_ESTIMATES))):
            _fail(source, field, "missing dataset" if field in names else
                  "not a dataset of this file (declare it in columns)")
        pred = _assemble({**{k: fields[k] for k in given}, "bin_edges": self.bin_edges},
                         source, self.extra_columns)
        if len(pred["id"]) != stop - start:
            _fail(source, "id", f"{len(pred['id'])} objects for {stop - start} rows")
        if any(s < stop and start < e for s, e in self._blocks):
            _fail(source, "id", "rows written before")
        self._store(pred, start, stop)
        self._blocks.append((start, stop))

    def _store(self, pred: Mapping[str, np.ndarray], start: int, stop: int) -> None:
        for name in self._names():
            values = pred[name]
            if name == "id" and values.dtype.kind == "U":
                encoded = id_kinds.to_utf8(values)
                if encoded.dtype.itemsize > self.id_dtype.itemsize:
                    _fail(self.path, "id", f"an id of rows {start} to {stop - 1} is longer "
                                           f"than the declared {self.id_dtype.itemsize} bytes")
                values = encoded.astype(h5py.string_dtype("utf-8", self.id_dtype.itemsize))
            elif name == "pdf":
                values = values.astype(PDF_DTYPES[self.pdf_dtype], copy=False)
            self._file[name][start:stop] = values

    def _finish(self, f: h5py.File) -> None:
        covered = 0
        for start, stop in sorted(self._blocks):
            if start != covered:
                break
            covered = stop
        if covered != self.n_objects:
            _fail(self.path, "id", f"rows {covered} onward were not all written "
                                   f"({self.n_objects} objects declared)")
        if len(self._blocks) > 1:  # one block was checked whole by ``write``
            _check_unique(id_kinds.as_stored(f["id"][()]), self.path)
        f.attrs.update(_attributes(*self._attrs))


def write_predictions(path: str, *, ids: Any, fold: Any, pdf: Any, bin_edges: Any,
                      z_regression: Any, z_spec: Any = None, z_median: Any = None,
                      z_mean: Any = None, z_mode: Any = None, mag_i: Any = None, ebv: Any = None,
                      bands_missing: Any = None, z_knn: Any = None, z_gbt: Any = None,
                      config: Any = None, bands: Any = "", n_members: int = 1,
                      attrs: Mapping[str, Any] | None = None, pdf_dtype: str = "float32") -> str:
    """Validate and write ``predictions.h5`` atomically (temporary file, then os.replace).

    One block of a ``PredictionsWriter``: for files that do not fit in memory,
    use the writer itself.

    Args:
      path: output file.
      ids: (N,) unique object ids, int64 or text (stored as fixed-width UTF-8);
        fold: (N,) int fold of each object.
      pdf: (N, n_bins) bin probabilities (rows sum to 1); bin_edges: (n_bins+1,).
      z_regression: (N,) regression-head estimate.
      z_spec: (N,) or None; an all-NaN column (unlabelled data) is not written.
      z_median, z_mean, z_mode: (N,) or None to compute them from the PDFs.
      mag_i, ebv: optional (N,) i magnitude (AB) and E(B-V) (mag).
      bands_missing: optional (N,) number of the model's bands each object lacks.
      z_knn, z_gbt: optional (N,) out-of-fold estimates of the classical photometric
        baseline (``multimodal_photoz.photometric``) on the same objects.
      config: JSON-able run configuration; bands: band names; n_members: ensemble size.
      attrs: extra file attributes (non-scalars stored as JSON strings).
      pdf_dtype: storage of ``pdf`` (``PDF_DTYPES``: float32, or float16 at half the size).
    Returns:
      ``path``.
    """
    path = os.fspath(path)
    pred = _present(dict(id=ids, fold=fold, pdf=pdf, z_regression=z_regression, z_spec=z_spec,
                         z_median=z_median, z_mean=z_mean, z_mode=z_mode, mag_i=mag_i, ebv=ebv,
                         bands_missing=bands_missing, z_knn=z_knn, z_gbt=z_gbt))
    if "id" in pred and pred["id"].ndim != 1:
        _fail(path, "id", f"expected a 1-d array of integer or text ids, got {pred['id'].dtype} "
                          f"{pred['id'].shape}")
    columns = optional_columns(pred)
    with PredictionsWriter(path, n_objects=len(pred["id"]), bin_edges=bin_edges, columns=columns,
                           id_dtype=_id_dtype_or_int(pred["id"]), pdf_dtype=pdf_dtype,
                           config=config, bands=bands, n_members=n_members,
                           attrs=attrs) as writer:
        writer.write(slice(0, len(pred["id"])), pred)
    return path


def _id_dtype_or_int(ids: np.ndarray) -> np.dtype:
    """``id_storage_dtype``, or int64 for ids the writer's validation will refuse."""
    try:
        return id_storage_dtype(ids)
    except (TypeError, ValueError, UnicodeError):
        return np.dtype(np.int64)


def _decode_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.generic):
        value = value.item()
    return value


def read_predictions(path: str, *, validate: bool = True) -> dict[str, Any]:
    """Read ``predictions.h5`` into a dict of numpy arrays plus ``'attrs'``.

    A ``pdf`` stored as float16 (``--pdf-dtype float16``) is returned as float32,
    each value exactly the stored one (rows are not renormalized: they sum to 1
    within 2**-11 + n_bins * 2**-25, inside ``PDF_SUM_TOLERANCE``).

    Returns:
      {'id' (int64, or numpy unicode for string ids), 'fold', 'pdf' (float32), 'bin_edges',
      'z_median', 'z_mean', 'z_mode', 'z_regression', and 'z_spec' / 'mag_i' / 'ebv' / 'bands_missing' when present,
      'attrs': {'config': dict, 'bands': str, 'n_members': int, 'created_utc': str, ...}}.
    Raises:
      FileNotFoundError; PredictionsError when the file is not HDF5 (truncated,
      empty, another format) or holds none of the required datasets, and (unless
      ``validate=False``) naming the file and the field (see ``validate_predictions``).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such predictions file")
    try:
        with h5py.File(path, "r") as f:
            pred: dict[str, Any] = {name: f[name][()] for name in f.keys() if name in DTYPES}
            attrs = {k: _decode_attr(v) for k, v in f.attrs.items()}
    except OSError as err:  # h5py's message does not name the file
        raise PredictionsError(f"{path}: not a predictions file (not readable as HDF5: "
                               f"{err}); give a predictions .h5 written by photoz") from err
    if "pdf" in pred:  # float16 storage is widened exactly; rows are not renormalized
        pred["pdf"] = pred["pdf"].astype(np.float32, copy=False)
    if "id" in pred and pred["id"].dtype.kind in "SO":  # string ids: UTF-8 bytes -> unicode
        try:
            pred["id"] = id_kinds.as_stored(pred["id"])
        except UnicodeDecodeError as err:
            raise PredictionsError(f"{path}: field 'id': text ids that are not UTF-8 "
                                   f"({err})") from err
    if not any(name in pred for name in REQUIRED):  # another HDF5 file altogether
        raise PredictionsError(f"{path}: not a predictions file (none of the datasets "
                               f"{', '.join(REQUIRED)}); give a predictions .h5 written by photoz")
    if "config" in attrs:
        try:
            attrs["config"] = json.loads(attrs["config"])
        except json.JSONDecodeError as err:
            raise PredictionsError(f"{path}: attribute 'config': not valid JSON ({err})") from err
    if validate:
        validate_predictions(pred, source=path)
    pred["attrs"] = attrs
    return pred


def to_qp(path: str) -> Any:
    """Read ``predictions.h5`` as a ``qp`` histogram ensemble (LSST DESC RAIL convention).

    ``qp`` (PyPI ``qp-prob``) is not a dependency of this package; this is what the
    function does, three lines to use anywhere::

        p = read_predictions("predictions.h5")
        ens = qp.Ensemble(qp.hist, data=dict(bins=p["bin_edges"], pdfs=p["pdf"] / np.diff(p["bin_edges"])))
        ens.set_ancil(dict(zmode=p["z_mode"], zmean=p["z_mean"], zmedian=p["z_median"], id=p["id"]))

    ``qp.hist`` takes probability *densities* per bin (it renormalizes them to unit
    integral), hence the division by the bin widths. The ancillary arrays follow
    RAIL's names for point estimates (``zmode``, ``zmean``, ``zmedian``); ``id`` is
    int64, or numpy unicode for string ids.
    """
    try:
        import qp  # noqa: PLC0415  (optional, heavy)
    except ImportError as err:
        raise ImportError("to_qp needs the optional package 'qp-prob': pip install -e '.[rail]' "
                          "in the project (docs/rail.md)") from err
    p = read_predictions(path)
    ens = qp.Ensemble(qp.hist, data=dict(bins=p["bin_edges"], pdfs=p["pdf"] / np.diff(p["bin_edges"])))
    ens.set_ancil(dict(zmode=p["z_mode"], zmean=p["z_mean"], zmedian=p["z_median"], id=p["id"]))
    return ens
