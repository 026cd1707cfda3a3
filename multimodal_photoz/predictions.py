"""``predictions.h5``: the redshift PDFs and point estimates of one run.

One row per object (N objects, n_bins redshift bins):

====================  ==============  ===============================================
dataset               shape, dtype    meaning
====================  ==============  ===============================================
``id``                (N,) int64      object id (unique); string ids (``data/format/ids.py``):
                      or (N,) str     fixed-width UTF-8 in the file, numpy unicode when read
``fold``              (N,) int32      cross-validation fold in which it was tested
``pdf``               (N, n_bins) f4  ensemble-mean probability of each bin (rows sum to 1)
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
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
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
    ids = np.asarray(pred["id"])
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if dup.size:
        a, b = order[dup[0]], order[dup[0] + 1]
        _fail(source, "id", f"duplicate id {id_kinds.canonical(ids[a])} at object indices "
                            f"{int(a)} and {int(b)}")
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


def _assemble(fields: dict[str, Any], source: str) -> dict[str, np.ndarray]:
    """Drop absent/all-NaN optional columns, cast dtypes, validate, then fill in
    missing point estimates from the (now validated) PDFs."""
    pred = {k: np.asarray(v) for k, v in fields.items() if v is not None}
    for field in OPTIONAL:  # unlabelled data: no z_spec column at all
        if field in pred and pred[field].size and np.isnan(pred[field].astype(np.float64)).all():
            del pred[field]
    pred = {k: id_kinds.as_stored(v) if k == "id" else v.astype(DTYPES[k], copy=False)
            for k, v in pred.items()}
    missing = [k for k in POINT_ESTIMATES if k not in pred]
    validate_predictions(pred, source, tuple(k for k in REQUIRED if k not in missing))
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


def write_predictions(path: str, *, ids: Any, fold: Any, pdf: Any, bin_edges: Any,
                      z_regression: Any, z_spec: Any = None, z_median: Any = None,
                      z_mean: Any = None, z_mode: Any = None, mag_i: Any = None, ebv: Any = None,
                      bands_missing: Any = None, z_knn: Any = None, z_gbt: Any = None,
                      config: Any = None, bands: Any = "", n_members: int = 1,
                      attrs: Mapping[str, Any] | None = None) -> str:
    """Validate and write ``predictions.h5`` atomically (temporary file, then os.replace).

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
    Returns:
      ``path``.
    """
    path = os.fspath(path)
    pred = _assemble(dict(id=ids, fold=fold, pdf=pdf, bin_edges=bin_edges, z_regression=z_regression,
                          z_spec=z_spec, z_median=z_median, z_mean=z_mean, z_mode=z_mode,
                          mag_i=mag_i, ebv=ebv, bands_missing=bands_missing, z_knn=z_knn,
                          z_gbt=z_gbt), source=path)
    with files.atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, values in pred.items():
                if name == "pdf":  # the bulk of the file: compress, one chunk ~ 1 MB
                    rows = max(1, min(len(values), (1 << 18) // max(values.shape[1], 1)))
                    f.create_dataset(name, data=values, chunks=(rows, values.shape[1]),
                                     compression="gzip", compression_opts=4, shuffle=True)
                elif name == "id" and values.dtype.kind == "U":
                    encoded = id_kinds.to_utf8(values)
                    f.create_dataset(name, data=encoded.astype(
                        h5py.string_dtype("utf-8", encoded.dtype.itemsize)))
                else:
                    f.create_dataset(name, data=values)
            f.attrs.update(_attributes(config, bands, n_members, attrs))
    return path


def _decode_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.generic):
        value = value.item()
    return value


def read_predictions(path: str, *, validate: bool = True) -> dict[str, Any]:
    """Read ``predictions.h5`` into a dict of numpy arrays plus ``'attrs'``.

    Returns:
      {'id' (int64, or numpy unicode for string ids), 'fold', 'pdf', 'bin_edges',
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
        raise ImportError("to_qp needs the optional package 'qp-prob' (pip install qp-prob)") from err
    p = read_predictions(path)
    ens = qp.Ensemble(qp.hist, data=dict(bins=p["bin_edges"], pdfs=p["pdf"] / np.diff(p["bin_edges"])))
    ens.set_ancil(dict(zmode=p["z_mode"], zmean=p["z_mean"], zmedian=p["z_median"], id=p["id"]))
    return ens
