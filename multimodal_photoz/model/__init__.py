"""The multimodal photo-z network (Flax Linen): config, registries, model."""

from multimodal_photoz.model.backbones import BACKBONES, BackboneSpec
from multimodal_photoz.model.config import FUSION_STAGES, ModelConfig, make_config
from multimodal_photoz.model.fusion import FUSIONS
from multimodal_photoz.model.network import PhotoZNet, count_params, init_params
from multimodal_photoz.model.trunk import branch_scale

__all__ = ["BACKBONES", "BackboneSpec", "FUSION_STAGES", "FUSIONS", "ModelConfig", "PhotoZNet",
           "branch_scale", "count_params", "init_params", "make_config"]
