"""Test-wide setup: Keras runs on JAX, datasets come from ../shared/data, no test touches the network."""

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
_shared_data = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if _shared_data.is_dir():
    os.environ.setdefault("KGRAPH_DATASETS", str(_shared_data))
