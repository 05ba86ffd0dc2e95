"""Recurrent ops: fused SimpleRNN, LSTM and GRU scans with Keras' weights, and `rnn`, a scan of any step function.

Sequences are batch-major (batch, time, ...) and masks are bool (batch, time), as in Keras' `backend.rnn`.
"""

from __future__ import annotations

from typing import Callable, Sequence

from kgraph.ir import TensorType
from kgraph.ir.ops.recurrent import ACTIVATIONS
from kgraph.ir.passes import eliminate_dead_code
from kgraph.ir.types import canonical_dtype
from kgraph.keras_tensor import KerasTensor
from kgraph.ops.dispatch import apply, convert, unwrap
from kgraph.tracing import SymbolicTensor, Trace

__all__ = ["gru", "lstm", "rnn", "simple_rnn"]


def activation_name(activation: str | Callable | None) -> str:
    """The name a fused recurrent op takes for `activation`: a name, or one of `kgraph.activations`' functions."""
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        name = activation
    elif getattr(activation, "__module__", None) == "kgraph.activations":
        name = activation.__name__
    else:
        name = repr(activation)
    if name not in ACTIVATIONS:
        raise ValueError(f"recurrent activation {name!r} is not supported by kgraph's fused recurrent ops; "
                         f"expected one of {', '.join(ACTIVATIONS)}")
    return name


def _scan_attrs(mask, go_backwards, return_sequences, zero_output_for_mask, outputs_in_input_order) -> dict:
    return {"masked": mask is not None, "go_backwards": bool(go_backwards), "return_sequences": bool(return_sequences),
            "zero_output_for_mask": bool(zero_output_for_mask), "outputs_in_input_order": bool(outputs_in_input_order)}


def _fused(op: str, inputs, states: list, kernel, recurrent_kernel, bias, mask, attrs: dict) -> tuple:
    values = [inputs, kernel, recurrent_kernel] + ([bias] if bias is not None else []) + list(states)
    if mask is not None:
        values.append(convert(mask, "bool"))
    return tuple(apply(op, *values, use_bias=bias is not None, **attrs))


def simple_rnn(inputs, initial_state, kernel, recurrent_kernel, bias=None, *, mask=None, activation="tanh",
               go_backwards=False, return_sequences=False, zero_output_for_mask=False, outputs_in_input_order=False):
    """Keras' SimpleRNN over `inputs` (batch, time, features); returns `(output, final_state)`.

    Args:
        inputs: the sequence, (batch, time, features).
        initial_state: (batch, units).
        kernel, recurrent_kernel, bias: Keras' SimpleRNNCell weights, (features, units), (units, units), (units,).
        mask: bool (batch, time); masked steps keep the previous state.
        activation: one of `kgraph.ir.ops.recurrent.ACTIVATIONS`, by name or function.
        go_backwards: run from the last step to the first.
        return_sequences: return every step's output (batch, time, units), else the last one (batch, units).
        zero_output_for_mask: masked steps output zeros rather than the previous output.
        outputs_in_input_order: with `go_backwards`, return the sequence in input order (Keras: processing order).
    """
    attrs = _scan_attrs(mask, go_backwards, return_sequences, zero_output_for_mask, outputs_in_input_order)
    return _fused("simple_rnn", inputs, [initial_state], kernel, recurrent_kernel, bias, mask,
                  {**attrs, "activation": activation_name(activation)})


def lstm(inputs, initial_state_h, initial_state_c, kernel, recurrent_kernel, bias=None, *, mask=None,
         activation="tanh", recurrent_activation="sigmoid", go_backwards=False, return_sequences=False,
         zero_output_for_mask=False, outputs_in_input_order=False):
    """Keras' LSTM (gates i, f, c, o) over `inputs`; returns `(output, final_h, final_c)`.

    Args:
        inputs: the sequence, (batch, time, features).
        initial_state_h, initial_state_c: (batch, units).
        kernel, recurrent_kernel, bias: Keras' LSTMCell weights, (features, 4 units), (units, 4 units), (4 units,).
        mask, go_backwards, return_sequences, zero_output_for_mask, outputs_in_input_order: as for `simple_rnn`.
        activation, recurrent_activation: the cell and gate activations, by name or function.
    """
    attrs = _scan_attrs(mask, go_backwards, return_sequences, zero_output_for_mask, outputs_in_input_order)
    return _fused("lstm", inputs, [initial_state_h, initial_state_c], kernel, recurrent_kernel, bias, mask,
                  {**attrs, "activation": activation_name(activation),
                   "recurrent_activation": activation_name(recurrent_activation)})


