"""kgraph's version, read by pyproject and `kgraph --version`."""

__version__ = "0.1.0"
