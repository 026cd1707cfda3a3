"""Several JAX processes: how ``distributed.initialize`` and ``photoz launch`` refuse
what they cannot run. (A 2-process training end to end is not in the suite: it can
stall in JAX's shutdown barrier; BUILD.md, "Multi-device and multi-host".)"""

import pytest

from multimodal_photoz import distributed
from multimodal_photoz.cli import console


def test_a_process_count_without_the_coordinator_is_refused(monkeypatch):
    monkeypatch.setenv(distributed.COUNT, "2")
    monkeypatch.delenv(distributed.ADDRESS, raising=False)
    monkeypatch.delenv(distributed.INDEX, raising=False)
    with pytest.raises(ValueError, match="JAX_COORDINATOR_ADDRESS and JAX_PROCESS_ID not set"):
        distributed.initialize()


def test_launch_needs_a_command(capsys):
    assert console(["launch", "--processes", "2"]) == 2
    assert "give the photoz command to run" in capsys.readouterr().err
