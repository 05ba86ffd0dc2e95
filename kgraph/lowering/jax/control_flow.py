"""JAX rules for control-flow ops: `lax.cond`, `lax.while_loop` and `lax.scan` over lowered sub-Graphs."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kgraph.lowering.jax.lower import lower_to_jax
from kgraph.lowering.jax.registry import jax_rule


def _bind(graph, captured):
    """The sub-Graph as a function of its inputs, with its params bound to `captured` (in `graph.params` order)."""
    fn = lower_to_jax(graph)
    params = {p.name: value for p, value in zip(graph.params, captured)}
    return lambda *inputs: fn(params, list(inputs))[0]


def _split(captured, *graphs):
    parts, start = [], 0
    for graph in graphs:
        parts.append(captured[start:start + len(graph.params)])
        start += len(graph.params)
    return parts


def _single(outputs):
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


@jax_rule("cond")
def _cond(pred, *captured, true_branch, false_branch):
    true_captured, false_captured = _split(captured, true_branch, false_branch)
    true_fn, false_fn = _bind(true_branch, true_captured), _bind(false_branch, false_captured)
    outputs = jax.lax.cond(pred, lambda: tuple(true_fn()), lambda: tuple(false_fn()))
    return _single(outputs)


@jax_rule("while_loop")
def _while_loop(*inputs, cond, body, num_vars, maximum_iterations):
    loop_vars = tuple(inputs[:num_vars])
    cond_captured, body_captured = _split(inputs[num_vars:], cond, body)
    cond_fn, body_fn = _bind(cond, cond_captured), _bind(body, body_captured)
    if maximum_iterations is None:
        outputs = jax.lax.while_loop(lambda v: cond_fn(*v)[0], lambda v: tuple(body_fn(*v)), loop_vars)
    else:
        def step_cond(state):
            i, v = state
            return jnp.logical_and(i < maximum_iterations, cond_fn(*v)[0])

        def step_body(state):
            i, v = state
            return i + 1, tuple(body_fn(*v))

        _, outputs = jax.lax.while_loop(step_cond, step_body, (jnp.zeros((), jnp.int32), loop_vars))
    return _single(outputs)


@jax_rule("scan")
def _scan(*inputs, body, num_carry, num_xs, length, reverse, unroll):
    carry = tuple(inputs[:num_carry])
    xs = tuple(inputs[num_carry:num_carry + num_xs])
    body_fn = _bind(body, inputs[num_carry + num_xs:])

    def step(carry, x):
        outputs = body_fn(*carry, *x)
        return tuple(outputs[:num_carry]), tuple(outputs[num_carry:])

    final, ys = jax.lax.scan(step, carry, xs, length=length, reverse=reverse, unroll=unroll)
    return _single([*final, *ys])
