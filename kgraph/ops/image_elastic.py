"""`keras.ops.image.elastic_transform`: images resampled along random displacement fields smoothed by a Gaussian.

Keras sizes the blur kernel int(6 * sigma) | 1, so `sigma` must be known when the op is recorded: a Python float
(or a concrete array). An int seed draws Keras' own fields.
"""

from __future__ import annotations

import numpy as np

from kgraph import config
from kgraph.ir.ops.elastic import FILL_MODES
from kgraph.ir.types import is_float
from kgraph.keras_tensor import KerasTensor
from kgraph.ops import numpy as knp
from kgraph.ops.array import _tensor
from kgraph.ops.dispatch import apply, dtype_of, is_symbolic, unwrap
from kgraph.random import SeedGenerator, draw_seed
from kgraph.seeds import next_seed
from kgraph.tracing import SymbolicTensor, current_trace

__all__ = ["elastic_transform", "kernel_size_for"]

INTERPOLATIONS = ("nearest", "bilinear")


def kernel_size_for(sigma: float) -> int:
    """Keras' blur kernel size for `sigma`, int(6 * sigma) | 1, computed in float32 as Keras computes it."""
    return int(np.float32(6.0) * np.float32(sigma)) | 1


def _key(seed, images):
    """The PRNG key input and the seed folded into it (None: the key as given) for a `seed` argument."""
    if isinstance(seed, SeedGenerator):
        state = seed.state.value
        if is_symbolic(state):
            seed.state.assign(knp.add(state, np.array([0, 1], "uint32")))
            return state, None
        return draw_seed(seed), None
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.array([int(seed) & 0xFFFFFFFF, 0], "uint32"), None
    if seed is not None:
        return draw_seed(seed), None
    if isinstance(images, KerasTensor):
        raise ValueError("elastic_transform on a symbolic input needs a `seed` (an int, or a SeedGenerator kept on "
                         "your layer): an unseeded draw would become a constant of the model. Received: seed=None")
    if isinstance(images, SymbolicTensor):
        trace = current_trace() or images.trace
        return trace.rng(), next_seed()
    return draw_seed(None), None


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                      seed=None, data_format=None):
    """Applies an elastic deformation to the image(s), as Keras 3 draws and computes it.

    Each image's displacement field is N(0, 1) noise times `sigma`, blurred by a Gaussian of standard deviation
    `sigma` (an int(6 * sigma) | 1 kernel), times `alpha`; the same field moves rows and columns (Keras draws
    both from one key). `sigma=0` leaves the images as they are.

    Args:
        images: float images, (batch,) height, width, channels (channels first with `data_format`).
        alpha: the deformation's scale (a number or a scalar tensor).
        sigma: the smoothing's standard deviation: a Python float, which sizes the blur kernel.
        interpolation: "nearest" or "bilinear".
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect": how points outside are read.
        fill_value: the value outside the image with `fill_mode="constant"`.
        seed: an int (Keras' fields for that int), a `kgraph.random.SeedGenerator`, or None.
        data_format: "channels_last" or "channels_first" (default `kgraph.config.image_data_format()`).
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"Invalid value for argument `interpolation`. Expected of one {set(INTERPOLATIONS)}. "
                         f"Received: interpolation={interpolation}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"Invalid value for argument `fill_mode`. Expected of one {set(FILL_MODES)}. Received: "
                         f"fill_mode={fill_mode}")
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Invalid value for argument `data_format`. Expected 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format}")
    images = _tensor(images)
    if knp.ndim(images) not in (3, 4):
        raise ValueError(f"Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). "
                         f"Received input with shape: images.shape={knp.shape(images)}")
    if not is_float(dtype_of(images)):
        raise ValueError(f"elastic_transform needs floating-point images (its displacement fields are drawn in "
                         f"their dtype). Received: images.dtype={dtype_of(images)}")
    if is_symbolic(unwrap(sigma)):
        raise ValueError("elastic_transform needs a static `sigma` (a Python float): it sizes the blur kernel, "
                         f"int(6 * sigma) | 1. Received a symbolic tensor: sigma={sigma}")
    sigma = np.float32(np.asarray(unwrap(sigma)))
    if not sigma >= 0:
        raise ValueError(f"elastic_transform needs `sigma` >= 0. Received: sigma={sigma}")
    alpha = unwrap(alpha)
    alpha = knp.cast(alpha, "float32") if is_symbolic(alpha) else np.asarray(alpha, "float32")
    key, fold = _key(seed, images)
    single = knp.ndim(images) == 3
    batch = knp.expand_dims(images, 0) if single else images
    out = apply("elastic_transform", batch, alpha, sigma, key, kernel_size=kernel_size_for(sigma),
                interpolation=interpolation, fill_mode=fill_mode, fill_value=float(fill_value),
                data_format=data_format, seed=fold)
    return knp.squeeze(out, 0) if single else out
