"""Convolution and pooling ops (NHWC at the API)."""

__all__: list[str] = []
