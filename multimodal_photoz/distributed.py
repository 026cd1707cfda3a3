"""Several JAX processes: joining them, and launching them on one machine.

A job of N processes (one per host, or several on one host) is N copies of the
same command. Each copy joins the others with ``initialize`` before JAX touches
a device; the ``photoz`` command, ``python -m experiments.*`` and the quickstart
call it first (``cli.console_main``). It reads the environment:

  - ``JAX_COORDINATOR_ADDRESS`` (host:port of process 0), ``JAX_NUM_PROCESSES``
    and ``JAX_PROCESS_ID``: set them yourself, or let ``photoz launch`` set them
    for N processes on this machine;
  - or SLURM's (``SLURM_NTASKS`` > 1, as ``srun`` sets it): JAX's own cluster
    detection finds the coordinator and the process ids.

With one process (no such variables) nothing happens. On CPU the processes
exchange gradients through gloo (``jax_cpu_collectives_implementation``).
What each process reads and writes: BUILD.md, "Several processes".
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence

ADDRESS, COUNT, INDEX = "JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"
# How long a finished process waits at exit for the others (JAX's shutdown barrier;
# its default is 300 s). Process 0 alone writes a run's outputs and joins a
# prediction's parts, which at survey scale takes longer than that.
SHUTDOWN_TIMEOUT_S = 24 * 3600


def _count(name: str) -> int:
    value = os.environ.get(name, "1")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not a process count") from None


def initialize() -> bool:
    """Joins this job's other processes, if it has several; returns whether it did."""
    import jax

    explicit, slurm = _count(COUNT), _count("SLURM_NTASKS")
    if max(explicit, slurm) <= 1 or jax.distributed.is_initialized():
        return False
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if explicit > 1:
        missing = [name for name in (ADDRESS, INDEX) if not os.environ.get(name)]
        if missing:
            raise ValueError(f"{COUNT}={explicit} but {' and '.join(missing)} not set; "
                             "every process needs the coordinator's host:port and its own id")
        jax.distributed.initialize(os.environ[ADDRESS], explicit, int(os.environ[INDEX]),
                                   shutdown_timeout_seconds=SHUTDOWN_TIMEOUT_S)
    else:  # SLURM: JAX's cluster detection
        jax.distributed.initialize(shutdown_timeout_seconds=SHUTDOWN_TIMEOUT_S)
    return True


def barrier(name: str) -> None:
    """Waits until every process of the job reaches the barrier ``name`` (the
    same name on every process); nothing with one process."""
    import jax

    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def agree(value):
    """Process 0's ``value`` (a bool or int32, or a fixed-shape array of them), on every
    process.

    Decisions read from files (is a member finished? which folds are?) must be the
    same on every process, or one process enters a collective the others skip and
    the job hangs; a process that has not yet seen process 0's last write would
    otherwise decide differently. Returns a numpy value of ``value``'s dtype.
    """
    import jax
    import numpy as np

    value = np.asarray(value)
    if value.dtype != bool and not (np.issubdtype(value.dtype, np.integer) and (
            value.size == 0 or np.iinfo(np.int32).min <= value.min() <= value.max()
            <= np.iinfo(np.int32).max)):
        raise TypeError(f"agree takes bools or integers within int32, got {value.dtype} {value}")
    if jax.process_count() == 1:
        return value
    from jax.experimental import multihost_utils

    dtype = value.dtype
    wire = value.astype(np.int32)  # the broadcast sums int32 (no x64)
    return np.asarray(multihost_utils.broadcast_one_to_all(wire)).astype(dtype)


def free_port() -> int:
    """A TCP port free on this machine now (for the coordinator)."""
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def launch(n_processes: int, argv: Sequence[str], devices_per_process: int = 1) -> int:
    """Runs ``photoz argv`` as ``n_processes`` JAX processes on this machine, each
    with ``devices_per_process`` CPU devices (JAX's CPU platform, so a laptop can
    rehearse a multi-host job). When one process fails the others are stopped.
    Returns the exit status of the first that failed, or 0."""
    if n_processes < 1:
        raise ValueError(f"--processes must be at least 1, got {n_processes}")
    address = f"localhost:{free_port()}"
    procs = []
    for index in range(n_processes):
        # JAX's preemption service would catch the SIGTERM that stops the others
        # when one fails (_wait_all); nothing here checkpoints on preemption
        env = dict(os.environ, **{ADDRESS: address, COUNT: str(n_processes), INDEX: str(index)},
                   JAX_PLATFORMS="cpu", JAX_ENABLE_PREEMPTION_SERVICE="false")
        env["XLA_FLAGS"] = " ".join(
            [f for f in env.get("XLA_FLAGS", "").split()
             if not f.startswith("--xla_force_host_platform_device_count")]
            + [f"--xla_force_host_platform_device_count={devices_per_process}"])
        procs.append(subprocess.Popen([sys.executable, "-m", "multimodal_photoz.cli", *argv],
                                      env=env))
    return _wait_all(procs)


def _wait_all(procs: list[subprocess.Popen], grace_s: float = 30.0) -> int:
    """Waits for every process; once one fails (or this launcher is interrupted)
    the others are stopped, since they would wait for it in their next collective
    for ever. Returns the exit status of the first process that failed, or 0."""
    import signal
    import time

    failed_at, status = None, 0
    try:
        while [p.poll() for p in procs].count(None):  # poll every one, not the first only
            if failed_at is None and any(p.returncode for p in procs):
                failed_at = time.monotonic()
                status = next(p.returncode for p in procs if p.returncode)
                for p in procs:
                    if p.poll() is None:
                        p.send_signal(signal.SIGTERM)
            if failed_at is not None and time.monotonic() - failed_at > grace_s:
                for p in procs:
                    if p.poll() is None:
                        p.kill()
            time.sleep(0.2)
    except KeyboardInterrupt:
        for p in procs:
            if p.poll() is None:
                p.kill()
        raise
    return status or next((p.returncode for p in procs if p.returncode), 0)
