"""JAX rule of the elastic transform, Keras 3's JAX `elastic_transform` step for step, but for the blur: Keras'
Gaussian applied as two 1-D passes, each `kernel_size` taps with those beyond Keras' int(6 sigma) | 1 window set to
zero, so that sigma may be a traced value."""

import jax
import jax.numpy as jnp

from kgraph.lowering.jax.registry import jax_rule


def _gaussian_1d(sigma, kernel_size: int, dtype):
    """Keras' normalized 1-D Gaussian of size int(6 sigma) | 1, centred in `kernel_size` taps (zeros around)."""
    x = jnp.arange(kernel_size, dtype=dtype) - jnp.asarray((kernel_size - 1) / 2, dtype)
    size = jnp.floor(6 * sigma).astype("int32") | 1
    inside = jnp.abs(x) <= ((size - 1) // 2).astype(dtype)
    safe_sigma = jnp.where(sigma > 0, sigma, jnp.ones_like(sigma)).astype(dtype)
    kernel = jnp.where(inside, jnp.exp(-0.5 * (x / safe_sigma) ** 2), jnp.zeros_like(x))
    return kernel / jnp.sum(kernel)


def _blur(field, sigma, kernel_size: int):
    """`field` (batch, height, width) convolved with the separable Gaussian, zero "SAME" padding."""
    kernel = _gaussian_1d(sigma.astype(field.dtype), kernel_size, field.dtype)
    out = field[:, None]
    for shape in ((kernel_size, 1), (1, kernel_size)):
        out = jax.lax.conv_general_dilated(out, kernel.reshape(1, 1, *shape), (1, 1), "SAME",
                                           dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return out[:, 0]


@jax_rule("elastic_transform")
def _elastic_transform(images, alpha, sigma, key, kernel_size, interpolation, fill_mode, fill_value, data_format,
                       seed):
    if data_format == "channels_first":
        images = jnp.transpose(images, (0, 2, 3, 1))
    batch, height, width, _ = images.shape
    key = key if seed is None else jax.random.fold_in(key, seed)
    displacement = _blur(jax.random.normal(key, (batch, height, width), images.dtype) * sigma, sigma, kernel_size)
    x, y = jnp.meshgrid(jnp.arange(width), jnp.arange(height))
    rows, cols = y + alpha * displacement, x + alpha * displacement
    order = 0 if interpolation == "nearest" else 1

    def sample(channel, row, col):
        return jax.scipy.ndimage.map_coordinates(channel, [row, col], order, fill_mode, fill_value)

    per_channel = jax.vmap(sample, in_axes=(2, None, None), out_axes=2)
    out = jax.vmap(per_channel)(images, rows, cols).astype(images.dtype)
    return jnp.transpose(out, (0, 3, 1, 2)) if data_format == "channels_first" else out
