"""Joining several processes (hosts) into one JAX cluster: `initialize`."""

from __future__ import annotations

import os

import jax
import numpy as np
from jax.experimental import multihost_utils

from kgraph import random as kg_random

DEFAULT_HEARTBEAT_TIMEOUT = 100


def coordinator_address(job_addresses: str | None, num_processes: int | None) -> str | None:
    """The coordinator (first) address of a comma-separated list, checked against `num_processes`."""
    if not job_addresses or "," not in job_addresses:
        return job_addresses or None
    addresses = [a.strip() for a in job_addresses.split(",")]
    if num_processes is not None and num_processes != len(addresses):
        raise ValueError(f"`job_addresses` lists {len(addresses)} jobs ({addresses}) but `num_processes` is {num_processes}")
    return addresses[0]


def initialize(job_addresses: str | None = None, num_processes: int | None = None, process_id: int | None = None,
               heartbeat_timeout_seconds: int | None = None) -> None:
    """Connects this process to the others of a multi-host run (`jax.distributed.initialize`); call it first.

    Afterwards `list_devices()` lists every process' devices, and the global seed is process 0's, so all
    processes initialize the same weights. If a process dies, the others stop within the heartbeat timeout
    with JAX's "another task died" error naming the dead process, instead of waiting in a collective forever.

    Args:
        job_addresses: "host:port" of the coordinator (process 0), or every job's address comma-separated
            (the first is the coordinator). Default: `KERAS_DISTRIBUTION_JOB_ADDRESSES`, else JAX's
            auto-detection (Cloud TPU, SLURM, …).
        num_processes: processes in the run. Default: `KERAS_DISTRIBUTION_NUM_PROCESSES`.
        process_id: this process' index, 0 … num_processes-1. Default: `KERAS_DISTRIBUTION_PROCESS_ID`.
        heartbeat_timeout_seconds: how long a silent process is waited for before the run stops (kgraph's
            addition). Default: `KGRAPH_DISTRIBUTION_HEARTBEAT_TIMEOUT`, else JAX's 100 seconds.
    """
    env = os.environ
    if job_addresses is None:
        job_addresses = env.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    if num_processes is None and "KERAS_DISTRIBUTION_NUM_PROCESSES" in env:
        num_processes = int(env["KERAS_DISTRIBUTION_NUM_PROCESSES"])
    if process_id is None and "KERAS_DISTRIBUTION_PROCESS_ID" in env:
        process_id = int(env["KERAS_DISTRIBUTION_PROCESS_ID"])
    if num_processes is not None and process_id is not None and not 0 <= process_id < num_processes:
        raise ValueError(f"`process_id` must be in [0, {num_processes}), got {process_id}")
    if heartbeat_timeout_seconds is None:
        heartbeat_timeout_seconds = int(env.get("KGRAPH_DISTRIBUTION_HEARTBEAT_TIMEOUT", DEFAULT_HEARTBEAT_TIMEOUT))
    if heartbeat_timeout_seconds < 1:
        raise ValueError(f"`heartbeat_timeout_seconds` must be at least 1, got {heartbeat_timeout_seconds}")
    jax.distributed.initialize(coordinator_address=coordinator_address(job_addresses, num_processes),
                               num_processes=num_processes, process_id=process_id,
                               heartbeat_timeout_seconds=heartbeat_timeout_seconds)
    if jax.process_count() > 1:
        seed = multihost_utils.broadcast_one_to_all(np.int32(kg_random.next_seed()))
        kg_random.set_seed(int(seed))
