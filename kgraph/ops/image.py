"""Image ops: resize, crop, pad."""

__all__: list[str] = []
