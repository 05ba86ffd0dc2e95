"""Normalization ops."""

__all__: list[str] = []
