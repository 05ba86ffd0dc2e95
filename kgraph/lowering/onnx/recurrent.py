"""ONNX rules for recurrent ops.

`simple_rnn`, `lstm` and `gru` become ONNX's own RNN, LSTM and GRU operators (weights transposed, LSTM gates
reordered from Keras' i, f, c, o to ONNX's i, o, f, c, biases split into input and recurrent halves). ONNX's
operators take only right-padding sequence lengths, so with a Keras mask each step runs the native operator on one
time step inside a `Scan` that keeps the previous states where the mask is False. `rnn` is a `Scan` whose body is
the lowered step graph; it exports only if every op of the step graph has an ONNX rule.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from onnx import helper

from kgraph.ir.graph import Graph
from kgraph.ir.ops.recurrent import GATES, unpack_recurrent_inputs
from kgraph.ir.types import TensorType
from kgraph.lowering.onnx.builder import GraphBuilder, OnnxContext, onnx_dtype
from kgraph.lowering.onnx.registry import get_rule, has_rule, onnx_rule

_NATIVE = {"simple_rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
# Keras activation name -> ONNX recurrent activation, its alpha and beta (None: the activation takes none).
_ACTIVATIONS = {
    "tanh": ("Tanh", None, None), "sigmoid": ("Sigmoid", None, None), "relu": ("Relu", None, None),
    "softsign": ("Softsign", None, None), "softplus": ("Softplus", None, None), "linear": ("Affine", 1.0, 0.0),
    "elu": ("Elu", 1.0, None), "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
}
# LSTM gate order: ONNX's i, o, f, c as positions in Keras' i, f, c, o.
_LSTM_GATES = (0, 3, 1, 2)
_INT64_MIN = -(2**63)

StepEmitter = Callable[[GraphBuilder, str, list[str]], tuple[str, list[str]]]


class _BodyBuilder(GraphBuilder):
    """Collects a Scan body's nodes; names are unique across the enclosing graph, constants are its initializers."""

    def __init__(self, outer: GraphBuilder):
        super().__init__(outer.opset)
        self.outer = outer

    def reserve(self, name: str) -> None:
        self.outer.reserve(name)

    def unique(self, base: str) -> str:
        return self.outer.unique(base)

    def constant(self, array: np.ndarray, base: str) -> str:
        return self.outer.constant(array, base)


def _value_info(name: str, type: TensorType):
    dims = [d if isinstance(d, int) else None for d in type.shape]
    return helper.make_tensor_value_info(name, onnx_dtype(type.dtype), dims)


def _activation_attrs(names: list[str]) -> dict:
    """ONNX's `activations` plus the alphas and betas of those that take them, in order (ONNX Runtime's reading)."""
    attrs = {"activations": [_ACTIVATIONS[n][0] for n in names]}
    alphas = [_ACTIVATIONS[n][1] for n in names if _ACTIVATIONS[n][1] is not None]
    betas = [_ACTIVATIONS[n][2] for n in names if _ACTIVATIONS[n][2] is not None]
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    return attrs


def _native_weights(ctx: OnnxContext, op: str, kernel: str, recurrent_kernel: str, bias: str | None, units: int,
                    reset_after: bool) -> tuple[str, str, str]:
    """W, R and B of the native operator (one direction) from Keras' kernel, recurrent kernel and bias."""
    if op == "lstm":
        order = ctx.const(np.concatenate([np.arange(g * units, (g + 1) * units) for g in _LSTM_GATES]), "int64")
        kernel = ctx.op("Gather", kernel, order, axis=1)
        recurrent_kernel = ctx.op("Gather", recurrent_kernel, order, axis=1)
        bias = None if bias is None else ctx.op("Gather", bias, order, axis=0)
    w = ctx.unsqueeze(ctx.op("Transpose", kernel, perm=[1, 0]), [0])
    r = ctx.unsqueeze(ctx.op("Transpose", recurrent_kernel, perm=[1, 0]), [0])
    if bias is None:
        return w, r, ""
    if op == "gru" and reset_after:
        return w, r, ctx.op("Reshape", bias, ctx.const([1, 6 * units], "int64"))
    zeros = ctx.const(np.zeros(GATES[op] * units), ctx.in_types[0].dtype)
    return w, r, ctx.unsqueeze(ctx.op("Concat", bias, zeros, axis=0), [0])


def _native(ctx: OnnxContext, op: str, x_time_major: str, weights: tuple[str, str, str], states: list[str],
            units: int, attrs: dict, direction: str) -> tuple[str, list[str]]:
    """One native operator over a (time, batch, features) input: its Y (time, 1, batch, units) and final states."""
    activations = {"simple_rnn": [attrs["activation"]], "gru": [attrs.get("recurrent_activation"), attrs["activation"]],
                   "lstm": [attrs.get("recurrent_activation"), attrs["activation"], attrs["activation"]]}[op]
    extra = {"linear_before_reset": int(attrs["reset_after"])} if op == "gru" else {}
    initial = [ctx.unsqueeze(s, [0]) for s in states]
    outputs = ctx.op(_NATIVE[op], x_time_major, *weights, "", *initial, outputs=1 + len(states), hidden_size=units,
                     direction=direction, **_activation_attrs(activations), **extra)
    return outputs[0], [ctx.squeeze(o, [0]) for o in outputs[1:]]


def _flip_time(ctx: OnnxContext, x: str, axis: int) -> str:
    return ctx.op("Slice", x, ctx.const([-1], "int64"), ctx.const([_INT64_MIN], "int64"), ctx.axes([axis]),
                  ctx.const([-1], "int64"))


