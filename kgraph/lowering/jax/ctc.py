"""JAX rule for the CTC loss (optax's forward algorithm, as Keras' JAX backend uses)."""

import jax.numpy as jnp
import optax

from kgraph.lowering.jax.registry import jax_rule


def _paddings(lengths, max_length, dtype):
    return (jnp.arange(max_length)[None, :] >= lengths[:, None]).astype(dtype)


@jax_rule("ctc_loss")
def _ctc_loss(target, output, target_length, output_length, mask_index):
    logit_paddings = _paddings(output_length, output.shape[1], output.dtype)
    label_paddings = _paddings(target_length, target.shape[1], output.dtype)
    return optax.ctc_loss(output, logit_paddings, target.astype("int32"), label_paddings, blank_id=mask_index)
