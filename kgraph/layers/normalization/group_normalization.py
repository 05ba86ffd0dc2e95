"""GroupNormalization: normalizes each sample's groups of channels, then scales and shifts per channel."""

from __future__ import annotations

from kgraph import initializers, ops, regularizers
from kgraph.layers.layer import Layer
from kgraph.layers.normalization.axes import checked_axes


class GroupNormalization(Layer):
    """Group normalization (Wu and He, 2018): the channels are split into `groups` and each sample's group is
    normalized by its own mean and variance; `groups=-1` is instance normalization, `groups=1` layer norm.

    Args:
        groups: the number of groups, a divisor of the channel count, or -1 for one group per channel.
        axis: the channel axis.
        epsilon: added to the variance.
        center: whether to add the learned per-channel offset `beta`.
        scale: whether to multiply by the learned per-channel `gamma`.
        beta_initializer, gamma_initializer: initializers for beta (default zeros) and gamma (default ones).
        beta_regularizer, gamma_regularizer: penalties on beta and gamma added to the loss.
        beta_constraint, gamma_constraint: constraints on beta and gamma.
    """

    supports_masking = True

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        if isinstance(groups, bool) or not isinstance(groups, int) or (groups <= 0 and groups != -1):
            raise ValueError("GroupNormalization: `groups` must be a positive integer (or -1 for instance "
                             f"normalization). Received: groups={groups!r}")
        super().__init__(**kwargs)
        self.groups = groups
        self.axis = int(axis)
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint
        self.gamma = self.beta = None

    def build(self, input_shape):
        (axis,) = checked_axes(self, self.axis, input_shape)
        channels = input_shape[axis]
        self._groups = channels if self.groups == -1 else self.groups
        if channels % self._groups:
            raise ValueError(f"Layer {self.name!r} (GroupNormalization): the {channels} channels of axis {self.axis} "
                             f"cannot be split into {self._groups} equal groups (input shape {tuple(input_shape)})")
        if self.scale:
            self.gamma = self.add_weight(shape=(channels,), initializer=self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                         autocast=False)
        if self.center:
            self.beta = self.add_weight(shape=(channels,), initializer=self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                        autocast=False)
        self.built = True

    def call(self, inputs):
        outputs = ops.group_normalization(inputs, self._groups, self.gamma, self.beta, axis=self.axis,
                                          epsilon=self.epsilon)
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": self.beta_constraint,
            "gamma_constraint": self.gamma_constraint,
        }
