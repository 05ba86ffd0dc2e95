"""Keras 3's JAX-style extension points: `stateless_call`, `compute_loss`, and user-written
`train_step(state, data)` / `test_step(state, data)` / `predict_step(state, data)` compiled by fit.

A user step receives Keras' state tuples — `(trainable, non_trainable, optimizer, metrics)` for training,
`(trainable, non_trainable, metrics)` for testing, `(trainable, non_trainable)` for prediction — where
weights and metric variables are flat lists (Keras' order) and the optimizer state is opaque: pass it
to `self.optimizer.stateless_apply`.
"""

from __future__ import annotations


import jax

from kgraph import context
from kgraph import random as kg_random
from kgraph import tree

def _overrides(model, name: str) -> bool:
    return any(name in vars(cls) for cls in type(model).__mro__ if cls.__module__.split(".")[0] != "kgraph")


def custom_step(model, kind: str):
    """The compiled-step body for a user-overridden `{kind}_step`, or None if the model keeps kgraph's."""
    if not _overrides(model, f"{kind}_step"):
        return None
    return {"train": _train, "test": _test, "predict": _predict}[kind](model)


def _flat_metrics(state) -> list:
    return [v for values in state for v in values]


def _nested_metrics(model, flat) -> list:
    result, i = [], 0
    for metric in model.metrics:
        n = len(metric.variables)
        result.append(list(flat[i:i + n]))
        i += n
    return result


def _user_data(model, batch):
    """The (x, y[, sample_weight]) tuple as Keras hands it to a step: single tensors unwrapped."""
    x, y, sw = batch
    unwrap = lambda part: part[0] if isinstance(part, list) and len(part) == 1 else part  # noqa: E731
    data = (unwrap(x), unwrap(y) if y is not None else None)
    return data + (unwrap(sw),) if sw is not None else data


def _train(model):
    def body(state, batch):
        rng, key = jax.random.split(state["rng"])
        user_state = (state["trainable"], state["non_trainable"], state["optimizer"], _flat_metrics(state["metrics"]))
        with context.current().step_rng(key):
            logs, (trainable, frozen, optimizer, metrics) = model.train_step(user_state, _user_data(model, batch))
        return {"trainable": list(trainable), "non_trainable": list(frozen), "optimizer": optimizer,
                "metrics": _nested_metrics(model, metrics), "rng": rng}, logs

    return body


def _test(model):
    def body(state, batch):
        user_state = (state["trainable"], state["non_trainable"], _flat_metrics(state["metrics"]))
        logs, (trainable, frozen, metrics) = model.test_step(user_state, _user_data(model, batch))
        return {**state, "metrics": _nested_metrics(model, metrics)}, logs

    return body


def _predict(model):
    def body(params, batch):
        outputs, _ = model.predict_step((params["trainable"], params["non_trainable"]), _user_data(model, batch))
        return params["carry"], outputs

    return body


class CustomSteps:
    """The stateless API a Keras 3 JAX-style training step is written against."""

    def stateless_call(self, trainable_variables, non_trainable_variables, *args, return_losses: bool = False,
                       **kwargs):
        """Runs the model as a pure function of the given weight values (`trainable_variables` then
        `non_trainable_variables`, in `model.trainable_variables`/`non_trainable_variables` order).

        Returns `(outputs, non_trainable_variables)` — the latter with state updates such as BatchNorm
        statistics applied — plus the added losses when `return_losses=True`. Differentiable with `jax.grad`.
        """
        training = bool(kwargs.pop("training", False))
        if kwargs:
            raise TypeError(f"stateless_call() got unexpected keyword arguments {sorted(kwargs)}")
        if len(args) != 1:
            raise TypeError(f"stateless_call() takes the model's input as one positional argument, got {len(args)}")
        x = self._flatten_x(args[0])
        program = self._program(training, x)
        trainable, frozen = self._stateless_partition()
        if len(trainable_variables) != len(trainable) or len(non_trainable_variables) != len(frozen):
            raise ValueError(f"stateless_call() expected {len(trainable)} trainable and {len(frozen)} non-trainable "
                             f"values, got {len(trainable_variables)} and {len(non_trainable_variables)}")
        index = self._param_index(program, trainable, frozen)
        key = context.current().step_key
        if key is None and program.fn.needs_rng:
            key = kg_random.key()
        outputs, losses, updates = self._forward(program, index, list(trainable_variables),
                                                 list(non_trainable_variables), x, key)
        frozen_values = list(non_trainable_variables)
        for name, value in updates.items():
            kind, i = index[name]
            if kind == "n":
                frozen_values[i] = value
        self._stateless_losses = list(losses)
        result = tree.pack_like(program.output_structure, outputs)
        return (result, frozen_values, losses) if return_losses else (result, frozen_values)

    def _stateless_partition(self):
        if getattr(self, "_trainable_snapshot", None) is not None:
            return self._partition()
        return self.trainable_weights, self.non_trainable_weights

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss of `y_pred` against `y`, plus the losses the last `stateless_call` added."""
        if self._compiled_loss is None:
            raise ValueError("compute_loss() needs a compiled model: call compile() and start fit() first")
        names = self._compiled_loss.output_names
        y_list = self._flatten_y(y, names) if y is not None else [None] * len(names)
        preds = tree.flatten(y_pred)
        sw = self._flatten_sample_weight(sample_weight, names) or [None] * len(names)
        total, _ = self._compiled_loss(y_list, preds, sw)
        for extra in getattr(self, "_stateless_losses", []):
            total = total + extra
        return total