def _check_step_graph(body: Graph) -> None:
    for node in body.nodes:
        if not has_rule(node.op):
            where = f"node {node.name!r} (op {node.op!r})" if node.name else f"a node of op {node.op!r}"
            raise NotImplementedError(f"rnn step graph {body.name!r}: {where} has no ONNX rule, so the scan cannot be "
                                      "exported to ONNX")


def _scan(ctx: OnnxContext, x: str, states: list[str], mask: str | None, emit_step: StepEmitter,
          go_backwards: bool, return_sequences: bool, zero_output_for_mask: bool,
          outputs_in_input_order: bool) -> list[str]:
    """A Scan over axis 1 of `x` (and `mask`) applying Keras' masking to `emit_step`; returns output and states."""
    x_type = ctx.in_types[0]
    state_types = ctx.out_types[1:]
    y_type = ctx.out_types[0]
    if return_sequences:
        y_type = TensorType(y_type.dtype, y_type.shape[:1] + y_type.shape[2:])
    builder = _BodyBuilder(ctx._builder)
    base = ctx.node.name or ctx.node.op
    state_in = [builder.unique(f"{base}/scan/state_{i}") for i in range(len(states))]
    x_t = builder.unique(f"{base}/scan/input_t")
    inputs = [_value_info(n, t) for n, t in zip(state_in, state_types)]
    inputs.append(_value_info(x_t, TensorType(x_type.dtype, x_type.shape[:1] + x_type.shape[2:])))
    y, new_states = emit_step(builder, x_t, state_in)
    body_ctx = OnnxContext(builder, ctx.node)
    if mask is not None:
        mask_t = builder.unique(f"{base}/scan/mask_t")
        inputs.append(_value_info(mask_t, TensorType("bool", x_type.shape[:1])))

        def keep(new: str, old: str, rank: int) -> str:
            step_mask = body_ctx.unsqueeze(mask_t, list(range(1, rank))) if rank > 1 else mask_t
            return body_ctx.op("Where", step_mask, new, old)

        new_states = [keep(n, s, t.rank) for n, s, t in zip(new_states, state_in, state_types)]
        y = keep(y, body_ctx.const(0, y_type.dtype) if zero_output_for_mask else state_in[0], y_type.rank)
    results = [body_ctx.op("Identity", v) for v in new_states + [y]]
    outputs = [_value_info(n, t) for n, t in zip(results, list(state_types) + [y_type])]
    body = helper.make_graph(builder.nodes, builder.unique(f"{base}/scan/body"), inputs, outputs)
    scanned = [x] + ([mask] if mask is not None else [])
    prepend = go_backwards and outputs_in_input_order and return_sequences
    results = ctx.op("Scan", *states, *scanned, outputs=len(states) + 1, body=body, num_scan_inputs=len(scanned),
                     scan_input_axes=[1] * len(scanned), scan_input_directions=[int(go_backwards)] * len(scanned),
                     scan_output_axes=[1], scan_output_directions=[int(prepend)])
    finals, ys = results[:-1], results[-1]
    output = ys if return_sequences else ctx.op("Gather", ys, ctx.const(-1, "int64"), axis=1)
    return [output, *finals]


def _fused(op: str):
    def rule(ctx, *inputs, activation, go_backwards, return_sequences, zero_output_for_mask, masked,
             outputs_in_input_order, use_bias, recurrent_activation="sigmoid", reset_after=False):
        parts = unpack_recurrent_inputs(op, list(inputs), use_bias, masked)
        units = ctx.out_types[1].shape[-1]
        attrs = {"activation": activation, "recurrent_activation": recurrent_activation, "reset_after": reset_after}
        weights = _native_weights(ctx, op, parts.kernel, parts.recurrent_kernel, parts.bias, units, reset_after)
        if masked:
            def step(builder, x_t, states):
                step_ctx = OnnxContext(builder, ctx.node)
                one_step = step_ctx.unsqueeze(x_t, [0])
                _, finals = _native(step_ctx, op, one_step, weights, states, units, attrs, "forward")
                return finals[0], finals

            return _scan(ctx, parts.x, parts.states, parts.mask, step, go_backwards, return_sequences,
                         zero_output_for_mask, outputs_in_input_order)
        x = ctx.op("Transpose", parts.x, perm=[1, 0, 2])
        ys, finals = _native(ctx, op, x, weights, parts.states, units, attrs, "reverse" if go_backwards else "forward")
        if not return_sequences:
            return [finals[0], *finals]
        ys = ctx.squeeze(ys, [1])
        if go_backwards and not outputs_in_input_order:
            ys = _flip_time(ctx, ys, 0)
        return [ctx.op("Transpose", ys, perm=[1, 0, 2]), *finals]

    return rule


for _op in ("simple_rnn", "lstm", "gru"):
    onnx_rule(_op)(_fused(_op))


@onnx_rule("rnn")
def _rnn(ctx, x, *rest, body, num_states, go_backwards, return_sequences, zero_output_for_mask, masked,
         outputs_in_input_order):
    _check_step_graph(body)
    captured = rest[num_states:num_states + len(body.params)]

    def step(builder, x_t, states):
        env = {body.inputs[0]: x_t, **dict(zip(body.inputs[1:], states)), **dict(zip(body.params, captured))}
        for node in body.nodes:
            result = get_rule(node.op)(OnnxContext(builder, node), *(env[v] for v in node.inputs), **node.attrs)
            env.update(zip(node.outputs, [result] if isinstance(result, str) else list(result)))
        return env[body.outputs[0]], [env[v] for v in body.outputs[1:]]

    return _scan(ctx, x, list(rest[:num_states]), rest[-1] if masked else None, step, go_backwards,
                 return_sequences, zero_output_for_mask, outputs_in_input_order)
