"""Preprocessing layers that lower to both targets."""

__all__: list[str] = []
