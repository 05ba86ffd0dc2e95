"""fit/evaluate/predict over Keras' public step methods, for models that customize them.

A model that overrides `train_step`, `test_step`, `predict_step` or any hook they call (`compute_loss`,
`compute_metrics`, `metrics`, ...) gets a compiled step that calls its `train_step(state, data)` with Keras'
state tuple and converts the result back into kgraph's `StepState`. Models that override none run kgraph's
fused steps (training_steps), which compute what the default methods do.
"""

from __future__ import annotations

import jax

from kgraph import context
from kgraph.models.training_state import StepState

_SHARED_HOOKS = ("compute_loss_and_updates", "stateless_compute_loss", "compute_loss", "compute_metrics",
                 "get_metrics_result", "metrics", "stateless_call", "_update_metrics_variables")
HOOKS = {
    "train": ("train_step",) + _SHARED_HOOKS,
    "test": ("test_step",) + _SHARED_HOOKS,
    "predict": ("predict_step", "stateless_call"),
}


def _overrides(model, name: str) -> bool:
    return any(name in vars(cls) for cls in type(model).__mro__ if cls.__module__.split(".")[0] != "kgraph")


def uses_custom_steps(model, kind: str) -> bool:
    """Whether `kind` steps must run the model's step methods: it overrides one, or holds metrics of its own."""
    if any(_overrides(model, name) for name in HOOKS[kind]):
        return True
    return kind != "predict" and bool(model._tracked_metrics())


def custom_step(model, kind: str, program):
    """The compiled-step body calling the model's `{kind}_step`, or None if kgraph's fused step computes it.

    `program` is the one the step's state was made for: run inside the step, it takes its random ops' seeds
    from that state, so the compiled step does not change with the seeds a process drew.
    """
    if not uses_custom_steps(model, kind):
        return None
    return {"train": _train, "test": _test, "predict": _predict}[kind](model, program)


def _flat_metrics(values) -> list:
    return [v for metric_values in values for v in metric_values]


def _nested_metrics(model, flat) -> list:
    result, i = [], 0
    for metric in model.metrics:
        n = len(metric.variables)
        result.append(list(flat[i:i + n]))
        i += n
    return result


def _user_data(batch):
    """The `(x,)`, `(x, y)` or `(x, y, sample_weight)` tuple as Keras hands it to a step: single tensors unwrapped."""
    x, y, sw = batch
    unwrap = lambda part: part[0] if isinstance(part, list) and len(part) == 1 else part  # noqa: E731
    data = (unwrap(x),)
    if y is not None or sw is not None:
        data += (unwrap(y),)
    return data + (unwrap(sw),) if sw is not None else data


def _flat_logs(logs) -> dict:
    """Step logs with dict-valued entries (a metric returning several results) spread into the top level."""
    result = {}
    for key, value in logs.items():
        if isinstance(value, dict):
            result.update(_flat_logs(value))
        else:
            result[key] = value
    return result


def _train(model, program):
    optimizer = model.optimizer

    def body(state: StepState, batch):
        rng, key = jax.random.split(state.rng)
        keras_state = (list(state.trainable), list(state.non_trainable), optimizer._variables_of(state.optimizer),
                       _flat_metrics(state.metrics))
        with context.current().step_rng(key, program, state.seeds):
            logs, (trainable, frozen, optimizer_values, metrics) = model.train_step(keras_state, _user_data(batch))
        trainable = [getattr(v, "value", v) for v in trainable]
        if not isinstance(optimizer_values, dict):
            optimizer_values = optimizer._state_from_variables(optimizer_values, trainable)
        new_state = StepState(trainable=trainable, non_trainable=list(frozen), optimizer=optimizer_values,
                              metrics=_nested_metrics(model, metrics), rng=rng, seeds=state.seeds)
        return new_state, _flat_logs(logs)

    return body


def _test(model, program):
    def body(state: StepState, batch):
        rng, key = jax.random.split(state.rng)
        keras_state = (list(state.trainable), list(state.non_trainable), _flat_metrics(state.metrics))
        with context.current().step_rng(key, program, state.seeds):
            logs, (_, _, metrics) = model.test_step(keras_state, _user_data(batch))
        return state._replace(metrics=_nested_metrics(model, metrics), rng=rng), _flat_logs(logs)

    return body


def _predict(model, program):
    def body(params, batch):
        x, _, _ = batch
        carry = params["carry"]
        rng, key = jax.random.split(carry["rng"])
        with context.current().step_rng(key, program, params["seeds"]):
            outputs, _ = model.predict_step((params["trainable"], params["non_trainable"]), _user_data((x, None, None)))
        return {**carry, "rng": rng}, outputs

    return body
