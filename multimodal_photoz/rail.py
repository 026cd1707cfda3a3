"""LSST DESC RAIL stages around a photoz run (the ``rail`` extra: ``pz-rail-base``, ``qp-prob``).

``MultimodalInformer`` (a ``CatInformer``) trains a run on a table of images
and redshifts; its model is ``{"workdir": <the run's folder>}``, pickled by RAIL.
``MultimodalEstimator`` (a ``CatEstimator``) predicts a table of images with
every member of that run and returns our PDFs as a ``qp`` histogram ensemble
(``predictions.to_qp``), the same numbers ``photoz predict`` writes.

A table is a mapping of columns (``keys()`` and ``[name]``: a dict of numpy arrays):

  images     (N, S, S, C) float32, fluxes on the run's scale, bands in ``bands`` order
  ebv        (N,) Galactic E(B-V), mag (an input of the network)
  redshift   (N,) spectroscopic z: required to train (a table without is refused);
             not read to estimate (the chunks are written as unlabelled data sets)
  object_id  (N,) optional unique ids (default: the row numbers)

The column names are stage options (``image_col``, ``ebv_col``, ``redshift_col``,
``id_col``). Each stage writes the table as a data set (``data.write_dataset``):
the informer beside the run (``dataset``), the estimator one chunk at a time in
a temporary folder that it removes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np
from ceci.config import StageParameter as Param
from rail.core.common_params import SharedParams
from rail.estimation.estimator import CatEstimator
from rail.estimation.informer import CatInformer

from multimodal_photoz import predictions
from multimodal_photoz.config import data_changes, data_fingerprint
from multimodal_photoz.data import open_dataset, write_dataset
from multimodal_photoz.ensemble import train_and_evaluate
from multimodal_photoz.predict import predict_with_run
from multimodal_photoz.run_cli import build_run_config


def table_options() -> dict[str, Param]:
    """Options of both stages: the table's columns, the data set's flux and pixel scale."""
    return dict(
        bands=Param(str, None, msg="bands of the image channels in wavelength order, e.g. 'griz'"),
        image_col=Param(str, "images", msg="column of (N, S, S, C) float32 images"),
        ebv_col=Param(str, "ebv", msg="column of Galactic E(B-V), mag"),
        mag_cols=Param(dict, {}, msg="band -> column of AB magnitudes copied into the data set, "
                                     "e.g. {'i': 'mag_i_lsst'} (needed by evaluation.mag_limit)"),
        id_col=SharedParams.copy_param("id_col"),
        redshift_col=SharedParams.copy_param("redshift_col"),
        zeropoint_ab=Param(float, None, required=False,
                           msg="AB zeropoint of the image fluxes (the run refuses another)"),
        pixel_scale_arcsec=Param(float, None, required=False,
                                 msg="pixel scale of the images, arcsec (the run refuses another)"),
    )


def _column(table: Mapping, name: str, what: str) -> np.ndarray:
    if name not in table.keys():
        raise ValueError(f"the input table has no column '{name}' ({what}); its columns: "
                       f"{', '.join(map(str, table.keys()))}")
    return np.asarray(table[name])


def write_table(table: Mapping, path: str, config: Mapping[str, Any], first_row: int = 0,
                labelled: bool = True) -> str:
    """Writes a RAIL table as a data set at ``path``; returns ``path``.

    Args:
      table: the columns named by ``config`` (``table_options``).
      first_row: the row number of the table's first object in the whole input
        (ids are row numbers where the table has no ``id_col``).
      labelled: the redshift column is required (training) and must hold redshifts;
        else it is not read and the data set is unlabelled (z_spec NaN: prediction).
    Raises:
      ValueError: a labelled table without redshifts (names ``path``), a missing
        column, or a bad object (``write_dataset``).
    """
    images = _column(table, config["image_col"], "images (N, S, S, C)").astype(np.float32)
    n = len(images)
    if config["id_col"] in table.keys():
        ids = np.asarray(table[config["id_col"]])
    else:
        ids = np.arange(first_row, first_row + n, dtype=np.int64)
    z_spec = _redshifts(table, config["redshift_col"], path) if labelled else np.full(n, np.nan)
    metadata = {key: config[key] for key in ("zeropoint_ab", "pixel_scale_arcsec")
                if config[key] is not None}
    mags = {band: _column(table, col, f"{band} magnitudes").astype(np.float32)
            for band, col in config["mag_cols"].items()}
    return str(write_dataset(path, images=images, z_spec=z_spec.astype(np.float32),
                             ebv=_column(table, config["ebv_col"], "E(B-V)").astype(np.float32),
                             ids=ids, bands=config["bands"], mags=mags, name="rail",
                             metadata=metadata, labelled=labelled))


def _redshifts(table: Mapping, name: str, path: str) -> np.ndarray:
    """(N,) redshifts of a training table; one with none (no column ``name``, or NaN
    in every row) is refused, naming the data set it was to be written as."""
    if name not in table.keys() or not np.isfinite(np.asarray(table[name], np.float64)).any():
        raise ValueError(f"{path}: the input table has no spectroscopic redshifts (column "
                         f"'{name}' absent or NaN in every row): a data set to train on needs "
                         "them; predict such objects with MultimodalEstimator")
    return np.asarray(table[name])


def _table(stage, tag: str = "input") -> Mapping:
    data = stage.get_data(tag)
    group = stage.config.hdf5_groupname
    return data[group] if group else data


class MultimodalInformer(CatInformer):
    """Trains (or resumes) a run on a table; the model is ``{"workdir": path}``.

    Options beyond ``table_options``: ``workdir`` (the run's folder), ``dataset``
    (where the table is written as a data set; default ``<workdir>.data``) and
    ``settings`` (the run configuration as dotted keys, as ``photoz train --set``:
    ``{"model.width": 0.125, "train.n_steps": 4}``). Set ``hdf5_groupname`` to ""
    for a table that is not inside a group.
    """

    name = "MultimodalInformer"
    config_options = CatInformer.config_options.copy()
    config_options.update(
        table_options(),
        workdir=Param(str, None, msg="the run's folder (trained, or resumed if it exists)"),
        dataset=Param(str, "", msg="where the table is written as a data set "
                                   "(default: <workdir>.data)"),
        settings=Param(dict, {}, msg="run settings as dotted keys, e.g. {'train.n_steps': 4}"),
    )

    def run(self) -> None:
        workdir = os.path.abspath(self.config.workdir)
        dataset = self.config.dataset or workdir.rstrip(os.sep) + ".data"
        self._write_training_set(_table(self), dataset)
        train_and_evaluate(build_run_config(dict(self.config.settings), dataset), workdir)
        self.model = {"workdir": workdir}
        self.add_data("model", self.model)

    def _write_training_set(self, table: Mapping, dataset: str) -> None:
        """Writes the table at ``dataset``; a data set already there is kept when it
        holds the same objects (a second ``inform`` resumes the run), else refused."""
        if not os.path.exists(dataset):
            write_table(table, dataset, self.config)
            return
        with tempfile.TemporaryDirectory(prefix="photoz_rail_") as tmp:
            fresh = open_dataset(write_table(table, os.path.join(tmp, "data"), self.config))
            changed = data_changes(data_fingerprint(open_dataset(dataset)),
                                   data_fingerprint(fresh))
        if changed:
            raise ValueError(f"{dataset}: holds another training set than the input table "
                             f"(changed: {'; '.join(changed)}); give another dataset and "
                             "workdir, or remove both")


class MultimodalEstimator(CatEstimator):
    """PDFs of a table's objects by every member of the informer's run, as a
    ``qp`` histogram ensemble (``predictions.to_qp``: ancil ``zmode``, ``zmean``,
    ``zmedian``, ``id``), one chunk of ``chunk_size`` rows at a time. Set
    ``hdf5_groupname`` to "" for a table that is not inside a group.
    """

    name = "MultimodalEstimator"
    config_options = CatEstimator.config_options.copy()
    config_options.update(table_options())

    def open_model(self, **kwargs: Any) -> Any:
        model = super().open_model(**kwargs)
        if not (isinstance(model, Mapping) and "workdir" in model):
            raise ValueError(f"{self.name}: the model must be MultimodalInformer's "
                             f"{{'workdir': path}}, got {type(model).__name__}")
        return model

    def estimate(self, input_data: Any, **kwargs: Any) -> Any:
        """The ``QPHandle`` of the PDFs of ``input_data``: a table (or its handle or
        file), or the path of a data set (a folder: predicted whole, no copy)."""
        if isinstance(input_data, (str, os.PathLike)) and os.path.isdir(input_data):
            return self._estimate_dataset(os.fspath(input_data))
        return super().estimate(input_data, **kwargs)

    def _estimate_dataset(self, dataset: str) -> Any:
        self.open_model(**self.config)
        ensemble = _predict(self.model["workdir"], dataset)
        self._input_length = ensemble.npdf
        self._initialize_run()
        self._do_chunk_output(ensemble, 0, ensemble.npdf, True)
        self._finalize_run()
        self.finalize()
        handle = self.get_handle("output")
        if self.config.output_mode != "return":
            handle.read(force=True)
        return handle

    def _process_chunk(self, start: int, end: int, data: Mapping, first: bool) -> None:
        with tempfile.TemporaryDirectory(prefix="photoz_rail_") as tmp:
            dataset = write_table(data, os.path.join(tmp, "data"), self.config, start,
                                  labelled=False)
            ensemble = _predict(self.model["workdir"], dataset)
        self._do_chunk_output(ensemble, start, end, first, data=data)


def _predict(workdir: str, dataset: str) -> Any:
    """The qp ensemble of ``photoz predict --run workdir --data dataset``."""
    with tempfile.TemporaryDirectory(prefix="photoz_rail_") as tmp:
        out = os.path.join(tmp, "predictions.h5")
        predict_with_run(workdir, dataset, out)
        return predictions.to_qp(out)
