"""Test-wide setup: Keras runs on JAX, datasets come from ../shared/data, no test touches the network."""

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import kgraph  # noqa: E402  (after KERAS_BACKEND, which Keras reads when a test imports it)
import pytest  # noqa: E402
_shared_data = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if _shared_data.is_dir():
    os.environ.setdefault("KGRAPH_DATASETS", str(_shared_data))


@pytest.fixture(autouse=True)
def _restore_global_dtype_policy():
    """A test that sets a global dtype policy (kgraph's or Keras') leaves the next test the one it found."""
    ours = kgraph.config.dtype_policy()
    theirs = sys.modules["keras"].config.dtype_policy() if "keras" in sys.modules else None
    yield
    kgraph.config.set_dtype_policy(ours)
    if theirs is not None:
        sys.modules["keras"].config.set_dtype_policy(theirs)
