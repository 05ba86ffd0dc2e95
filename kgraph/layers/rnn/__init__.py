"""Recurrent layers and cells."""

__all__: list[str] = []
