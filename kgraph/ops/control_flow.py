"""Control flow with Keras' `keras.ops` signatures: `cond`, `while_loop`, `fori_loop` and `scan`.

On arrays and JAX tracers (eager code, a compiled step) they are `jax.lax`'s. While a layer's `call` is traced,
the branch or body functions are traced once into sub-Graphs recorded by the `cond`, `while_loop` and `scan` IR ops;
the variables and enclosing tensors a function reads become inputs of the node, so gradients reach them.
"""

from __future__ import annotations

from typing import Callable

import jax
import numpy as np

from kgraph.ir import TensorType
from kgraph.ir.passes import eliminate_dead_code
from kgraph.ir.types import canonical_dtype
from kgraph.keras_tensor import KerasTensor
from kgraph.ops.dispatch import convert, result_dtype, unwrap
from kgraph.tracing import SymbolicTensor, Trace, current_trace

__all__ = ["cond", "fori_loop", "scan", "while_loop"]


class _SubgraphTrace(Trace):
    """A Trace whose graph may read tensors of enclosing traces: each becomes a param (`captured_<i>`)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.captured: dict[str, SymbolicTensor] = {}
        self._captured_values: dict[int, object] = {}

    def _as_value(self, x):
        if isinstance(x, SymbolicTensor) and x.trace is not self:
            value = self._captured_values.get(id(x.ir_value))
            if value is None:
                name = f"captured_{len(self.captured)}"
                value = self.graph.add_param(x.type, name)
                self.captured[name] = x
                self._captured_values[id(x.ir_value)] = value
            return value
        return super()._as_value(x)


def _trace_function(fn: Callable, input_types: list[TensorType], name: str, op: str):
    """Traces `fn(*inputs)` into a Graph; returns (graph, output structure, the outer values of its params)."""
    with _SubgraphTrace(name) as trace:
        inputs = [trace.input(t, f"input_{i}") for i, t in enumerate(input_types)]
        results = fn(*inputs)
        leaves, structure = jax.tree_util.tree_flatten(results)
        values = []
        for leaf in leaves:
            leaf = unwrap(leaf)
            if not isinstance(leaf, SymbolicTensor):
                leaf = convert(leaf, result_dtype(leaf))
            values.append(trace._as_value(leaf))
        trace.graph.outputs = values
    if trace.graph.rng is not None or trace.graph.losses or trace.graph.updates:
        raise ValueError(f"{op}: {name} must be deterministic and must not add losses or assign variables")
    graph = eliminate_dead_code(trace.graph)
    outer = []
    for p in graph.params:
        if p.name in trace.captured:
            outer.append(trace.captured[p.name])
        else:
            outer.append(trace.variables[p.name].value)  # read again, now in the enclosing trace
    return graph, structure, outer


def _type_of(x) -> TensorType:
    return x.type if isinstance(x, SymbolicTensor) else TensorType(canonical_dtype(x.dtype), tuple(x.shape))


def _symbolic_leaves(leaves: list, trace: Trace) -> list:
    """Loop variables as tensors of `trace`: Python numbers and arrays become constants of their Keras dtype."""
    out = []
    for leaf in leaves:
        leaf = unwrap(leaf)
        if isinstance(leaf, SymbolicTensor):
            out.append(leaf if leaf.trace is trace else SymbolicTensor(trace, trace._as_value(leaf)))
        else:
            out.append(trace.constant(convert(leaf, result_dtype(leaf))))
    return out


def _tracing(*trees) -> Trace | None:
    """The trace to record into, or None to run on arrays; KerasTensors are refused (they cannot hold variables)."""
    leaves = [unwrap(x) for x in jax.tree_util.tree_leaves(trees)]
    if any(isinstance(x, KerasTensor) for x in leaves):
        raise TypeError("control flow on KerasTensors is not supported: call kgraph.ops.cond, while_loop, fori_loop "
                        "or scan inside a layer's call()")
    return current_trace()


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def cond(pred, true_fn: Callable, false_fn: Callable):
    """`true_fn()` if `pred` else `false_fn()`; both must return the same structure of same-typed tensors.

    Args:
        pred: a bool scalar (a Python bool picks the branch at once).
        true_fn, false_fn: functions of no arguments, written with `kgraph.ops`.
    """
    pred = unwrap(pred)
    trace = _tracing(pred)
    if isinstance(pred, (bool, np.bool_)) or (isinstance(pred, np.ndarray) and trace is None):
        return true_fn() if bool(pred) else false_fn()
    if trace is None:
        return jax.lax.cond(pred, true_fn, false_fn)
    true_graph, true_structure, true_outer = _trace_function(true_fn, [], "true_fn", "cond")
    false_graph, false_structure, false_outer = _trace_function(false_fn, [], "false_fn", "cond")
    if true_structure != false_structure:
        raise ValueError(f"cond: true_fn and false_fn must return the same structure; got {true_structure} and "
                         f"{false_structure}")
    pred = _symbolic_leaves([pred], trace)[0]
    if pred.dtype != "bool":
        pred = trace.emit("cast", [pred], {"dtype": "bool"})
    outputs = trace.emit("cond", [pred, *true_outer, *false_outer],
                         {"true_branch": true_graph, "false_branch": false_graph})
    return jax.tree_util.tree_unflatten(true_structure, _as_list(outputs))


def _symbolic_while(trace: Trace, cond_fn: Callable, body_fn: Callable, leaves: list, structure,
                    maximum_iterations):
    leaves = _symbolic_leaves(leaves, trace)
    types = [x.type for x in leaves]

    def as_tree(*xs):
        return jax.tree_util.tree_unflatten(structure, list(xs))

    cond_graph, _, cond_outer = _trace_function(lambda *xs: cond_fn(as_tree(*xs)), types, "cond", "while_loop")
    body_graph, body_structure, body_outer = _trace_function(lambda *xs: body_fn(as_tree(*xs)), types, "body",
                                                             "while_loop")
    if body_structure != structure:
        raise ValueError(f"while_loop: body must return the loop variables' structure {structure}, got "
                         f"{body_structure}")
    if cond_graph.outputs and cond_graph.outputs[0].type.dtype != "bool":
        raise ValueError(f"while_loop: cond must return a bool scalar, got {cond_graph.outputs[0].type}")
    outputs = trace.emit("while_loop", [*leaves, *cond_outer, *body_outer],
                         {"cond": cond_graph, "body": body_graph, "num_vars": len(leaves),
                          "maximum_iterations": None if maximum_iterations is None else int(maximum_iterations)})
    return jax.tree_util.tree_unflatten(structure, _as_list(outputs))


def while_loop(cond: Callable, body: Callable, loop_vars, maximum_iterations: int | None = None):
    """Runs `loop_vars = body(*loop_vars)` while `cond(*loop_vars)`, at most `maximum_iterations` times.

    Args:
        cond: takes the loop variables, returns a bool scalar.
        body: takes the loop variables, returns new ones of the same structure, shapes and dtypes.
        loop_vars: a tensor, or a tuple or list of them.
        maximum_iterations: an optional bound on the number of iterations.
    Returns the final loop variables, in the structure of `loop_vars`.
    """
    is_tuple = isinstance(loop_vars, (tuple, list))
    loop_vars = tuple(loop_vars) if is_tuple else (loop_vars,)

    def cond_fn(v):
        return cond(*v)

    def body_fn(v):
        out = body(*v)
        return tuple(out) if is_tuple else (out,)

    trace = _tracing(loop_vars)
    if trace is not None:
        leaves, structure = jax.tree_util.tree_flatten(loop_vars)
        outputs = _symbolic_while(trace, cond_fn, body_fn, leaves, structure, maximum_iterations)
    elif maximum_iterations is None:
        outputs = jax.lax.while_loop(cond_fn, body_fn, loop_vars)
    else:
        def bounded_cond(state):
            i, v = state
            return jax.numpy.logical_and(i < maximum_iterations, cond_fn(v))

        def bounded_body(state):
            i, v = state
            return i + 1, body_fn(v)

        _, outputs = jax.lax.while_loop(bounded_cond, bounded_body, (0, loop_vars))
    return outputs if is_tuple else outputs[0]


def fori_loop(lower, upper, body_fun: Callable, init_val):
    """`val = body_fun(i, val)` for i in [lower, upper); returns the final `val`.

    With Python int bounds the traced loop is a `scan` (differentiable); with tensor bounds it is a `while_loop`.

    Args:
        lower, upper: the int bounds (scalars or scalar tensors).
        body_fun: takes the index and the value, returns a value of the same structure and types.
        init_val: the initial value: a tensor or a structure of tensors.
    """
    trace = _tracing((lower, upper, init_val))
    if trace is None:
        return jax.lax.fori_loop(lower, upper, body_fun, init_val)
    if all(isinstance(unwrap(b), (int, np.integer)) for b in (lower, upper)):
        # Static bounds: a scan of (i, val), which reverse-mode differentiation supports (as jax.lax.fori_loop does).
        def step(carry, _):
            i, value = carry
            return (i + 1, body_fun(i, value)), None

        (_, value), _ = scan(step, (np.int32(lower), init_val), length=max(int(upper) - int(lower), 0))
        return value
    lower, upper = (convert(b, "int32") for b in (lower, upper))
    (i, value) = while_loop(lambda i, value: i < upper, lambda i, value: (i + 1, body_fun(i, value)),
                            (lower, init_val))
    return value


def scan(f: Callable, init, xs=None, length: int | None = None, reverse: bool = False, unroll: int | bool = 1):
    """`carry, y = f(carry, x)` over the leading axis of `xs`; returns `(final carry, stacked ys)`.

    Args:
        f: takes the carry and one slice of `xs` (None without `xs`), returns the new carry (same structure and types)
            and this step's output (any structure of tensors, or None).
        init: the initial carry, a tensor or a structure of them.
        xs: the sequence(s) scanned along axis 0, or None with `length`.
        length: the number of steps; needed without `xs`.
        reverse: scan from the last slice to the first (ys stay in the order of `xs`).
        unroll: how many steps each loop iteration runs (JAX's `unroll`).
    """
    trace = _tracing((init, xs))
    if trace is None:
        return jax.lax.scan(f, init, xs, length=length, reverse=reverse, unroll=unroll)
    carry_leaves, carry_structure = jax.tree_util.tree_flatten(init)
    x_leaves, x_structure = jax.tree_util.tree_flatten(xs)
    carry_leaves = _symbolic_leaves(carry_leaves, trace)
    x_leaves = _symbolic_leaves(x_leaves, trace)
    lengths = {x.type.shape[0] for x in x_leaves}
    if length is None and not x_leaves:
        raise ValueError("scan: pass xs or length")
    if len(lengths) > 1 or (length is not None and any(isinstance(n, int) and n != length for n in lengths)):
        raise ValueError(f"scan: xs' leading lengths {sorted(map(str, lengths))} differ from each other or from "
                         f"length={length}")
    num_carry = len(carry_leaves)
    types = [x.type for x in carry_leaves] + [TensorType(x.dtype, x.type.shape[1:]) for x in x_leaves]
    y_structure = []

    def step(*inputs):
        carry = jax.tree_util.tree_unflatten(carry_structure, list(inputs[:num_carry]))
        x = jax.tree_util.tree_unflatten(x_structure, list(inputs[num_carry:]))
        new_carry, y = f(carry, x)
        new_leaves, new_structure = jax.tree_util.tree_flatten(new_carry)
        if new_structure != carry_structure:
            raise ValueError(f"scan: f must return a carry of the structure {carry_structure}, got {new_structure}")
        y_leaves, structure = jax.tree_util.tree_flatten(y)
        y_structure.append(structure)
        return [*new_leaves, *y_leaves]

    body, _, outer = _trace_function(step, types, "scan_body", "scan")
    outputs = trace.emit("scan", [*carry_leaves, *x_leaves, *outer],
                         {"body": body, "num_carry": num_carry, "num_xs": len(x_leaves),
                          "length": None if length is None else int(length),
                          "reverse": bool(reverse), "unroll": int(unroll)})
    outputs = _as_list(outputs)
    return (jax.tree_util.tree_unflatten(carry_structure, outputs[:num_carry]),
            jax.tree_util.tree_unflatten(y_structure[0], outputs[num_carry:]))
