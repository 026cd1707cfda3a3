"""Mock multiband galaxy stamps that look like the paper's SDSS, CFHTLS and HSC-Deep data.

``simulate(survey, n, seed)`` draws a spectroscopic-like sample (population.py), gives each
galaxy a bulge and a disk with different real-template SEDs (seds.py, library.py,
morphology.py), integrates them through the survey's published filter curves (filters.py)
with IGM (igm.py) and dust (dust.py), and renders them with GalSim under the survey's seeing,
pixel scale and depth (surveys.py, render.py). See docs/simulation.md.
"""

from multimodal_photoz.simulate.simulate import SimulatedSample, simulate
from multimodal_photoz.simulate.surveys import SURVEYS, SurveyPreset, get_survey

__all__ = ["SimulatedSample", "simulate", "SURVEYS", "SurveyPreset", "get_survey"]
