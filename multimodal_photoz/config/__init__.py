"""The run configuration (one nested frozen tree, defaults in one place), the
settings language that presets and command lines speak, and the workdir guard.

  RunConfig(model, data, train, ensemble, evaluation)     config.json
  settings.build(settings, data_bands=..., z_spec_max=...) -> RunConfig
  claim_workdir(workdir, config, fingerprint), lock_workdir(workdir), load_run_config(workdir)
"""

from multimodal_photoz.config.run import (DataConfig, EnsembleConfig, EvaluationConfig, RunConfig,
                                          TrainConfig)
from multimodal_photoz.config.settings import build, defaults, known_keys, merge
from multimodal_photoz.config.workdir import (CONFIG_FILE, claim_workdir, data_changes,
                                              data_fingerprint, load_run_config, lock_workdir)

__all__ = ["CONFIG_FILE", "DataConfig", "EnsembleConfig", "EvaluationConfig", "RunConfig",
           "TrainConfig", "build", "claim_workdir", "data_changes", "data_fingerprint", "defaults",
           "known_keys", "load_run_config", "lock_workdir", "merge"]
