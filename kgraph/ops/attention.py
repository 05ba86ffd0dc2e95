"""Attention ops."""

__all__: list[str] = []
