"""The cfhtls preset (multimodal_photoz.surveys.SURVEYS["cfhtls"]): ``get_config("scale=quick,fusion=early")``."""

from experiments.configs.common import survey_config


def get_config(arg: str | None = None) -> dict:
    """Settings of the cfhtls experiments; ``arg`` picks the scale and the fusion."""
    return survey_config("cfhtls", arg)
