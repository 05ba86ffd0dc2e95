"""Recurrent ops: `simple_rnn`, `lstm` and `gru` scan a sequence with Keras' weight layouts; `rnn` scans a step graph.

All four follow Keras' `backend.rnn`: inputs are batch-major (batch, time, ...); with `masked`, the last input is a
bool (batch, time) mask and a masked step keeps the previous states and outputs zeros (`zero_output_for_mask`) or
the previous first state; `go_backwards` runs from the last step to the first and returns the sequence in that
processing order unless `outputs_in_input_order`. Outputs: the sequence (or the last output), then the final states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kgraph.ir.graph import Graph
from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.types import Dim, TensorType, is_float

# Activations the fused ops take by name: each has a JAX function and an ONNX recurrent-operator activation.
ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear", "elu", "softsign", "softplus")
GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}
NUM_STATES = {"simple_rnn": 1, "lstm": 2, "gru": 1}

_SCAN_ATTRS = {"go_backwards": False, "return_sequences": False, "zero_output_for_mask": False, "masked": False,
               "outputs_in_input_order": False}


@dataclass
class RecurrentInputs:
    """The inputs of a fused recurrent node by role; `bias` and `mask` are None when absent."""

    x: Any
    kernel: Any
    recurrent_kernel: Any
    bias: Any
    states: list
    mask: Any


def unpack_recurrent_inputs(op: str, inputs: list, use_bias: bool, masked: bool) -> RecurrentInputs:
    """Splits a fused op's inputs `x, kernel, recurrent_kernel, [bias], *states, [mask]` by role."""
    expected = 3 + int(use_bias) + NUM_STATES[op] + int(masked)
    if len(inputs) != expected:
        raise ShapeError(f"{op} takes {expected} inputs (x, kernel, recurrent_kernel{', bias' if use_bias else ''}, "
                         f"{NUM_STATES[op]} state(s){', mask' if masked else ''}), got {len(inputs)}")
    rest = list(inputs[3:])
    bias = rest.pop(0) if use_bias else None
    mask = rest.pop() if masked else None
    return RecurrentInputs(inputs[0], inputs[1], inputs[2], bias, rest, mask)


def _same(a: Dim, b: Dim) -> bool:
    return a == b or isinstance(a, str) or isinstance(b, str)


def _check_mask(op: str, mask: TensorType, x: TensorType) -> None:
    if mask.dtype != "bool" or mask.rank != 2 or not all(_same(a, b) for a, b in zip(mask.shape, x.shape[:2])):
        raise ShapeError(f"{op}: the mask must be bool of shape (batch, time) = {x.shape[:2]}, got {mask}")


def _sequence_output(x: TensorType, step: TensorType, return_sequences: bool) -> TensorType:
    shape = (x.shape[0], x.shape[1]) + step.shape[1:] if return_sequences else (x.shape[0],) + step.shape[1:]
    return TensorType(step.dtype, shape)


def _fused_infer(op: str):
    def infer(types, activation, go_backwards, return_sequences, zero_output_for_mask, masked,
              outputs_in_input_order, use_bias, recurrent_activation="sigmoid", reset_after=False):
        parts = unpack_recurrent_inputs(op, types, use_bias, masked)
        x, kernel, recurrent = parts.x, parts.kernel, parts.recurrent_kernel
        for name in (activation, recurrent_activation):
            if name not in ACTIVATIONS:
                raise ShapeError(f"{op}: activation {name!r} is not one of {ACTIVATIONS}")
        if x.rank != 3 or not is_float(x.dtype):
            raise ShapeError(f"{op} needs a floating-point input of rank 3 (batch, time, features), got {x}")
        dtypes = {t.dtype for t in [x, kernel, recurrent, *parts.states] + ([parts.bias] if use_bias else [])}
        if len(dtypes) != 1:
            raise ShapeError(f"{op} needs x, weights and states of one dtype, got {sorted(dtypes)}")
        gates = GATES[op]
        if recurrent.rank != 2 or not isinstance(recurrent.shape[0], int):
            raise ShapeError(f"{op}: the recurrent kernel must be (units, {gates} * units), got {recurrent}")
        units = recurrent.shape[0]
        if not _same(recurrent.shape[1], gates * units):
            raise ShapeError(f"{op}: the recurrent kernel must be (units, {gates} * units) = "
                             f"({units}, {gates * units}), got {recurrent}")
        if kernel.rank != 2 or not _same(kernel.shape[0], x.shape[2]) or not _same(kernel.shape[1], gates * units):
            raise ShapeError(f"{op}: the kernel must be (features, {gates} * units) = ({x.shape[2]}, {gates * units}), "
                             f"got {kernel}")
        if use_bias:
            bias_shape = (2, 3 * units) if op == "gru" and reset_after else (gates * units,)
            if parts.bias.rank != len(bias_shape) or not all(_same(a, b) for a, b in zip(parts.bias.shape, bias_shape)):
                raise ShapeError(f"{op}: the bias must have shape {bias_shape}, got {parts.bias}")
        state = TensorType(x.dtype, (x.shape[0], units))
        for s in parts.states:
            if s.rank != 2 or not all(_same(a, b) for a, b in zip(s.shape, state.shape)):
                raise ShapeError(f"{op}: each state must be (batch, units) = {state.shape}, got {s}")
        if masked:
            _check_mask(op, parts.mask, x)
        return [_sequence_output(x, state, return_sequences)] + [state] * NUM_STATES[op]

    return infer


