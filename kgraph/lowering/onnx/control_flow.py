"""ONNX rules for control-flow ops: `cond` → If, `while_loop` → Loop, `scan` → Scan (or Loop without xs).

Sub-Graphs are lowered node by node into ONNX bodies; their captured values are the outer names, which ONNX bodies
may read from the enclosing scope.
"""

from __future__ import annotations

from onnx import helper

from kgraph.ir.graph import Graph
from kgraph.ir.types import TensorType
from kgraph.lowering.onnx.builder import OnnxContext
from kgraph.lowering.onnx.recurrent import _BodyBuilder, _value_info
from kgraph.lowering.onnx.registry import get_rule, has_rule, onnx_rule


def _emit(builder, graph: Graph, inputs: list[str], captured: list[str], op: str) -> list[str]:
    """Emits `graph`'s nodes into `builder` with its inputs and params bound to names; returns its output names."""
    env = {**dict(zip(graph.inputs, inputs)), **dict(zip(graph.params, captured))}
    for node in graph.nodes:
        if not has_rule(node.op):
            raise NotImplementedError(f"{op} sub-graph {graph.name!r}: a node of op {node.op!r} has no ONNX rule, "
                                      "so it cannot be exported to ONNX")
        result = get_rule(node.op)(OnnxContext(builder, node), *(env[v] for v in node.inputs), **node.attrs)
        env.update(zip(node.outputs, [result] if isinstance(result, str) else list(result)))
    return [env[v] for v in graph.outputs]


def _body(ctx: OnnxContext, role: str, inputs: list[tuple[str, TensorType]],
          emit_outputs) -> helper.GraphProto:
    """An ONNX body graph with the given (name, type) inputs; `emit_outputs(builder)` returns (name, type) outputs."""
    builder = _BodyBuilder(ctx._builder)
    outputs = emit_outputs(builder)
    body_ctx = OnnxContext(builder, ctx.node)
    names = [body_ctx.op("Identity", name) for name, _ in outputs]  # a body output must be produced in the body
    return helper.make_graph(builder.nodes, builder.unique(f"{ctx.node.name or ctx.node.op}/{role}"),
                             [_value_info(n, t) for n, t in inputs],
                             [_value_info(n, t) for n, (_, t) in zip(names, outputs)])


def _split(captured, *graphs):
    parts, start = [], 0
    for graph in graphs:
        parts.append(list(captured[start:start + len(graph.params)]))
        start += len(graph.params)
    return parts


def _as_list(result):
    return [result] if isinstance(result, str) else list(result)


@onnx_rule("cond")
def _cond(ctx, pred, *captured, true_branch, false_branch):
    true_captured, false_captured = _split(captured, true_branch, false_branch)
    types = [v.type for v in true_branch.outputs]
    branches = {}
    for role, graph, values in (("then", true_branch, true_captured), ("else", false_branch, false_captured)):
        branches[role] = _body(ctx, role, [], lambda b, g=graph, c=values: list(zip(_emit(b, g, [], c, "cond"),
                                                                                     types)))
    return ctx.op("If", pred, outputs=len(types), then_branch=branches["then"], else_branch=branches["else"])


@onnx_rule("while_loop")
def _while_loop(ctx, *inputs, cond, body, num_vars, maximum_iterations):
    loop_vars = list(inputs[:num_vars])
    cond_captured, body_captured = _split(inputs[num_vars:], cond, body)
    types = [v.type for v in body.inputs]
    first = _emit(ctx._builder, cond, loop_vars, cond_captured, "while_loop")[0]
    base = ctx.node.name or ctx.node.op
    names = [ctx._builder.unique(f"{base}/loop/{n}") for n in ["iteration", "condition"] +
             [f"var_{i}" for i in range(num_vars)]]

    def emit(builder):
        new = _emit(builder, body, names[2:], body_captured, "while_loop")
        keep_going = _emit(builder, cond, new, cond_captured, "while_loop")[0]
        return [(keep_going, TensorType("bool", ())), *zip(new, types)]

    loop_body = _body(ctx, "body", list(zip(names, [TensorType("int64", ()), TensorType("bool", ())] + types)), emit)
    trip_count = "" if maximum_iterations is None else ctx.const(maximum_iterations, "int64")
    return ctx.op("Loop", trip_count, first, *loop_vars, outputs=num_vars, body=loop_body)


@onnx_rule("scan")
def _scan(ctx, *inputs, body, num_carry, num_xs, length, reverse, unroll):
    carry, xs = list(inputs[:num_carry]), list(inputs[num_carry:num_carry + num_xs])
    captured = list(inputs[num_carry + num_xs:])
    types = [v.type for v in body.inputs]
    y_types = [v.type for v in body.outputs[num_carry:]]
    base = ctx.node.name or ctx.node.op
    if num_xs:
        names = [ctx._builder.unique(f"{base}/scan/in_{i}") for i in range(len(types))]

        def emit(builder):
            return list(zip(_emit(builder, body, names, captured, "scan"), types[:num_carry] + y_types))

        scan_body = _body(ctx, "body", list(zip(names, types)), emit)
        return ctx.op("Scan", *carry, *xs, outputs=len(body.outputs), body=scan_body, num_scan_inputs=num_xs,
                      scan_input_directions=[int(reverse)] * num_xs,
                      scan_output_directions=[int(reverse)] * len(y_types))
    if reverse and y_types:
        raise NotImplementedError("scan: exporting reverse=True without xs is not supported")
    names = [ctx._builder.unique(f"{base}/loop/{n}") for n in ["iteration", "condition"] +
             [f"carry_{i}" for i in range(num_carry)]]

    def emit(builder):
        outputs = _emit(builder, body, names[2:], captured, "scan")
        return [(names[1], TensorType("bool", ())), *zip(outputs, types[:num_carry] + y_types)]

    loop_body = _body(ctx, "body", list(zip(names, [TensorType("int64", ()), TensorType("bool", ())] + types)), emit)
    return ctx.op("Loop", ctx.const(length, "int64"), ctx.const(True, "bool"), *carry, outputs=len(body.outputs),
                  body=loop_body)
