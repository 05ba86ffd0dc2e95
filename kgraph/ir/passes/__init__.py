"""Named graph → graph passes and the manager that runs them in pipelines."""

from kgraph.ir.passes.dce import dead_code_elimination
from kgraph.ir.passes.manager import PassManager, get_pass, register_pass

__all__ = ["PassManager", "dead_code_elimination", "get_pass", "register_pass"]
