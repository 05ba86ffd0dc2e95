"""JAX rules for recurrent ops: one `lax.scan` driver with Keras' masking, and the step of each cell."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from kgraph.ir.ops.recurrent import unpack_recurrent_inputs
from kgraph.lowering.jax.lower import lower_to_jax
from kgraph.lowering.jax.registry import jax_rule

ACTIVATIONS = {
    "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "hard_sigmoid": jax.nn.hard_sigmoid, "relu": jax.nn.relu,
    "linear": lambda x: x, "elu": jax.nn.elu, "softsign": jax.nn.soft_sign, "softplus": jax.nn.softplus,
}

Step = Callable[[jax.Array, tuple], tuple[jax.Array, tuple]]


def _where(mask_t, new, old):
    """`new` where the step is unmasked, `old` where it is masked; `mask_t` is (batch,)."""
    return jnp.where(mask_t.reshape(mask_t.shape + (1,) * (jnp.ndim(new) - 1)), new, old)


def scan(step: Step, x, states: tuple, mask, go_backwards: bool, return_sequences: bool,
         zero_output_for_mask: bool, outputs_in_input_order: bool):
    """Runs `step(x_t, states) -> (y_t, states)` over x's time axis (1) as Keras' `backend.rnn` does."""
    xs = jnp.swapaxes(x, 0, 1)
    masks = None if mask is None else jnp.swapaxes(mask, 0, 1)
    y_type = jax.eval_shape(step, xs[0], states)[0]

    def body(carry, inputs):
        states, _ = carry
        x_t, mask_t = inputs
        y, new_states = step(x_t, states)
        if mask_t is not None:
            new_states = tuple(_where(mask_t, n, s) for n, s in zip(new_states, states))
            y = _where(mask_t, y, jnp.zeros_like(y) if zero_output_for_mask else states[0])
        return (new_states, y), (y if return_sequences else None)

    init = (tuple(states), jnp.zeros(y_type.shape, y_type.dtype))
    (final, last), ys = jax.lax.scan(body, init, (xs, masks), reverse=go_backwards)
    if not return_sequences:
        return last, final
    if go_backwards and not outputs_in_input_order:
        ys = jnp.flip(ys, axis=0)
    return jnp.swapaxes(ys, 0, 1), final


def _projection(kernel, bias):
    """x_t @ kernel (+ bias), computed inside the step: on XLA's CPU backend a scan over the per-step input is
    faster, forward and backward, than one matmul over all steps followed by a scan over its (wider) result."""
    if bias is None:
        return lambda x_t: x_t @ kernel
    return lambda x_t: x_t @ kernel + bias


def _simple_rnn_step(project, recurrent_kernel, activation: str) -> Step:
    act = ACTIVATIONS[activation]

    def step(x_t, states):
        h = act(project(x_t) + states[0] @ recurrent_kernel)
        return h, (h,)

    return step


def _lstm_step(project, recurrent_kernel, activation: str, recurrent_activation: str) -> Step:
    act, gate = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]

    def step(x_t, states):
        h, c = states
        i, f, g, o = jnp.split(project(x_t) + h @ recurrent_kernel, 4, axis=-1)
        c = gate(f) * c + gate(i) * act(g)
        h = gate(o) * act(c)
        return h, (h, c)

    return step


def _gru_step(project, recurrent_kernel, recurrent_bias, activation: str, recurrent_activation: str,
              reset_after: bool) -> Step:
    act, gate = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    units = recurrent_kernel.shape[0]

    def step(x_t, states):
        (h,) = states
        x_z, x_r, x_h = jnp.split(project(x_t), 3, axis=-1)
        if reset_after:
            inner = h @ recurrent_kernel + (0 if recurrent_bias is None else recurrent_bias)
            r_z, r_r, r_h = jnp.split(inner, 3, axis=-1)
            z, r = gate(x_z + r_z), gate(x_r + r_r)
            candidate = act(x_h + r * r_h)
        else:
            r_z, r_r = jnp.split(h @ recurrent_kernel[:, :2 * units], 2, axis=-1)
            z, r = gate(x_z + r_z), gate(x_r + r_r)
            candidate = act(x_h + (r * h) @ recurrent_kernel[:, 2 * units:])
        h = z * h + (1 - z) * candidate
        return h, (h,)

    return step


def _fused(op: str):
    def rule(*inputs, activation, go_backwards, return_sequences, zero_output_for_mask, masked,
             outputs_in_input_order, use_bias, recurrent_activation="sigmoid", reset_after=False):
        parts = unpack_recurrent_inputs(op, list(inputs), use_bias, masked)
        input_bias, recurrent_bias = parts.bias, None
        if op == "gru" and reset_after and use_bias:
            input_bias, recurrent_bias = parts.bias[0], parts.bias[1]
        project = _projection(parts.kernel, input_bias)
        if op == "simple_rnn":
            step = _simple_rnn_step(project, parts.recurrent_kernel, activation)
        elif op == "lstm":
            step = _lstm_step(project, parts.recurrent_kernel, activation, recurrent_activation)
        else:
            step = _gru_step(project, parts.recurrent_kernel, recurrent_bias, activation, recurrent_activation,
                             reset_after)
        output, final = scan(step, parts.x, tuple(parts.states), parts.mask, go_backwards, return_sequences,
                             zero_output_for_mask, outputs_in_input_order)
        return (output, *final)

    return rule


for _op in ("simple_rnn", "lstm", "gru"):
    jax_rule(_op)(_fused(_op))


@jax_rule("rnn")
def _rnn(x, *rest, body, num_states, go_backwards, return_sequences, zero_output_for_mask, masked,
         outputs_in_input_order):
    states = tuple(rest[:num_states])
    captured = rest[num_states:num_states + len(body.params)]
    params = {p.name: value for p, value in zip(body.params, captured)}
    fn = lower_to_jax(body)

    def step(x_t, states):
        outputs = fn(params, [x_t, *states])[0]
        return outputs[0], tuple(outputs[1:])

    output, final = scan(step, x, states, rest[-1] if masked else None, go_backwards, return_sequences,
                         zero_output_for_mask, outputs_in_input_order)
    return (output, *final)
