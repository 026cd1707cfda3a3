"""Preset configurations, big_vision style: ``<survey>.get_config("scale=quick,fusion=early")``
returns the settings (``multimodal_photoz.config.settings`` keys) that differ from
the defaults. ``common.SCALES`` holds the scales."""
