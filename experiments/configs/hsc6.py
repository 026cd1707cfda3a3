"""The hsc6 preset (multimodal_photoz.surveys.SURVEYS["hsc6"]): ``get_config("scale=quick,fusion=early")``."""

from experiments.configs.common import survey_config


def get_config(arg: str | None = None) -> dict:
    """Settings of the hsc6 experiments; ``arg`` picks the scale and the fusion."""
    return survey_config("hsc6", arg)
