"""Random ops of the image augmentation layers. Each takes the graph's PRNG key last and folds in its `seed`.

They run only in training graphs (the layers are identities in inference), so they have no ONNX form.
"""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.types import TensorType, is_float

FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
AFFINE_KINDS = ("rotation", "zoom", "translation", "shear")


def _check_key(op: str, key: TensorType) -> None:
    if key.dtype != "uint32" or key.shape != (2,):
        raise ShapeError(f"{op} needs a uint32[2] PRNG key, got {key}")


def _random_uniform_rows(types, shape, minval, maxval, dtype, seed):
    x, key = types
    _check_key("random_uniform_rows", key)
    if x.rank == 0:
        raise ShapeError(f"random_uniform_rows needs a batched input to take the batch size from, got {x}")
    if not is_float(dtype):
        raise ShapeError(f"random_uniform_rows draws floats, got dtype {dtype}")
    return [TensorType(dtype, (x.shape[0], *tuple(shape)))]


register("random_uniform_rows", _random_uniform_rows,
         attrs={"shape": (), "minval": 0.0, "maxval": 1.0, "dtype": "float32", "seed": REQUIRED}, num_inputs=2,
         random=True, doc="uniform samples of shape (batch, *shape) in [minval, maxval), batch taken from x")


def _random_affine_images(types, kind, lower, upper, width_lower, width_upper, fill_mode, interpolation, fill_value,
                          data_format, seed):
    images, key = types
    _check_key("random_affine_images", key)
    if images.rank != 4 or not is_float(images.dtype):
        raise ShapeError(f"random_affine_images needs a float batch of images (rank 4), got {images}")
    if kind not in AFFINE_KINDS:
        raise ShapeError(f"random_affine_images: kind must be one of {AFFINE_KINDS}, got {kind!r}")
    if fill_mode not in FILL_MODES or interpolation not in ("nearest", "bilinear"):
        raise ShapeError(f"random_affine_images: fill_mode {fill_mode!r} / interpolation {interpolation!r} unknown")
    return [images]


register("random_affine_images", _random_affine_images,
         attrs={"kind": REQUIRED, "lower": REQUIRED, "upper": REQUIRED, "width_lower": None, "width_upper": None,
                "fill_mode": "reflect", "interpolation": "bilinear", "fill_value": 0.0,
                "data_format": "channels_last", "seed": REQUIRED},
         num_inputs=2, random=True,
         doc="per-image random rotation, zoom, translation or shear drawn in [lower, upper), as Keras' layers do")


def _random_crop_images(types, height, width, data_format, seed):
    images, key = types
    _check_key("random_crop_images", key)
    if images.rank != 4:
        raise ShapeError(f"random_crop_images needs a batch of images (rank 4), got {images}")
    rows, cols = (1, 2) if data_format == "channels_last" else (2, 3)
    for axis, size in ((rows, height), (cols, width)):
        if not isinstance(images.shape[axis], int) or images.shape[axis] < size:
            raise ShapeError(f"random_crop_images: a {height}x{width} window needs known image sizes at least as "
                             f"large, got {images}")
    shape = list(images.shape)
    shape[rows], shape[cols] = height, width
    return [TensorType(images.dtype, tuple(shape))]


register("random_crop_images", _random_crop_images,
         attrs={"height": REQUIRED, "width": REQUIRED, "data_format": "channels_last", "seed": REQUIRED},
         num_inputs=2, random=True, doc="one random (height, width) window, the same for the whole batch")


def _random_permutation_rows(types, seed):
    x, key = types
    _check_key("random_permutation_rows", key)
    if x.rank == 0:
        raise ShapeError(f"random_permutation_rows needs a batched input to take the batch size from, got {x}")
    return [TensorType("int32", (x.shape[0],))]


register("random_permutation_rows", _random_permutation_rows, attrs={"seed": REQUIRED}, num_inputs=2, random=True,
         doc="a random permutation of range(batch), batch taken from x: the partners of the mixing layers")


def _random_beta_rows(types, lower, upper, dtype, seed):
    x, key = types
    _check_key("random_beta_rows", key)
    if x.rank == 0:
        raise ShapeError(f"random_beta_rows needs a batched input to take the batch size from, got {x}")
    if not is_float(dtype) or not 0 < lower <= upper:
        raise ShapeError(f"random_beta_rows draws floats with 0 < lower <= upper, got dtype {dtype}, lower {lower}, "
                         f"upper {upper}")
    return [TensorType(dtype, (x.shape[0],))]


register("random_beta_rows", _random_beta_rows,
         attrs={"lower": REQUIRED, "upper": REQUIRED, "dtype": "float32", "seed": REQUIRED}, num_inputs=2,
         random=True, doc="Beta(a, a) samples of shape (batch,), a drawn once per call uniformly in [lower, upper]")


def _random_gamma_rows(types, shape, alpha, dtype, seed):
    x, key = types
    _check_key("random_gamma_rows", key)
    if x.rank == 0:
        raise ShapeError(f"random_gamma_rows needs a batched input to take the batch size from, got {x}")
    if not is_float(dtype) or not alpha > 0:
        raise ShapeError(f"random_gamma_rows draws floats with alpha > 0, got dtype {dtype}, alpha {alpha}")
    return [TensorType(dtype, (x.shape[0], *tuple(shape)))]


register("random_gamma_rows", _random_gamma_rows,
         attrs={"shape": (), "alpha": REQUIRED, "dtype": "float32", "seed": REQUIRED}, num_inputs=2, random=True,
         doc="Gamma(alpha) samples of shape (batch, *shape), batch taken from x")
