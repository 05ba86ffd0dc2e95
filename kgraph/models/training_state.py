"""The model's training state: weights, optimizer slots, metric accumulators and RNG key as one typed device
pytree (`StepState`), where each program parameter sits in it (`ParamIndex`), and its transfer to and from the
model's Variables (snapshots for exact resume)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import numpy as np

from kgraph import random as kg_random
from kgraph.distribution import distribution as current_distribution
from kgraph.program import Program
from kgraph.runtime import sharding


class StepState(NamedTuple):
    """What a compiled train or test step carries from batch to batch (a pytree, so jit and donation see arrays).

    `trainable`/`non_trainable` hold the weights' values in the order of the variables fit partitioned,
    `optimizer` the optimizer's state (None in test steps), `metrics` one list of values per metric in
    `model.metrics`, `rng` the PRNG key the next step splits, and `seeds` the program's random ops' own seeds
    (`GraphFunction.seeds`): data, not constants of the compiled step, so an unseeded re-run compiles the same
    program and loads it from the persistent cache. The fields are in alphabetical order, which is the order of
    the compiled steps' parameters; build it with keywords.
    """

    metrics: list
    non_trainable: list
    optimizer: Any
    rng: Any
    seeds: Any
    trainable: list


class ParamIndex(NamedTuple):
    """Which program parameter each trainable and non-trainable position feeds (None: the program reads none)."""

    trainable: tuple
    non_trainable: tuple

    def params(self, trainable, non_trainable) -> dict:
        """The program's parameters by name from the two value lists."""
        params = {name: value for name, value in zip(self.trainable, trainable) if name is not None}
        params.update((name, value) for name, value in zip(self.non_trainable, non_trainable) if name is not None)
        return params

    def updated(self, non_trainable, updates: dict) -> list:
        """The non-trainable values after the program's state updates (BatchNorm statistics, RNN states)."""
        return [updates.get(name, value) if name is not None else value
                for name, value in zip(self.non_trainable, non_trainable)]


