"""The elastic transform of `keras.ops.image.elastic_transform` and `RandomElasticTransform`: Gaussian-smoothed
random displacement fields, sampled through with `map_coordinates`."""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.types import is_float

FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
INTERPOLATIONS = ("nearest", "bilinear")


def _elastic_transform(types, kernel_size, interpolation, fill_mode, fill_value, data_format, seed):
    images, alpha, sigma, key = types
    if images.rank != 4 or not is_float(images.dtype):
        raise ShapeError(f"elastic_transform needs a float batch of images (rank 4), got {images}")
    for name, scalar in (("alpha", alpha), ("sigma", sigma)):
        if scalar.rank != 0 or not is_float(scalar.dtype):
            raise ShapeError(f"elastic_transform needs a float scalar {name}, got {scalar}")
    if key.dtype != "uint32" or key.shape != (2,):
        raise ShapeError(f"elastic_transform needs a uint32[2] PRNG key, got {key}")
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ShapeError(f"elastic_transform: kernel_size must be a positive odd int, got {kernel_size!r}")
    if interpolation not in INTERPOLATIONS or fill_mode not in FILL_MODES:
        raise ShapeError(f"elastic_transform: interpolation {interpolation!r} / fill_mode {fill_mode!r} unknown")
    if data_format not in ("channels_last", "channels_first"):
        raise ShapeError(f"elastic_transform: data_format {data_format!r} unknown")
    return [images]


register("elastic_transform", _elastic_transform,
         attrs={"kernel_size": REQUIRED, "interpolation": "bilinear", "fill_mode": "reflect", "fill_value": 0.0,
                "data_format": "channels_last", "seed": None},
         num_inputs=4, random=True,
         doc="Keras' elastic transform: N(0, 1) * sigma fields from the key (with `seed` folded in unless None), "
             "blurred by the int(6 sigma) | 1 Gaussian (at most kernel_size), scaled by alpha, sampled through")
