"""Modalities: subsets of bands processed by parallel branches (paper Sect. 4.1).

A modality of size ``s`` and order ``o`` over bands ``b`` (sorted by wavelength)
is ``(b[i], b[i+o], ..., b[i+(s-1)o])`` for every ``i`` that stays inside the
band list. ``build("ugrizyjhk", 2, orders=(1,))`` gives Table C.2's first row:
``u_g, g_r, r_i, i_z, z_y, y_j, j_h, h_k``.
"""

from __future__ import annotations

from collections.abc import Sequence

from multimodal_photoz.bands import check_wavelength_order, parse_bands

Modality = tuple[str, ...]


def build(bands: str | Sequence[str], size: int, orders: Sequence[int] = (1,),
          include_all: bool = False) -> list[Modality]:
    """Returns the modalities of one size for the given orders.

    Args:
      bands: the band list, in ascending order of wavelength (``"ugrizyjhk"``).
      size: number of bands per modality (1 .. number of bands).
      orders: gaps between the bands of a modality; the modalities of each
        order are concatenated in the order given.
      include_all: also append the modality holding every band (Sect. 7.3).

    Raises:
      ValueError: a size or order that gives no modality, or bad band names.
    """
    names = check_wavelength_order(bands)
    n = len(names)
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"modality size must be a positive integer, got {size!r}")
    if size > n:
        raise ValueError(
            f"modality size {size} is larger than the number of bands ({n}: "
            f"{''.join(names)})")
    if not orders:
        raise ValueError("at least one modality order is needed")
    modalities: list[Modality] = []
    for order in orders:
        if not isinstance(order, int) or order < 1:
            raise ValueError(f"modality order must be a positive integer, got {order!r}")
        if size > 1 and (size - 1) * order >= n:
            raise ValueError(
                f"no modality of size {size} and order {order} fits in {n} bands "
                f"({''.join(names)}): it spans {(size - 1) * order + 1} bands")
        span = (size - 1) * order
        for start in range(n - span):
            modalities.append(tuple(names[start + j * order] for j in range(size)))
        if size == 1:
            break  # every order gives the same single-band modalities
    if include_all and names not in modalities:
        modalities.append(names)
    return modalities


def parse(spec: str, bands: str | Sequence[str]) -> list[Modality]:
    """Parses an explicit modality list such as ``"u_g,g_r"`` or ``"ugr,iz"``.

    Every band must belong to ``bands``; band order inside a modality follows
    wavelength order.

    Raises:
      ValueError: an empty list, an unknown band, or a band outside ``bands``.
    """
    names = check_wavelength_order(bands)
    modalities: list[Modality] = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"empty modality in {spec!r}")
        modality = parse_bands(item.split("_") if "_" in item else item)
        missing = [b for b in modality if b not in names]
        if missing:
            raise ValueError(
                f"modality {item!r} uses band(s) {''.join(missing)!r} that are not "
                f"among the input bands {''.join(names)!r}")
        modalities.append(tuple(sorted(modality, key=names.index)))
    if len(set(modalities)) != len(modalities):
        raise ValueError(f"a modality appears twice in {spec!r}")
    return modalities


def name(modality: Modality) -> str:
    """Returns the paper's name of a modality: ``("u", "g") -> "u_g"``."""
    return "_".join(modality)


def channel_indices(modality: Modality, bands: str | Sequence[str]) -> tuple[int, ...]:
    """Returns the image channels (indices into ``bands``) of a modality."""
    names = parse_bands(bands)
    return tuple(names.index(b) for b in modality)
