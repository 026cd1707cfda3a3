"""Experiment presets: ``python -m experiments.<survey> [flags]`` (see README)."""