def gru(inputs, initial_state, kernel, recurrent_kernel, bias=None, *, mask=None, activation="tanh",
        recurrent_activation="sigmoid", reset_after=True, go_backwards=False, return_sequences=False,
        zero_output_for_mask=False, outputs_in_input_order=False):
    """Keras' GRU (gates z, r, h) over `inputs`; returns `(output, final_state)`.

    Args:
        inputs: the sequence, (batch, time, features).
        initial_state: (batch, units).
        kernel, recurrent_kernel, bias: Keras' GRUCell weights, (features, 3 units), (units, 3 units), and
            (2, 3 units) with `reset_after` (input and recurrent biases) or (3 units,) without.
        reset_after: apply the reset gate after the recurrent matmul (Keras' default) rather than before.
        mask, go_backwards, return_sequences, zero_output_for_mask, outputs_in_input_order: as for `simple_rnn`.
        activation, recurrent_activation: the candidate and gate activations, by name or function.
    """
    attrs = _scan_attrs(mask, go_backwards, return_sequences, zero_output_for_mask, outputs_in_input_order)
    return _fused("gru", inputs, [initial_state], kernel, recurrent_kernel, bias, mask,
                  {**attrs, "activation": activation_name(activation),
                   "recurrent_activation": activation_name(recurrent_activation), "reset_after": bool(reset_after)})


def _type_of(x) -> TensorType:
    x = unwrap(x)
    if isinstance(x, SymbolicTensor):
        return x.type
    if isinstance(x, KerasTensor):
        return x.ir_type()
    return TensorType(canonical_dtype(x.dtype), tuple(int(d) for d in x.shape))


def _trace_step(step_function: Callable, x: TensorType, states: list[TensorType], name: str):
    """The step function as a Graph (input_t, *states) -> (output_t, *states), and the Variables it reads."""
    with Trace(name) as trace:
        x_t = trace.input(TensorType(x.dtype, (x.shape[0],) + x.shape[2:]), "input_t")
        state_inputs = [trace.input(t, f"state_{i}") for i, t in enumerate(states)]
        output, new_states = step_function(x_t, state_inputs)
        results = [output, *new_states]
        if len(results) != 1 + len(states) or not all(trace.is_symbolic(r) for r in results):
            raise TypeError(f"rnn: the step function must return (output, [{len(states)} new state tensors]) computed "
                            f"from its inputs, got {results!r}")
        trace.graph.outputs = [r.ir_value for r in results]
    graph = eliminate_dead_code(trace.graph)
    return graph, [trace.variables[p.name] for p in graph.params]


def rnn(step_function: Callable, inputs, initial_states: Sequence, *, mask=None, go_backwards=False,
        return_sequences=False, zero_output_for_mask=False, outputs_in_input_order=False, name: str = "rnn_step"):
    """Scans `step_function(input_t, states) -> (output_t, new_states)` over the time axis (1) of `inputs`.

    The step function is traced once into a graph, so it must be written with `kgraph.ops`; the variables it reads
    (a cell's weights) are passed to the scan as inputs, so gradients reach them. Returns `(output, final_states)`.

    Args:
        step_function: takes a (batch, ...) slice and a list of states, returns the output and the new states.
        inputs: the sequence, (batch, time, ...).
        initial_states: the states before the first step.
        mask, go_backwards, return_sequences, zero_output_for_mask, outputs_in_input_order: as for `simple_rnn`.
        name: the name of the step graph.
    """
    states = list(initial_states)
    if not states:
        raise ValueError("rnn: needs at least one initial state")
    body, variables = _trace_step(step_function, _type_of(inputs), [_type_of(s) for s in states], name)
    if variables and isinstance(unwrap(inputs), KerasTensor):
        raise TypeError(f"rnn: the step function reads variables {[v.path for v in variables]}; on KerasTensors they "
                        "would be frozen into constants. Call kgraph.ops.rnn inside a layer's call instead.")
    values = [inputs, *states, *(v.value for v in variables)]
    if mask is not None:
        values.append(convert(mask, "bool"))
    attrs = _scan_attrs(mask, go_backwards, return_sequences, zero_output_for_mask, outputs_in_input_order)
    results = apply("rnn", *values, body=body, num_states=len(states), **attrs)
    return results[0], list(results[1:])
