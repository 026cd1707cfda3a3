"""Settings: the run configuration in the user's words, as dotted keys.

Every field of a ``RunConfig`` section is a key (``train.n_steps``,
``evaluation.mag_limit``, ``model.width``, ...), plus the paper's vocabulary for
the network: ``model.fusion`` (a stage, or ``none`` for the baseline),
``model.modality_size``, ``model.orders``, ``model.include_all`` and
``model.modalities`` (an explicit list such as ``u_g,g_r``), which
``model.make_config`` turns into modalities. A preset or a command line is a
mapping of keys to values that states only what differs from the defaults;
:func:`build` resolves it, with the data set's bands and redshifts, into a
frozen ``RunConfig``.

Two defaults depend on the data set and are written here only: ``model.bands``
(None: all bands of the data set) and the PDF grid (``model.z_max`` None: 1.05
times the largest z_spec rounded up to 0.1; ``model.n_bins`` None: bins of
``DEFAULT_BIN_WIDTH``).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from multimodal_photoz import bands as bands_lib
from multimodal_photoz import losses
from multimodal_photoz.config.run import SECTIONS, RunConfig
from multimodal_photoz.model import ModelConfig, make_config

DEFAULT_BIN_WIDTH = 0.004  # PDF bin width when nothing else says (CFHTLS: 4/1000)
# More PDF bins than this means a wrong z_spec or grid (z = 1e6 would ask for 53 GB).
MAX_N_BINS = 10_000

# The paper's vocabulary, consumed by make_config (its signature holds the defaults).
VOCABULARY = {"modality_size": int, "orders": tuple[int, ...], "include_all": bool,
              "modalities": str | None, "bands": str | None}
_DERIVED = {"z_max": float | None, "n_bins": int | None}  # None: from the data set


def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _model_keys() -> dict[str, Any]:
    hints = {k: v for k, v in _hints(ModelConfig).items() if k not in ("bands", "modalities")}
    return {**hints, **_DERIVED, **VOCABULARY}


def known_keys() -> dict[str, Any]:
    """Every settable key -> its type."""
    keys = {f"model.{k}": t for k, t in _model_keys().items()}
    for section, cls in SECTIONS.items():
        keys.update({f"{section}.{k}": t for k, t in _hints(cls).items()})
    return keys


def defaults() -> dict[str, Any]:
    """Every key's default, read from the dataclasses and ``make_config``."""
    out = {}
    for section, cls in SECTIONS.items():
        out.update({f"{section}.{f.name}": f.default for f in dataclasses.fields(cls)})
    out.update({f"model.{f.name}": f.default for f in dataclasses.fields(ModelConfig)
                if f.name not in ("bands", "modalities")})
    signature = inspect.signature(make_config).parameters
    out.update({f"model.{k}": signature[k].default
                for k in ("modality_size", "orders", "include_all")})
    out.update({"model.modalities": None, "model.bands": None, "model.z_max": None,
                "model.n_bins": None})
    return out


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """``value`` (a Python value or command-line text) as the key's type."""
    args = typing.get_args(hint)
    if type(None) in args:
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        hint = next(a for a in args if a is not type(None))
    origin = typing.get_origin(hint)
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.replace(" ", "").split(",") if v]
        elif isinstance(value, int):
            value = [value]
        try:
            return tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"{key}: expected comma-separated integers, got {value!r}") from None
    if hint is bool:
        if isinstance(value, str):
            if value.lower() in ("true", "1", "yes"):
                return True
            if value.lower() in ("false", "0", "no"):
                return False
        elif isinstance(value, bool):
            return value
        raise ValueError(f"{key}: expected true or false, got {value!r}")
    if hint in (int, float):
        if isinstance(value, bool):
            raise ValueError(f"{key}: expected a number, got {value!r}")
        try:
            number = float(value)
        except (ValueError, TypeError):
            raise ValueError(f"{key}: expected a number, got {value!r}") from None
        if hint is int:
            if not number.is_integer():
                raise ValueError(f"{key}: expected an integer, got {value!r}")
            return int(number)
        if not math.isfinite(number):
            raise ValueError(f"{key}: expected a finite number, got {value!r}")
        return number
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{key}: expected text, got {value!r}")
        return value
    return value


