"""Control-flow ops: `cond`, `while_loop` and `scan` carry traced sub-Graphs as attributes, as `rnn` carries its step.

A sub-Graph's params are the values it reads from outside (variables and tensors of the enclosing graph); the node
passes them as its trailing inputs, in the order of the sub-Graphs' params, so gradients reach them.
- `cond`: inputs pred (bool scalar), *true_branch captured, *false_branch captured; each branch takes no inputs.
- `while_loop`: inputs *loop_vars, *cond captured, *body captured; cond maps loop vars to a bool scalar, body maps
  them to new loop vars; with `maximum_iterations` the loop also stops after that many steps.
- `scan`: inputs *carry, *xs, *body captured; body maps (carry..., x_t...) to (carry..., y_t...); outputs the final
  carry then the ys stacked along a new leading axis of `length`.
"""

from __future__ import annotations

from kgraph.ir.graph import Graph
from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.types import TensorType


def _same_type(a: TensorType, b: TensorType) -> bool:
    return a.dtype == b.dtype and a.rank == b.rank and all(
        x == y or isinstance(x, str) or isinstance(y, str) for x, y in zip(a.shape, b.shape))


def check_subgraph(op: str, role: str, graph, num_inputs: int, num_outputs: int | None = None) -> None:
    """Raises unless `graph` is a deterministic Graph without losses or state updates, of the given arity."""
    if not isinstance(graph, Graph):
        raise ShapeError(f"{op}: {role} must be a Graph, got {type(graph).__name__}")
    if graph.rng is not None or graph.losses or graph.updates:
        raise ShapeError(f"{op}: the {role} graph {graph.name!r} must be deterministic, without losses or "
                         "state updates")
    if len(graph.inputs) != num_inputs or (num_outputs is not None and len(graph.outputs) != num_outputs):
        raise ShapeError(f"{op}: the {role} graph takes {num_inputs} inputs and returns "
                         f"{num_outputs if num_outputs is not None else 'some'} outputs; it has "
                         f"{len(graph.inputs)} inputs and {len(graph.outputs)} outputs")


def _check_captured(op: str, types: list, graphs: list[Graph]) -> None:
    params = [p for g in graphs for p in g.params]
    if len(types) != len(params):
        raise ShapeError(f"{op}: expected {len(params)} captured values, got {len(types)}")
    for got, param in zip(types, params):
        if not _same_type(got, param.type):
            raise ShapeError(f"{op}: captured value {param.name!r} is {got}, the sub-graph takes {param.type}")


def _check_scalar_bool(op: str, what: str, t: TensorType) -> None:
    if t.dtype != "bool" or t.rank != 0:
        raise ShapeError(f"{op}: {what} must be a bool scalar, got {t}")


def _cond_infer(types, true_branch, false_branch):
    for role, branch in (("true_branch", true_branch), ("false_branch", false_branch)):
        check_subgraph("cond", role, branch, 0)
    _check_scalar_bool("cond", "the predicate", types[0])
    _check_captured("cond", list(types[1:]), [true_branch, false_branch])
    t_out, f_out = [v.type for v in true_branch.outputs], [v.type for v in false_branch.outputs]
    if len(t_out) != len(f_out) or not all(a == b for a, b in zip(t_out, f_out)):
        raise ShapeError(f"cond: both branches must return the same types; true_fn returns {t_out}, "
                         f"false_fn returns {f_out}")
    return t_out


def _while_infer(types, cond, body, num_vars, maximum_iterations):
    check_subgraph("while_loop", "cond", cond, num_vars, 1)
    check_subgraph("while_loop", "body", body, num_vars, num_vars)
    _check_scalar_bool("while_loop", "the cond graph's output", cond.outputs[0].type)
    loop_vars = list(types[:num_vars])
    for i, (var, inner, new) in enumerate(zip(loop_vars, body.inputs, body.outputs)):
        if not _same_type(var, inner.type) or new.type != inner.type:
            raise ShapeError(f"while_loop: loop variable {i} is {var}; the body takes {inner.type} and returns "
                             f"{new.type} (a loop variable keeps its type)")
    _check_captured("while_loop", list(types[num_vars:]), [cond, body])
    if maximum_iterations is not None and (not isinstance(maximum_iterations, int) or maximum_iterations < 0):
        raise ShapeError(f"while_loop: maximum_iterations must be None or an int >= 0, got {maximum_iterations!r}")
    return loop_vars


def _scan_infer(types, body, num_carry, num_xs, length, reverse, unroll):
    check_subgraph("scan", "body", body, num_carry + num_xs)
    if len(body.outputs) < num_carry:
        raise ShapeError(f"scan: the body must return its {num_carry} carry values first, it returns "
                         f"{len(body.outputs)} outputs")
    carry, xs = list(types[:num_carry]), list(types[num_carry:num_carry + num_xs])
    if length is None and not xs:
        raise ShapeError("scan: without xs, length must be given")
    if length is not None and (not isinstance(length, int) or length < 0):
        raise ShapeError(f"scan: length must be None (xs' leading length) or an int >= 0, got {length!r}")
    steps = length if length is not None else xs[0].shape[0]
    for i, (c, inner, new) in enumerate(zip(carry, body.inputs, body.outputs)):
        if not _same_type(c, inner.type) or new.type != inner.type:
            raise ShapeError(f"scan: carry {i} is {c}; the body takes {inner.type} and returns {new.type}")
    for i, (x, inner) in enumerate(zip(xs, body.inputs[num_carry:])):
        leading_ok = x.rank >= 1 and (x.shape[0] == steps or isinstance(x.shape[0], str) or isinstance(steps, str))
        if not leading_ok or not _same_type(TensorType(x.dtype, x.shape[1:]), inner.type):
            raise ShapeError(f"scan: xs[{i}] is {x}; expected ({length}, ...) slices typed {inner.type}")
    _check_captured("scan", list(types[num_carry + num_xs:]), [body])
    ys = [TensorType(v.type.dtype, (steps,) + v.type.shape) for v in body.outputs[num_carry:]]
    return carry + ys


register("cond", _cond_infer, attrs={"true_branch": REQUIRED, "false_branch": REQUIRED},
         doc="runs true_branch or false_branch (0-input graphs) by a bool scalar; inputs pred, *captured")
register("while_loop", _while_infer, attrs={"cond": REQUIRED, "body": REQUIRED, "num_vars": REQUIRED,
                                            "maximum_iterations": None},
         doc="while cond(*vars): vars = body(*vars); inputs *loop_vars, *cond captured, *body captured")
register("scan", _scan_infer, attrs={"body": REQUIRED, "num_carry": REQUIRED, "num_xs": REQUIRED, "length": None,
                                     "reverse": False, "unroll": 1},
         doc="carry, y_t = body(carry, x_t) over xs' leading axis; inputs *carry, *xs, *captured; "
             "outputs *carry, *stacked ys")
