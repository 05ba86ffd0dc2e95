"""Training on several devices: `import kgraph as keras; keras.distribution.DataParallel(...)`.

Built on `jax.sharding`: a `DeviceMesh` is a `Mesh`, a `TensorLayout` a `NamedSharding`. The current
distribution decides where `fit` puts the batch (split over the data axis) and each weight (replicated, or
as a `LayoutMap` says); the compiled step is partitioned by XLA, with no hand-written collectives.
"""

from kgraph.distribution.device_mesh import DeviceMesh, get_device_count, list_devices
from kgraph.distribution.distributions import (
    DataParallel, Distribution, ModelParallel, distribute_tensor, distribution, set_distribution,
)
from kgraph.distribution.layouts import LayoutMap, TensorLayout
from kgraph.distribution.multihost import initialize

__all__ = [
    "DataParallel", "DeviceMesh", "Distribution", "LayoutMap", "ModelParallel", "TensorLayout", "distribute_tensor",
    "distribution", "get_device_count", "initialize", "list_devices", "set_distribution",
]
