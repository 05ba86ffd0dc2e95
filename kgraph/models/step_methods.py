"""Keras 3's JAX trainer contract on Model: the stateless forward pass, the loss and metric hooks, and the public
`train_step`/`test_step`/`predict_step` over Keras' state tuples.

A training state is `(trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables)`:
flat lists of values in `model.trainable_variables`, `model.non_trainable_variables`, `optimizer.variables`
and `model.metrics_variables` order (`(trainable, non_trainable, metrics)` for testing, `(trainable,
non_trainable)` for prediction). fit compiles these methods whenever a model overrides any of them; a model
that overrides none runs kgraph's fused steps, which compute the same.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp

from kgraph import context
from kgraph import random as kg_random
from kgraph import tree
from kgraph.models.compile_utils import match_target_rank
from kgraph.runtime.data_adapters.base import unpack_x_y_sample_weight
from kgraph.variables import StateScope, current_state_scope


def _batch_size(x) -> int:
    return next(a for a in tree.flatten(x) if a is not None).shape[0]


def _iterate(step, steps_per_execution: int, concatenate: bool = False):
    """Keras' `_make_function`: `fn(state, iterator)` runs `step` on up to `steps_per_execution` batches."""
    def function(state, iterator):
        outputs, state = step(state, next(iterator))
        collected = [outputs]
        for _ in range(steps_per_execution - 1):
            try:
                data = next(iterator)
            except StopIteration:
                break
            outputs, state = step(state, data)
            collected.append(outputs)
        if concatenate and len(collected) > 1:
            outputs = tree.map_structure(lambda *parts: jnp.concatenate(parts), *collected)
        return outputs, state

    return function


