"""BatchNormalization: normalizes by batch statistics while training and by their moving averages otherwise."""

from __future__ import annotations

from kgraph import config, initializers, ops, regularizers
from kgraph.layers.layer import Layer
from kgraph.layers.normalization.axes import checked_axes
from kgraph.ops.normalization import normalize_batch


class BatchNormalization(Layer):
    """Batch normalization (Ioffe and Szegedy, 2015).

    With `training=True` the layer normalizes by the batch's mean and variance and moves `moving_mean` and
    `moving_variance` towards them (`moving = moving * momentum + batch * (1 - momentum)`), a state update that
    `fit` applies inside the compiled step. Otherwise it normalizes by the moving statistics. A layer with
    `trainable = False` is frozen: it runs in inference mode even when called with `training=True`.

    Args:
        axis: the channel axis, whose entries are normalized separately.
        momentum: the moving averages' momentum.
        epsilon: added to the variance.
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned `gamma`.
        beta_initializer, gamma_initializer: initializers for beta (default zeros) and gamma (default ones).
        moving_mean_initializer, moving_variance_initializer: initializers for the moving statistics.
        beta_regularizer, gamma_regularizer: penalties on beta and gamma added to the loss.
        beta_constraint, gamma_constraint: constraints on beta and gamma.
    """

    supports_masking = True

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint
        self.gamma = self.beta = None

    def build(self, input_shape):
        (axis,) = checked_axes(self, self.axis, input_shape)
        shape = (input_shape[axis],)
        if self.scale:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                         autocast=False)
        if self.center:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                        autocast=False)
        self.moving_mean = self.add_weight(shape=shape, initializer=self.moving_mean_initializer,
                                           trainable=False, autocast=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=shape, initializer=self.moving_variance_initializer,
                                               trainable=False, autocast=False, name="moving_variance")
        self._input_shape = tuple(input_shape)
        self._reduction_axes = tuple(i for i in range(len(input_shape)) if i != axis)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        self._check_input(inputs, mask)
        dtype = "float64" if inputs.dtype == "float64" else "float32"
        x = ops.cast(inputs, dtype)
        moving_mean, moving_variance = ops.cast(self.moving_mean, dtype), ops.cast(self.moving_variance, dtype)
        gamma = ops.cast(self.gamma, dtype) if self.scale else None
        beta = ops.cast(self.beta, dtype) if self.center else None
        if training and self.trainable:
            if mask is None:
                outputs, mean, variance = normalize_batch(x, self.axis, offset=beta, scale=gamma,
                                                          epsilon=self.epsilon)
            else:
                mean, variance = self._moments(x, mask)
                outputs = ops.batch_normalization(x, mean, variance, axis=self.axis, offset=beta, scale=gamma,
                                                  epsilon=self.epsilon)
            self._update_moving(self.moving_mean, moving_mean, mean)
            self._update_moving(self.moving_variance, moving_variance, variance)
        else:
            outputs = ops.batch_normalization(x, moving_mean, moving_variance, axis=self.axis, offset=beta,
                                              scale=gamma, epsilon=self.epsilon)
        return ops.cast(outputs, self.compute_dtype)

    def _check_input(self, inputs, mask) -> None:
        expected, shape = self._input_shape, tuple(inputs.shape)
        axis = self.axis % len(expected)
        if len(shape) != len(expected) or shape[axis] not in (None, expected[axis]):
            raise ValueError(f"Layer {self.name!r} (BatchNormalization) was built for inputs of shape {expected} "
                             f"(axis {self.axis} of size {expected[axis]}), got inputs of shape {shape}")
        if mask is not None and len(mask.shape) != len(shape) - 1:
            raise ValueError(f"Layer {self.name!r} (BatchNormalization): the mask must have one dim less than the "
                             f"inputs, got mask shape {tuple(mask.shape)} and inputs shape {shape}")

    def _update_moving(self, variable, moving, batch) -> None:
        new = ops.add(ops.multiply(moving, self.momentum), ops.multiply(batch, 1.0 - self.momentum))
        variable.assign(ops.cast(new, variable.dtype))

    def _moments(self, x, mask):
        """The batch's mean and variance per channel; with a mask, over the unmasked positions only."""
        axes = self._reduction_axes
        if mask is None:
            return ops.moments(x, axes)
        keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
        count = ops.add(ops.sum(ops.where(keep, ops.ones_like(x), 0.0), axis=axes, keepdims=True), config.epsilon())
        mean = ops.divide(ops.sum(ops.where(keep, x, 0.0), axis=axes, keepdims=True), count)
        squares = ops.square(ops.where(keep, ops.subtract(x, mean), 0.0))
        variance = ops.divide(ops.sum(squares, axis=axes, keepdims=True), count)
        return ops.squeeze(mean, axes), ops.squeeze(variance, axes)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": self.beta_constraint,
            "gamma_constraint": self.gamma_constraint,
        }
