"""multimodal_photoz: multimodal CNN photometric redshifts in JAX/Flax.

Reimplements Ait Ouahmed et al. 2024 (A&A 683, A26): subsets of bands
("modalities") go through parallel inception branches, are fused, and a common
trunk outputs a redshift PDF over bins plus a regression estimate.
"""

__version__ = "0.1.0"