class StepMethods:
    """Mixin of Model: the stateless API a Keras 3 JAX-style training step is written against."""

    _losses_override = None

    # --- forward ---------------------------------------------------------------------------------------
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
        ctx = context.current()
        key = ctx.step_key
        if key is None and program.fn.needs_rng:
            key = kg_random.key()
        seeds = ctx.step_seeds[1] if ctx.step_seeds is not None and ctx.step_seeds[0] is program else None
        frozen_values = [getattr(v, "value", v) for v in non_trainable_variables]
        outputs, losses, updates = self._forward(program, index, [getattr(v, "value", v) for v in trainable_variables],
                                                 frozen_values, x, key, seeds=seeds)
        result = tree.pack_like(program.output_structure, outputs)
        frozen_values = index.updated(frozen_values, updates)
        return (result, frozen_values, list(losses)) if return_losses else (result, frozen_values)

    def _stateless_partition(self):
        if getattr(self, "_trainable_snapshot", None) is not None:
            return self._partition()
        return self.trainable_weights, self.non_trainable_variables

    @property
    def losses(self) -> list:
        """The losses of the last forward pass: inside a stateless step, those it returned (and the weights'
        regularization penalties); otherwise those the layers added in their last call."""
        if self._losses_override is not None:
            return list(self._losses_override)
        if current_state_scope() is not None:
            return self._regularization_losses()
        return super().losses

    # --- loss ------------------------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss: the compiled loss of `y_pred` against `y` plus `model.losses`, each summed.

        Also records each output's unweighted loss in its loss tracker (models with several outputs).
        Override it to compute the loss differently; fit's steps then call the override.
        """
        del x, training
        total = jnp.zeros((), "float32")
        compiled = self._compiled_loss
        if compiled is None and self.compiled and self._compile_args["loss"] is not None:
            raise ValueError("compute_loss() needs the compiled loss, which is built when fit/evaluate first sees "
                             "the model's outputs; call it from a step, or after fit/evaluate/train_on_batch")
        if compiled is not None and compiled.has_loss:
            names = compiled.output_names
            preds = tree.flatten(y_pred)
            y_list = self._flatten_y(y, names) if y is not None else [None] * len(names)
            sw = self._flatten_sample_weight(sample_weight, names) or [None] * len(names)
            value, parts = compiled(y_list, preds, sw)
            for tracker, part in zip(compiled.trackers, parts):
                if tracker is not None and part is not None:
                    tracker.update_state(part, sample_weight=preds[0].shape[0])
            total = total + jnp.asarray(value, "float32")
        for loss in self.losses:
            total = total + jnp.sum(jnp.asarray(getattr(loss, "value", loss), "float32"))
        return total

    def _compute_loss(self, x, y, y_pred, sample_weight, training):
        """`compute_loss`, without `training` for overrides written before Keras 3.3 added it."""
        if "training" in inspect.signature(self.compute_loss).parameters:
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def stateless_compute_loss(self, trainable_variables, non_trainable_variables, metrics_variables, x=None,
                               y=None, y_pred=None, sample_weight=None, training=True):
        """`compute_loss` as a pure function of the variables' values.

        Returns `(loss, (trainable_variables, non_trainable_variables, metrics_variables))`, the latter two
        with whatever `compute_loss` updated (e.g. loss trackers).
        """
        trainable, frozen = self._stateless_partition()
        metric_vars = self.metrics_variables
        if len(metrics_variables) != len(metric_vars):
            raise ValueError(f"stateless_compute_loss(): `metrics_variables` must hold the {len(metric_vars)} values "
                             f"of `model.metrics_variables`, got {len(metrics_variables)}")
        mapping = dict(zip(trainable, trainable_variables))
        mapping.update(zip(frozen, non_trainable_variables))
        mapping.update(zip(metric_vars, metrics_variables))
        with StateScope(mapping) as scope:
            loss = self._compute_loss(x, y, y_pred, sample_weight, training)
        return loss, (trainable_variables, [scope.get(v) for v in frozen], [scope.get(v) for v in metric_vars])

    def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, metrics_variables, x, y,
                                 sample_weight, training=False, optimizer_variables=None):
        """Forward pass and loss as a pure function, for `jax.value_and_grad(..., has_aux=True)`.

        Returns `(loss, (unscaled_loss, y_pred, non_trainable_variables, metrics_variables))`.
        """
        y_pred, non_trainable_variables, losses = self.stateless_call(
            trainable_variables, non_trainable_variables, x, return_losses=True, training=training)
        self._losses_override = losses
        try:
            loss, (_, non_trainable_variables, metrics_variables) = self.stateless_compute_loss(
                trainable_variables, non_trainable_variables, metrics_variables, x=x, y=y, y_pred=y_pred,
                sample_weight=sample_weight, training=training)
        finally:
            self._losses_override = None
        return loss, (loss, y_pred, non_trainable_variables, metrics_variables)

    # --- metrics ---------------------------------------------------------------------------------------
    @property
    def metrics_variables(self) -> list:
        """The variables of `model.metrics`, in order: what a step's `metrics_variables` hold the values of."""
        return [v for metric in self.metrics for v in metric.variables]

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Updates the compiled metrics with a batch and returns `get_metrics_result()`.

        Override it to update other metrics; call it inside a step (its updates go to the step's state).
        """
        del x
        compiled = self._compiled_metrics
        if compiled is not None:
            names = compiled.output_names
            preds = tree.flatten(y_pred)
            y_list = self._flatten_y(y, names) if y is not None else [None] * len(names)
            sw = self._flatten_sample_weight(sample_weight, names) or [None] * len(names)
            for i, metric, weighted in compiled.entries:
                if y_list[i] is not None:
                    metric.update_state(match_target_rank(y_list[i], preds[i]), preds[i],
                                        sample_weight=sw[i] if weighted else None)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict:
        """The results of `model.metrics` by log name; a metric whose result is a dict adds its entries."""
        result = {}
        for name, metric in zip(self.metrics_names, self.metrics):
            value = metric.result()
            if isinstance(value, dict):
                result.update(value)
            else:
                result[name] = value
        return result

    def _update_metrics_variables(self, metrics_variables, unscaled_loss, x, y, y_pred, sample_weight):
        """The loss tracker and `compute_metrics` run on the given metric values; returns (logs, new values)."""
        metric_vars = self.metrics_variables
        with StateScope(dict(zip(metric_vars, metrics_variables))) as scope:
            self._loss_tracker.update_state(unscaled_loss, sample_weight=_batch_size(x))
            logs = self.compute_metrics(x, y, y_pred, sample_weight)
        return logs, [scope.get(v) for v in metric_vars]

    # --- steps -----------------------------------------------------------------------------------------
    def train_step(self, state, data):
        """One training step as Keras' JAX trainer runs it: gradients of `compute_loss_and_updates`, the
        optimizer's `stateless_apply`, then the metrics. Returns `(logs, new_state)`."""
        trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (_, aux), grads = grad_fn(trainable_variables, non_trainable_variables, metrics_variables, x, y,
                                  sample_weight, training=True, optimizer_variables=optimizer_variables)
        unscaled_loss, y_pred, non_trainable_variables, metrics_variables = aux
        trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        logs, metrics_variables = self._update_metrics_variables(
            metrics_variables, unscaled_loss, x, y, y_pred, sample_weight)
        return logs, (trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables)

    def test_step(self, state, data):
        """One evaluation step: the loss and metrics of a batch. Returns `(logs, new_state)`."""
        trainable_variables, non_trainable_variables, metrics_variables = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        _, (unscaled_loss, y_pred, non_trainable_variables, metrics_variables) = self.compute_loss_and_updates(
            trainable_variables, non_trainable_variables, metrics_variables, x, y, sample_weight, training=False)
        logs, metrics_variables = self._update_metrics_variables(
            metrics_variables, unscaled_loss, x, y, y_pred, sample_weight)
        return logs, (trainable_variables, non_trainable_variables, metrics_variables)

    def predict_step(self, state, data):
        """One prediction step. Returns `(outputs, non_trainable_variables)`."""
        trainable_variables, non_trainable_variables = state
        x, _, _ = unpack_x_y_sample_weight(data)
        return self.stateless_call(trainable_variables, non_trainable_variables, x, training=False)

    # --- step functions --------------------------------------------------------------------------------
    def _jitted(self, step):
        return step if getattr(self, "run_eagerly", False) else jax.jit(step, donate_argnums=0)

    def make_train_function(self, force: bool = False):
        """Sets `self.train_function(state, iterator) -> (logs, state)`: the compiled `train_step` over up to
        `steps_per_execution` batches of the iterator."""
        if self.train_function is None or force:
            self.train_function = _iterate(self._jitted(self.train_step), getattr(self, "steps_per_execution", 1))
        return self.train_function

    def make_test_function(self, force: bool = False):
        """Sets `self.test_function(state, iterator) -> (logs, state)` from `test_step`."""
        if self.test_function is None or force:
            self.test_function = _iterate(self._jitted(self.test_step), getattr(self, "steps_per_execution", 1))
        return self.test_function

    def make_predict_function(self, force: bool = False):
        """Sets `self.predict_function(state, iterator) -> (outputs, state)` from `predict_step`; the outputs
        of the batches it runs are concatenated."""
        if self.predict_function is None or force:
            def step(state, data):
                outputs, non_trainable_variables = self.predict_step(state, data)
                return outputs, (state[0], non_trainable_variables)

            self.predict_function = _iterate(self._jitted(step), getattr(self, "steps_per_execution", 1),
                                             concatenate=True)
        return self.predict_function
