"""IR → JAX: one rule per op; `lower_to_jax` turns a Graph into a pure function of arrays.

Every module of this package other than `lower` and `registry` holds the rules of one op family and is
imported here, so adding a family is adding a file.
"""

import importlib
import pkgutil

from kgraph.lowering.jax.lower import GraphFunction, lower_to_jax
from kgraph.lowering.jax.registry import get_rule, jax_rule

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("lower", "registry"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["GraphFunction", "get_rule", "jax_rule", "lower_to_jax"]
