"""The surveys of the paper (Sect. 2, 5.1): one table of their analysis settings.

SDSS uses 180 bins over 0 < z < 0.4 as P19 and an outlier threshold of 0.05;
the deeper surveys use 0.15 and evaluate i <= 24 (prior-networks.md). Their grids
reach z = 6, not the 4 of Treyer et al.'s CFHTLS code: the deep spectroscopic
samples reach z ~ 6 (VUDS, VANDELS; the paper's Table 1) and so does the
simulator (z <= 5.9); 1000 bins as the paper's Table C.1 counts imply. The
simulator's observing conditions of each survey (seeing, depth, filters) are in
``multimodal_photoz.simulate.surveys``, keyed by the same names.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Survey:
    """Analysis settings of one survey.

    Attributes:
      name: the key (``sdss``, ``cfhtls``, ``hsc6``, ``hsc9``).
      bands: the survey's bands in wavelength order.
      n_bins, z_min, z_max: the PDF grid.
      outlier_threshold: |dz| of an outlier.
      mag_limit: evaluate objects with i <= mag_limit (None: all).
      paper_objects: size of the paper's spectroscopic sample.
      paper_seeds: ensemble seeds of the paper (5 for SDSS, 3 otherwise).
    """

    name: str
    bands: str
    n_bins: int
    z_min: float
    z_max: float
    outlier_threshold: float
    mag_limit: float | None
    paper_objects: int
    paper_seeds: int

    def settings(self) -> dict:
        """This survey's settings (``multimodal_photoz.config.settings`` keys)."""
        return {"data.survey": self.name, "model.n_bins": self.n_bins,
                "model.z_min": self.z_min, "model.z_max": self.z_max,
                "evaluation.outlier_threshold": self.outlier_threshold,
                "evaluation.mag_limit": self.mag_limit,
                "ensemble.seeds": tuple(range(self.paper_seeds)),
                "data.n_objects": self.paper_objects}


SURVEYS: dict[str, Survey] = {s.name: s for s in (
    Survey("sdss", "ugriz", 180, 0.0, 0.4, 0.05, None, 516_525, 5),
    Survey("cfhtls", "ugriz", 1000, 0.0, 6.0, 0.15, 24.0, 108_500, 3),
    Survey("hsc6", "ugrizy", 1000, 0.0, 6.0, 0.15, 24.0, 51_000, 3),
    Survey("hsc9", "ugrizyjhk", 1000, 0.0, 6.0, 0.15, 24.0, 51_000, 3),
)}


def get_survey(name: str) -> Survey:
    """The survey ``name``; ValueError listing the known ones otherwise."""
    if name not in SURVEYS:
        raise ValueError(f"unknown survey {name!r}; known surveys: {sorted(SURVEYS)}")
    return SURVEYS[name]