class TrainingState:
    """Mixin of Model: builds the compiled steps' state from the Variables and writes it back."""

    def _partition(self):
        snapshot = {id(v) for v in self._trainable_snapshot}
        variables = self.variables
        return [v for v in variables if id(v) in snapshot], [v for v in variables if id(v) not in snapshot]

    def _param_index(self, program: Program, trainable: list, frozen: list) -> ParamIndex:
        names = {id(var): name for name, var in program.variables.items()}
        known = {id(v) for v in trainable} | {id(v) for v in frozen}
        stray = [name for name, var in program.variables.items() if id(var) not in known]
        if stray:
            raise ValueError(f"Model {self.name!r}: the traced program reads variables {stray} that are not among "
                             "the model's weights")
        return ParamIndex(tuple(names.get(id(v)) for v in trainable), tuple(names.get(id(v)) for v in frozen))

    def _metric_state(self, reset: bool) -> list:
        """Metric values to start from: the variables' current values, or fresh ones (kept on the host once)."""
        if not reset:
            return [[v.value for v in m.variables] for m in self.metrics]
        if getattr(self, "_metric_initial", None) is None or len(self._metric_initial) != len(self.metrics):
            self._metric_initial = [[np.asarray(a) for a in m.stateless_reset_state()] for m in self.metrics]
        return jax.device_put(self._metric_initial)

    def _write_metric_state(self, metric_state) -> None:
        for m, values in zip(self.metrics, metric_state):
            for v, value in zip(m.variables, values):
                v.assign(value)

    def _train_state(self, program: Program, trainable, frozen, reset_metrics: bool) -> StepState:
        def copy(a):
            """A fresh device buffer: the step donates its state, which must not be the Variables' own."""
            return jax.device_put(np.array(a))

        if self.optimizer.state is None:
            self.optimizer.state = jax.jit(self.optimizer.init)([v.value for v in trainable])
        if self._rng_key is None:
            self._rng_key = kg_random.key()
        state = StepState(
            trainable=[copy(v.value) for v in trainable],
            non_trainable=[copy(v.value) for v in frozen],
            optimizer=jax.tree_util.tree_map(copy, self.optimizer.state),
            metrics=jax.tree_util.tree_map(copy, self._metric_state(reset_metrics)),
            rng=copy(self._rng_key),
            seeds=copy(program.fn.seeds),
        )
        return self._shard(state, trainable, frozen)

    def _test_state(self, program: Program, trainable, frozen) -> StepState:
        """The state evaluation starts from: the weights, fresh metrics, a new key and no optimizer."""
        state = StepState(trainable=[v.value for v in trainable], non_trainable=[v.value for v in frozen],
                          optimizer=None, metrics=self._metric_state(reset=True), rng=kg_random.key(),
                          seeds=program.fn.seeds)
        return self._shard(state, trainable, frozen)

    @staticmethod
    def _shard(state, trainable, frozen):
        """The state (a StepState, or prediction's parameter dict) laid out on the current distribution's
        device mesh (unchanged without one)."""
        dist = current_distribution()
        if dist is None:
            return state
        variables = {"trainable": trainable, "non_trainable": frozen}
        if isinstance(state, StepState):
            fields = {k: v for k, v in state._asdict().items() if v is not None}
            return state._replace(**sharding.shard_state(fields, variables, dist))
        return sharding.shard_state(state, variables, dist)

    def _write_train_state(self, state: StepState, trainable, frozen) -> None:
        for v, value in zip(trainable, state.trainable):
            v.assign(value)
        for v, value in zip(frozen, state.non_trainable):
            v.assign(value)
        self.optimizer.state = state.optimizer
        self._write_metric_state(state.metrics)
        self._rng_key = state.rng

    def jax_state_sync(self) -> None:
        """Copies the state a running `fit` holds on the device into the Variables (model and optimizer).

        Between batches fit owns the state; a callback that reads or saves weights mid-epoch calls this first.
        """
        live = getattr(self, "_fit_live", None)
        if live is None:
            return
        state = live[0]
        trainable, frozen = self._fit_vars
        copy = lambda tree: jax.tree_util.tree_map(lambda a: jax.device_put(np.array(a)), tree)  # noqa: E731
        self._write_train_state(copy(state), trainable, frozen)

    def get_training_state(self) -> dict:
        """A host copy of everything fit needs to continue exactly: weights, optimizer, metrics, RNG, position.

        Valid in `on_train_batch_end` (mid-epoch) and `on_epoch_end`; `resume_training_from` takes it back.
        """
        live = getattr(self, "_fit_live", None)
        if live is not None:
            state, epoch, step = live
        else:
            trainable, frozen = self._partition()
            state = StepState(trainable=[v.value for v in trainable], non_trainable=[v.value for v in frozen],
                              optimizer=self.optimizer.state, metrics=self._metric_state(reset=False), rng=self._rng_key,
                              seeds=None)
            epoch, step = getattr(self, "_fit_position", (0, 0))
        fields = {name: value for name, value in state._asdict().items() if name != "seeds"}  # the program's, not fit's
        snapshot = jax.tree_util.tree_map(np.array, fields)
        snapshot = {**snapshot, "epoch": int(epoch), "step": int(step)}
        if getattr(self, "_fit_data_seed", None) is not None:
            snapshot["data_seed"] = int(self._fit_data_seed)
        return snapshot

    def resume_training_from(self, snapshot: dict) -> None:
        """Makes the next `fit` (called from `on_train_begin`) continue at the snapshot's epoch and batch.

        The optimizer state is restored at once, so later callbacks see (and may change, e.g. the learning
        rate in `on_epoch_begin`) the restored values, as in any other epoch.
        """
        self._resume_point = snapshot
        self.optimizer.state = jax.device_put(snapshot["optimizer"])

    def _state_from_snapshot(self, program: Program, snapshot: dict) -> StepState:
        copy = lambda tree: jax.tree_util.tree_map(lambda a: jax.device_put(np.array(a)), tree)  # noqa: E731
        metrics = copy(snapshot["metrics"]) if snapshot["step"] else self._metric_state(reset=True)
        state = StepState(trainable=copy(snapshot["trainable"]), non_trainable=copy(snapshot["non_trainable"]),
                          optimizer=copy(self.optimizer.state),  # with any change callbacks made since the resume
                          metrics=metrics,  # an epoch-end snapshot (step 0): the new epoch starts with fresh metrics
                          rng=copy(snapshot["rng"]), seeds=copy(program.fn.seeds))
        return self._shard(state, *self._fit_vars)

    def _partition_for_inference(self):
        if self.compiled and getattr(self, "_trainable_snapshot", None) is not None:
            return self._partition()
        return self.variables, []
