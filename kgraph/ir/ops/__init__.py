"""The IR's op declarations, one module per family; importing this package registers them all."""

from kgraph.ir.ops import elementwise, linalg, nn, random, reduction, shape  # noqa: F401
