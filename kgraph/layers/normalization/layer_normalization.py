"""LayerNormalization: normalizes each sample over its feature axes, then scales and shifts."""

from __future__ import annotations

import warnings

from kgraph import initializers, ops, regularizers
from kgraph.layers.layer import Layer
from kgraph.layers.normalization.axes import checked_axes


class LayerNormalization(Layer):
    """Layer normalization (Ba et al., 2016): each sample is normalized by its own mean and variance over `axis`.

    Args:
        axis: an int or a list of ints, the axes to normalize over (typically the features axis).
        epsilon: added to the variance.
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned `gamma`.
        rms_scaling: Keras' deprecated variant that skips centering and `beta` and multiplies
            `x * rsqrt(variance + epsilon)` by `gamma`.
        beta_initializer, gamma_initializer: initializers for beta (default zeros) and gamma (default ones).
        beta_regularizer, gamma_regularizer: penalties on beta and gamma added to the loss.
        beta_constraint, gamma_constraint: constraints on beta and gamma.
    """

    supports_masking = True

    def __init__(self, axis=-1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 rms_scaling: bool = False, beta_initializer="zeros", gamma_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError(f"LayerNormalization: `axis` must be an int or a list of ints, got axis={axis!r}")
        if rms_scaling:
            warnings.warn("You passed `rms_scaling=True`, which is deprecated in Keras 3: it scales the input by "
                          "the variance, not the root mean square.", stacklevel=2)
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.rms_scaling = rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint
        self.gamma = self.beta = None

    def build(self, input_shape):
        has_gamma, has_beta = self.scale or self.rms_scaling, self.center and not self.rms_scaling
        self._axes = checked_axes(self, self.axis, input_shape, known_size=has_gamma or has_beta)
        shape = tuple(input_shape[a] for a in self._axes)
        if has_gamma:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                         autocast=False)
        if has_beta:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                        autocast=False)
        self.built = True

    def call(self, inputs):
        outputs = ops.layer_normalization(inputs, self.gamma, self.beta, axis=self._axes, epsilon=self.epsilon,
                                          rms_scaling=self.rms_scaling)
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": self.beta_constraint,
            "gamma_constraint": self.gamma_constraint,
        }