register("simple_rnn", _fused_infer("simple_rnn"), attrs={"activation": "tanh", "use_bias": True, **_SCAN_ATTRS},
         doc="Keras SimpleRNN: h = activation(x @ kernel + bias + h @ recurrent_kernel)")
register("lstm", _fused_infer("lstm"),
         attrs={"activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True, **_SCAN_ATTRS},
         doc="Keras LSTM, gates i, f, c, o along the kernels' last axis; states h, c")
register("gru", _fused_infer("gru"),
         attrs={"activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True, "reset_after": True,
                **_SCAN_ATTRS},
         doc="Keras GRU, gates z, r, h; reset_after applies the reset gate after the recurrent matmul")


def _rnn_infer(types, body, num_states, go_backwards, return_sequences, zero_output_for_mask, masked,
               outputs_in_input_order):
    if not isinstance(body, Graph):
        raise ShapeError(f"rnn: body must be a Graph, got {type(body).__name__}")
    if body.rng is not None or body.losses or body.updates:
        raise ShapeError(f"rnn: the step graph {body.name!r} must be deterministic, without losses or state updates")
    if len(body.inputs) != 1 + num_states or len(body.outputs) != 1 + num_states:
        raise ShapeError(f"rnn: the step graph takes (input, {num_states} states) and returns (output, {num_states} "
                         f"states), it has {len(body.inputs)} inputs and {len(body.outputs)} outputs")
    expected = 1 + num_states + len(body.params) + int(masked)
    if len(types) != expected:
        raise ShapeError(f"rnn takes {expected} inputs (x, {num_states} states, {len(body.params)} captured values"
                         f"{', mask' if masked else ''}), got {len(types)}")
    x = types[0]
    step = body.inputs[0].type
    if x.rank < 3 or step.dtype != x.dtype or step.rank != x.rank - 1 or \
            not all(_same(a, b) for a, b in zip(step.shape, (x.shape[0],) + x.shape[2:])):
        raise ShapeError(f"rnn: input {x} does not match the step graph's input {step} (x without its time axis)")
    outer = types[1:1 + num_states] + types[1 + num_states:1 + num_states + len(body.params)]
    inner = [v.type for v in body.inputs[1:]] + [p.type for p in body.params]
    for got, want in zip(outer, inner):
        same_shape = got.rank == want.rank and all(_same(a, b) for a, b in zip(got.shape, want.shape))
        if got.dtype != want.dtype or not same_shape:
            raise ShapeError(f"rnn: a state or captured value is {got}, the step graph takes {want}")
    for old, new in zip(body.inputs[1:], body.outputs[1:]):
        if old.type != new.type:
            raise ShapeError(f"rnn: the step graph returns a state typed {new.type} for a state typed {old.type}")
    if masked:
        _check_mask("rnn", types[-1], x)
    return [_sequence_output(x, body.outputs[0].type, return_sequences)] + list(types[1:1 + num_states])


register("rnn", _rnn_infer, attrs={"body": REQUIRED, "num_states": REQUIRED, **_SCAN_ATTRS},
         doc="scan of a step graph (input_t, *states) -> (output_t, *states); inputs x, *states, *captured, [mask]")
