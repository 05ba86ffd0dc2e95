"""`kgraph.callbacks.experimental`: where Keras 2.x code finds BackupAndRestore (the FAQ still uses this path)."""

from kgraph.callbacks.backup_and_restore import BackupAndRestore

__all__ = ["BackupAndRestore"]
