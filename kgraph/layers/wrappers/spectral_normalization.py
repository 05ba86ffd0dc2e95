"""SpectralNormalization: divides a layer's kernel by its largest singular value, estimated by power iteration."""

from __future__ import annotations

from kgraph import config, initializers, ops
from kgraph.layers.layer import Layer
from kgraph.layers.wrappers.wrapper import Wrapper


def _l2_normalize(x):
    """`x` over its L2 norm, as Keras' `normalize(x, axis=None)` computes it (rsqrt, capped at 1 / epsilon)."""
    inverse_norm = ops.minimum(ops.rsqrt(ops.sum(ops.square(x), keepdims=True)), 1.0 / config.epsilon())
    return ops.multiply(x, inverse_norm)


class SpectralNormalization(Wrapper):
    """Constrains the spectral norm of the wrapped layer's kernel (or embeddings) to 1 while training (Miyato et
    al., 2018), as Keras does.

    Each training call runs `power_iterations` steps of power iteration from the non-trainable `vector_u`, keeps
    the new `vector_u`, and runs the layer with its kernel divided by the estimated largest singular value, which
    it also assigns to the kernel: an eager call keeps it, a compiled training step keeps only `vector_u` (the
    optimizer updates the kernel), as Keras on JAX does. Inference runs the layer as it is.

    Args:
        layer: a layer with a `kernel` or `embeddings` weight.
        power_iterations: the number of power-iteration steps per training call (positive).
    """

    def __init__(self, layer: Layer, power_iterations: int = 1, **kwargs):
        super().__init__(layer, **kwargs)
        if power_iterations <= 0:
            raise ValueError("`power_iterations` should be greater than zero. Received: "
                             f"`power_iterations={power_iterations}`")
        self.power_iterations = power_iterations

    def build(self, input_shape=None) -> None:
        super().build(input_shape)
        if hasattr(self.layer, "kernel"):
            self._kernel_name = "kernel"
        elif hasattr(self.layer, "embeddings"):
            self._kernel_name = "embeddings"
        else:
            raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' nor 'embeddings'")
        self.kernel = getattr(self.layer, self._kernel_name)
        self.kernel_shape = tuple(self.kernel.shape)
        self.vector_u = self.add_weight(shape=(1, self.kernel_shape[-1]),
                                        initializer=initializers.TruncatedNormal(stddev=0.02), trainable=False,
                                        name="vector_u", dtype=self.kernel.dtype)
        self.built = True

    def normalized_weights(self) -> tuple:
        """(the new `vector_u`, the kernel divided by its estimated spectral norm)."""
        weights = ops.reshape(self.kernel.value, (-1, self.kernel_shape[-1]))
        vector_u = self.vector_u.value
        for _ in range(self.power_iterations):
            vector_v = _l2_normalize(ops.matmul(vector_u, ops.transpose(weights)))
            vector_u = _l2_normalize(ops.matmul(vector_v, weights))
        vector_u, vector_v = ops.stop_gradient(vector_u), ops.stop_gradient(vector_v)
        sigma = ops.matmul(ops.matmul(vector_v, weights), ops.transpose(vector_u))
        kernel = ops.reshape(ops.divide(self.kernel.value, sigma), self.kernel_shape)
        return ops.cast(vector_u, self.vector_u.dtype), ops.cast(kernel, self.kernel.dtype)

    def call(self, inputs, training=False):
        if not training:
            return ops.cast(self.layer(inputs), inputs.dtype)
        kernel = self.kernel.value
        new_vector_u, new_kernel = self.normalized_weights()
        all_zero = ops.all(ops.equal(kernel, 0))
        self.vector_u.assign(ops.where(all_zero, self.vector_u.value, new_vector_u))
        new_kernel = ops.where(all_zero, kernel, new_kernel)
        self.kernel.assign(new_kernel)
        variable = getattr(self.layer, self._kernel_name)
        object.__setattr__(self.layer, self._kernel_name, new_kernel)
        try:
            output = self.layer(inputs)
        finally:
            object.__setattr__(self.layer, self._kernel_name, variable)
        return ops.cast(output, inputs.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "power_iterations": self.power_iterations}
