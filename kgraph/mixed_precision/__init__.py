"""Keras' legacy mixed-precision namespace: dtype policies, the global policy and loss scaling."""

from kgraph.dtype_policies.dtype_policy import DTypePolicy, dtype_policy, set_dtype_policy
from kgraph.optimizers.loss_scale_optimizer import LossScaleOptimizer

Policy = DTypePolicy
global_policy = dtype_policy
set_global_policy = set_dtype_policy

__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy"]
