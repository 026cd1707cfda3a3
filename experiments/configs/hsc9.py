"""The hsc9 preset (multimodal_photoz.surveys.SURVEYS["hsc9"]): ``get_config("scale=quick,fusion=early")``."""

from experiments.configs.common import survey_config


def get_config(arg: str | None = None) -> dict:
    """Settings of the hsc9 experiments; ``arg`` picks the scale and the fusion."""
    return survey_config("hsc9", arg)