def normalize(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Checks every key and converts every value to its key's type.

    Raises:
      ValueError: an unknown key (with the closest known ones) or a value of the
        wrong type, naming the key.
    """
    keys = known_keys()
    out = {}
    for key, value in settings.items():
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"unknown setting {key!r}{hint} (known: {', '.join(sorted(keys))})")
        out[key] = _coerce(key, value, keys[key])
    return out


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["train.n_steps=2000", ...]`` -> ``{"train.n_steps": "2000", ...}``."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r}: expected KEY=VALUE, e.g. train.n_steps=2000")
        out[key.strip()] = value.strip()
    return out


def merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers win; each layer is normalized first."""
    out: dict[str, Any] = {}
    for layer in layers:
        out.update(normalize(layer))
    return out


def pdf_grid(z_min: float, z_max: float | None, n_bins: int | None, z_spec_max: float,
             data: str = "the data set", z_spec_max_id: int | str | None = None
             ) -> tuple[float, int]:
    """(z_max, n_bins): given values, or the grid that covers the sample.

    Args:
      z_spec_max: the sample's largest z_spec.
      data, z_spec_max_id: the data set and the object of the largest z_spec, in messages.
    Raises:
      ValueError: the grid derived from the sample is empty (every z_spec at or
        below z_min), or it would have more than ``MAX_N_BINS`` bins.
    """
    if z_max is None:
        z_max = math.ceil(10 * 1.05 * z_spec_max) / 10
        if z_max <= z_min:
            every = "0" if z_spec_max == 0 else f"at most {z_spec_max:g}"
            raise ValueError(
                f"{data}: every z_spec is {every}, so the PDF grid derived from the data's "
                f"largest redshift, [{z_min:g}, {z_max:g}], is empty; check the data set's "
                "z_spec column, or give the grid with --z-max")
    if n_bins is None:
        n_bins = round((z_max - z_min) / DEFAULT_BIN_WIDTH)
    if n_bins > MAX_N_BINS:
        largest = f"{z_spec_max:g}" + ("" if z_spec_max_id is None
                                        else f", object id {z_spec_max_id}")
        raise ValueError(
            f"{data}: the PDF grid [{z_min:g}, {z_max:g}] would have {n_bins} bins, more "
            f"than {MAX_N_BINS} (the largest z_spec is {largest}); fix that z_spec, or "
            "give the grid with --z-max and --n-bins")
    return z_max, n_bins


def build(settings: Mapping[str, Any], *, data_bands: Iterable[str],
          z_spec_max: float, z_spec_max_id: int | str | None = None) -> RunConfig:
    """The ``RunConfig`` that ``settings`` describe, on a data set with these bands.

    Args:
      settings: key -> value overrides (unset keys take their defaults).
      data_bands: the data set's bands in wavelength order.
      z_spec_max: the largest spectroscopic redshift of the data set.
      z_spec_max_id: the id of its object, named in messages about the PDF grid.
    Raises:
      ValueError: a bad setting (named), or a PDF grid that is empty or absurdly large.
    """
    s = {**defaults(), **normalize(settings)}
    sections = {}
    for name, cls in SECTIONS.items():
        fields = {f.name: s[f"{name}.{f.name}"] for f in dataclasses.fields(cls)}
        sections[name] = cls(**fields)
    model = {k[len("model."):]: v for k, v in s.items() if k.startswith("model.")}
    bands = bands_lib.parse_bands(model.pop("bands") or tuple(data_bands))
    model["z_max"], model["n_bins"] = pdf_grid(model["z_min"], model["z_max"], model["n_bins"],
                                               z_spec_max, s["data.path"] or "the data set",
                                               z_spec_max_id)
    model_config = make_config(bands, modality_size=model.pop("modality_size"),
                               orders=model.pop("orders"), include_all=model.pop("include_all"),
                               modality_spec=model.pop("modalities"), **model)
    evaluation = sections["evaluation"]
    if evaluation.point_estimate is None:  # recorded, so config.json says what was scored
        sections["evaluation"] = dataclasses.replace(
            evaluation, point_estimate=losses.point_estimate_for(sections["train"].loss))
    return RunConfig(model=model_config, **sections)
