"""Normalization: `(inputs - mean) / sqrt(variance)` per feature, with statistics given or learned by `adapt`."""

from __future__ import annotations

import math

import numpy as np

from kgraph import config, ops
from kgraph.layers.layer import Layer


class Normalization(Layer):
    """Standardizes features with a mean and variance kept for each position of `axis`.

    Args:
        axis: the axis or axes that keep their own statistics (default -1, the features); None for one
            mean and variance over everything.
        mean, variance: fixed statistics, broadcast to the kept axes; without them, call `adapt(data)`.
        invert: whether to undo the normalization, `mean + inputs * sqrt(variance)`.
    """

    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.axis = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        if (mean is None) != (variance is None):
            raise ValueError(f"Layer {self.name!r} (Normalization) needs both `mean` and `variance` or neither, got "
                             f"mean={mean!r} and variance={variance!r}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"Layer {self.name!r} (Normalization): `mean` of shape {np.shape(mean)} and "
                                 f"`variance` of shape {np.shape(variance)} must have the same shape")
            if np.ndim(mean) > len(self.axis):
                raise ValueError(f"Layer {self.name!r} (Normalization): `mean` of shape {np.shape(mean)} has more "
                                 f"dims than the {len(self.axis)} kept axes {self.axis}")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"Layer {self.name!r} (Normalization): axis {self.axis} is out of range for inputs of "
                             f"shape {tuple(input_shape)}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[a] is None for a in self._keep_axis):
            raise ValueError(f"Layer {self.name!r} (Normalization): the kept axes {self.axis} must have known sizes, "
                             f"got input shape {tuple(input_shape)}")
        self._reduce_axis = tuple(a for a in range(ndim) if a not in self._keep_axis)
        self._build_input_shape = tuple(input_shape)
        self._broadcast_shape = tuple(input_shape[a] if a in self._keep_axis else 1 for a in range(ndim))
        stats_shape = tuple(input_shape[a] for a in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=stats_shape, initializer="zeros", trainable=False, name="mean")
            self.adapt_variance = self.add_weight(shape=stats_shape, initializer="ones", trainable=False,
                                                  name="variance")
            self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False, name="count")
        else:
            self._fixed = [self._broadcast(np.asarray(v, self.compute_dtype))
                           for v in (self.input_mean, self.input_variance)]
        self.built = True

    def _broadcast(self, stats: np.ndarray) -> np.ndarray:
        """Statistics aligned with the last kept axes, as Keras aligns a `mean` of lower rank."""
        expanded = [1] * len(self._broadcast_shape)
        for i in range(1, stats.ndim + 1):
            expanded[self._keep_axis[-i]] = stats.shape[-i]
        return np.broadcast_to(stats.reshape(expanded), self._broadcast_shape)

    def adapt(self, data) -> None:
        """Sets mean and variance from `data`: an array, or an iterable of batches whose statistics are merged.

        Args:
            data: a NumPy/JAX array, or an iterable (list, generator) of arrays of one shape but the batch dim.
        """
        if self.input_mean is not None:
            raise ValueError(f"Layer {self.name!r} (Normalization) was given a fixed mean and variance; it cannot "
                             "adapt")
        batches = [data] if hasattr(data, "shape") else iter(data)
        total_mean = total_var = None
        total_count = 0
        for batch in batches:
            batch = np.asarray(batch)
            if not self.built:
                self.build(batch.shape)
            for a in self._keep_axis:
                if batch.shape[a] != self._build_input_shape[a]:
                    raise ValueError(f"Layer {self.name!r} (Normalization) was built for inputs of shape "
                                     f"{self._build_input_shape}; adapt got data of shape {batch.shape}")
            mean, var = np.mean(batch, axis=self._reduce_axis), np.var(batch, axis=self._reduce_axis)
            count = math.prod(batch.shape[a] for a in self._reduce_axis)
            if total_mean is None:
                total_mean, total_var, total_count = mean, var, count
                continue
            total_count += count
            weight = count / total_count
            new_mean = total_mean * (1 - weight) + mean * weight
            total_var = ((total_var + (total_mean - new_mean) ** 2) * (1 - weight)
                         + (var + (mean - new_mean) ** 2) * weight)
            total_mean = new_mean
        if total_mean is None:
            raise ValueError(f"Layer {self.name!r} (Normalization): adapt got no data")
        self.adapt_mean.assign(total_mean)
        self.adapt_variance.assign(total_var)
        self.count.assign(total_count)

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.input_mean is None:
            mean = ops.reshape(self.adapt_mean, self._broadcast_shape)
            variance = ops.reshape(self.adapt_variance, self._broadcast_shape)
        else:
            mean, variance = self._fixed
        std = ops.maximum(ops.sqrt(variance), config.epsilon())
        if self.invert:
            return ops.add(mean, ops.multiply(x, std))
        return ops.divide(ops.subtract(x, mean), std)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.asarray(self.input_mean).tolist(), "variance": np.asarray(self.input_variance).tolist()}
