"""Merging layers and their functional forms (add, concatenate, ...)."""

__all__: list[str] = []
