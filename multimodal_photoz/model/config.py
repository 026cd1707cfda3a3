"""The network's configuration: one frozen dataclass, validated on creation."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from multimodal_photoz import bands as bands_lib
from multimodal_photoz import modalities as modalities_lib

FUSION_STAGES = ("extremely_early", "very_early", "early", "middle", "late")
DTYPES = ("float32", "bfloat16")
BRANCH_CONVS = ("auto", "split", "matmul", "lax")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Configuration of ``PhotoZNet``.

    Attributes:
      bands: input bands in wavelength order, e.g. ``"ugrizyjhk"`` (stored as a tuple).
      modalities: band subsets processed by parallel branches, e.g.
        ``(("u", "g"), ("g", "r"))``; None is the paper's baseline: one modality
        holding all bands, computed by the same code path.
      fusion: the stage after which the branches are fused: ``extremely_early``
        (after the stem), ``very_early`` (1 block), ``early`` (2), ``middle`` (4)
        or ``late`` (6) for the inception backbone; other backbones name their own.
      fusion_type: ``concat`` or ``cross`` (Sect. 4.3).
      backbone: ``inception`` (the paper's), ``cnn5``, ``cnn10`` or ``cnn21`` (Sect. 7.1).
      width: multiplier on every filter count and dense-layer size (1 = paper scale).
      n_bins: number of redshift bins of the PDF.
      z_min, z_max: redshift range covered by the bins.
      modality_dropout: during training, drop 0..k whole modality outputs per
        batch at random (Sect. 7.4); 0 disables it.
      dtype: compute dtype, ``float32`` or ``bfloat16`` (parameters stay float32).
      branch_width: how branch and trunk filters follow the modality size s of
        n bands: ``table_c1`` (branch filters in proportion to s and a common
        trunk of k = 155, which reproduces the paper's Table C.1), ``sqrt``
        (Net_T's trunk, branch filters x sqrt(s/n), parameters x s/n) or
        ``linear`` (Net_T's trunk, branch filters x s/n).
      branch_conv: convolution inside stacked branches: ``split`` (one ordinary
        convolution per branch, ``split_conv``), ``matmul`` (patches times a
        batched matrix), ``lax`` (vmapped, i.e. grouped, convolution) or ``auto``
        (``split`` on CPU, ``lax`` on accelerators). Same parameters and results
        either way (BENCHMARKS.md compares them).
      band_mask_input: append the (C,) band mask (1 = present) to the latent with
        E(B-V), so the head can tell an absent band from a band at its mean
        (BUILD.md, "Which objects are evaluated").
    """

    bands: tuple[str, ...] = tuple("ugrizyjhk")
    modalities: tuple[tuple[str, ...], ...] | None = None
    fusion: str = "early"
    fusion_type: str = "concat"
    backbone: str = "inception"
    width: float = 1.0
    n_bins: int = 400
    z_min: float = 0.0
    z_max: float = 4.0
    modality_dropout: int = 0
    dtype: str = "float32"
    branch_width: str = "table_c1"
    branch_conv: str = "auto"
    band_mask_input: bool = True

    def __post_init__(self):
        names = bands_lib.check_wavelength_order(self.bands)
        object.__setattr__(self, "bands", names)
        if self.modalities is not None:
            mods = tuple(tuple(bands_lib.parse_bands(m)) for m in self.modalities)
            if not mods:
                raise ValueError("modalities is empty; use None for the baseline")
            for m in mods:
                outside = [b for b in m if b not in names]
                if outside:
                    raise ValueError(
                        f"modality {modalities_lib.name(m)!r} uses band(s) {''.join(outside)!r} "
                        f"not among the input bands {''.join(names)!r}")
            if len(set(mods)) != len(mods):
                raise ValueError("a modality appears twice in modalities")
            object.__setattr__(self, "modalities", mods)
        from multimodal_photoz.model.backbones import BACKBONES  # registry, avoids a cycle
        from multimodal_photoz.model.fusion import FUSIONS
        from multimodal_photoz.model.trunk import BRANCH_WIDTHS
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; known: {sorted(BACKBONES)}")
        stages = BACKBONES[self.backbone].fusion_depth
        if self.fusion not in stages:
            raise ValueError(
                f"backbone {self.backbone!r} has no fusion stage {self.fusion!r}; "
                f"its stages are {list(stages)}")
        if self.fusion_type not in FUSIONS:
            raise ValueError(f"unknown fusion_type {self.fusion_type!r}; known: {sorted(FUSIONS)}")
        if self.fusion_type == "cross" and len(self.resolved_modalities()) < 2:
            raise ValueError("cross fusion needs at least two modalities")
        if not self.width > 0:
            raise ValueError(f"width must be positive, got {self.width}")
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be at least 2, got {self.n_bins}")
        if not self.z_max > self.z_min >= 0:
            raise ValueError(f"need 0 <= z_min < z_max, got z_min={self.z_min}, z_max={self.z_max}")
        n_mod = len(self.resolved_modalities())
        if not 0 <= self.modality_dropout < n_mod:
            raise ValueError(
                f"modality_dropout={self.modality_dropout} must be in 0..{n_mod - 1} "
                f"(there are {n_mod} modalities; at least one must remain)")
        if self.branch_width not in BRANCH_WIDTHS:
            raise ValueError(f"unknown branch_width {self.branch_width!r}; "
                             f"known: {sorted(BRANCH_WIDTHS)}")
        if self.branch_conv not in BRANCH_CONVS:
            raise ValueError(f"unknown branch_conv {self.branch_conv!r}; known: {BRANCH_CONVS}")
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}; known: {DTYPES}")

    @property
    def n_bands(self) -> int:
        return len(self.bands)

    @property
    def is_baseline(self) -> bool:
        return self.modalities is None

    def resolved_modalities(self) -> tuple[tuple[str, ...], ...]:
        """The modalities to build: the configured ones, or all bands as one."""
        return self.modalities if self.modalities is not None else (self.bands,)

    def modality_names(self) -> tuple[str, ...]:
        return tuple(modalities_lib.name(m) for m in self.resolved_modalities())

    def bin_edges(self) -> np.ndarray:
        """(n_bins + 1,) float64 redshift bin edges, equally spaced in z."""
        return np.linspace(self.z_min, self.z_max, self.n_bins + 1)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["bands"] = "".join(self.bands)
        d["modalities"] = None if self.modalities is None else list(self.modality_names())
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        if d.get("modalities") is not None:
            d["modalities"] = tuple(tuple(m.split("_")) for m in d["modalities"])
        return cls(**d)


def make_config(bands: str | Sequence[str], *, modality_size: int | None = 2,
                orders: Sequence[int] = (1,), include_all: bool = False,
                modality_spec: str | None = None, **kwargs) -> ModelConfig:
    """Builds a config from the paper's vocabulary.

    ``modality_size=None`` (or ``fusion="none"``) gives the baseline;
    ``modality_spec="u_g,g_r"`` gives an explicit list.
    """
    if kwargs.get("fusion") == "none":  # the paper's baseline: the only place "none" is read
        if modality_spec:
            raise ValueError(f"fusion 'none' is the baseline (all bands as one modality); "
                             f"it takes no modalities, got {modality_spec!r}")
        kwargs["fusion"] = "early"
        modality_size = None
    if modality_spec:
        mods = modalities_lib.parse(modality_spec, bands)
    elif modality_size is None:
        mods = None
    else:
        mods = modalities_lib.build(bands, modality_size, orders, include_all=include_all)
    return ModelConfig(bands=bands_lib.parse_bands(bands),
                       modalities=None if mods is None else tuple(mods), **kwargs)
