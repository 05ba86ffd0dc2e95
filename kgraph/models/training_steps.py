"""The compiled steps: the pure train/test/predict bodies over the state, and their executables."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kgraph.distribution import distribution as current_distribution
from kgraph.models.compile_utils import match_target_rank
from kgraph.models.custom_steps import custom_step
from kgraph.models.training_state import ParamIndex, StepState
from kgraph.program import Program
from kgraph.runtime import sharding
from kgraph.runtime.data_adapter import ArrayDataAdapter
from kgraph.runtime.steps import BatchExecutables, PredictExecutables, StepExecutables


def _step_keys(program: Program, rng) -> tuple:
    """(the key the next step gets, this step's key): split only when the program draws random numbers, so a
    step without them carries no PRNG work."""
    return tuple(jax.random.split(rng)) if program.fn.needs_rng else (rng, rng)


class TrainingSteps:
    """Mixin of Model: forward, loss, gradients, optimizer and metric updates as pure functions of the state."""

    def _forward(self, program: Program, index: ParamIndex, trainable, frozen, x, rng, overrides=None, seeds=None):
        """The program run on the given weight values (`overrides` replaces parameters by name; `seeds`, the
        random ops' seeds as a step argument, replaces the program's own)."""
        params = index.params(trainable, frozen)
        if overrides:
            params.update(overrides)
        x = [xi.astype(v.dtype) for xi, v in zip(x, program.graph.inputs)]
        outputs, losses, updates = program.fn(params, x, rng, seeds)
        return outputs, losses, updates

    def _total_loss(self, y, outputs, sample_weight, losses):
        """The compiled losses plus the graph's added losses; also returns per-output parts and aligned y/sw."""
        n = len(outputs)
        y = list(y) if y is not None else [None] * n
        sw = list(sample_weight) if sample_weight is not None else [None] * n
        total, parts = self._compiled_loss(y, outputs, sw)
        for extra in losses:
            total = total + extra
        total = jnp.asarray(total, dtype="float32")
        return total, parts, y, sw

    def _update_metrics(self, metric_state, total, parts, y, outputs, sw, batch_size) -> list:
        """New metric values after one batch: the loss trackers, then each compiled metric."""
        states = iter(metric_state)
        new_state = [self._loss_tracker.stateless_update_state(next(states), total, sample_weight=batch_size)]
        for tracker, part in zip(self._compiled_loss.trackers, parts):
            if tracker is not None:
                new_state.append(tracker.stateless_update_state(next(states), part, sample_weight=batch_size))
        for i, metric, weighted in self._compiled_metrics.entries:
            values = next(states)
            if y[i] is None:
                new_state.append(values)
            else:
                target = match_target_rank(y[i], outputs[i])
                new_state.append(metric.stateless_update_state(values, target, outputs[i], sample_weight=sw[i] if weighted else None))
        return new_state

    def _logs(self, state: StepState) -> dict:
        """The logs (metric results by log name) computed from a step state's metric values."""
        return {name: m.stateless_result(values)
                for name, m, values in zip(self.metrics_names, self.metrics, state.metrics)}

    def _train_body(self, program: Program, index: ParamIndex):
        """kgraph's fused train step: what `train_step` computes for a model that customizes none of its parts."""
        optimizer = self.optimizer

        def body(state: StepState, batch) -> StepState:
            x, y, sw = batch
            rng, step_rng = _step_keys(program, state.rng)
            batch_size = x[0].shape[0]

            def loss_fn(trainable):
                outputs, losses, updates = self._forward(program, index, trainable, state.non_trainable, x, step_rng,
                                                         seeds=state.seeds)
                total, parts, y_l, sw_l = self._total_loss(y, outputs, sw, losses)
                return optimizer.stateless_scale_loss(state.optimizer, total), (total, outputs, updates, parts, y_l, sw_l)

            (_, (total, outputs, updates, parts, y_l, sw_l)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                state.trainable)
            trainable, opt_state = optimizer.stateless_apply(state.optimizer, grads, state.trainable)
            metric_state = self._update_metrics(state.metrics, total, parts, y_l, outputs, sw_l, batch_size)
            return StepState(trainable=trainable, non_trainable=index.updated(state.non_trainable, updates),
                             optimizer=opt_state, metrics=metric_state, rng=rng, seeds=state.seeds)

        return body

    def _test_body(self, program: Program, index: ParamIndex):
        def body(state: StepState, batch) -> StepState:
            x, y, sw = batch
            rng, step_rng = _step_keys(program, state.rng)
            outputs, losses, _ = self._forward(program, index, state.trainable, state.non_trainable, x, step_rng,
                                               seeds=state.seeds)
            total, parts, y_l, sw_l = self._total_loss(y, outputs, sw, losses)
            metric_state = self._update_metrics(state.metrics, total, parts, y_l, outputs, sw_l, x[0].shape[0])
            return state._replace(metrics=metric_state, rng=rng)

        return body

    def _predict_body(self, program: Program, index: ParamIndex):
        """`body(params, batch) -> (carry, outputs)`. The carry holds the parameters the graph updates (stateful
        RNNs' states), which override the weights and come back updated, and the PRNG key that layers called with
        an explicit `training=True` draw from; a graph that reads no key leaves it as it is."""
        def body(params, batch):
            x, _, _ = batch
            carry = params["carry"]
            rng, step_rng = _step_keys(program, carry["rng"])
            outputs, _, updates = self._forward(program, index, params["trainable"], params["non_trainable"], x,
                                                step_rng, overrides=carry["states"], seeds=params["seeds"])
            return {"states": {name: updates[name] for name in carry["states"]}, "rng": rng}, outputs

        return body

    def _executable(self, kind: str, program: Program, index: ParamIndex, stream: bool = False):
        """The compiled steps of `kind` ("train", "test", "predict"), over device-resident arrays or streamed batches.

        A model that customizes its steps (see custom_steps) gets its `train_step`/`test_step`/`predict_step`
        compiled instead, fed batch by batch.
        """
        custom = custom_step(self, kind, program)
        if kind == "train":
            if custom is None and not self._compiled_loss.has_loss and not program.graph.losses:
                raise ValueError("No loss to compute. Provide a `loss` argument in `compile()` or add losses with "
                                 "`add_loss`.")
            self.optimizer.track_constraints(self._partition()[0])
        dist = current_distribution()
        key = (kind, id(program), stream or custom is not None, dist)
        if key in self._executables:
            return self._executables[key]
        if custom is not None:
            self._executables[key] = BatchExecutables(sharding.with_batch_sharding(custom, dist), donate=kind == "train")
            return self._executables[key]
        if key not in self._executables:
            if kind == "predict":
                body = sharding.with_batch_sharding(self._predict_body(program, index), dist)
                self._executables[key] = BatchExecutables(body, donate=False) if stream else PredictExecutables(body)
            else:
                body = self._train_body(program, index) if kind == "train" else self._test_body(program, index)
                body = sharding.with_batch_sharding(body, dist)
                self._executables[key] = (BatchExecutables(body, self._logs, donate=kind == "train") if stream
                                          else StepExecutables(body, self._logs, training=kind == "train"))
        return self._executables[key]

    def _precompile(self, run, program: Program, adapter, val_adapter, trainable, frozen, train_fuse: int,
                    test_fuse: int) -> None:
        """Starts compiling, on a background thread, the other batch sizes this fit will meet (validation too).

        It runs from shapes alone (the windows calls of `train_fuse` and `test_fuse` batches stage), so
        compilation overlaps the first steps. The first batch size is left to `jax.jit` itself, which compiles
        it at the first call and then dispatches through its C++ fast path.
        """
        def spec(a):
            return jax.ShapeDtypeStruct(np.shape(a), a.dtype)

        test_state = StepState(trainable=[spec(v.value) for v in trainable], non_trainable=[spec(v.value) for v in frozen],
                               optimizer=None, metrics=jax.tree_util.tree_map(spec, self._metric_state(reset=True)),
                               rng=jax.ShapeDtypeStruct((2,), np.uint32), seeds=None)
        optimizer = self.optimizer.state if self.optimizer.state is not None else \
            jax.eval_shape(self.optimizer.init, test_state.trainable)
        state = test_state._replace(optimizer=jax.tree_util.tree_map(spec, optimizer), seeds=spec(program.fn.seeds))
        _, plan = adapter.epoch(train_fuse)
        rows = adapter.window_rows(plan)
        for size in set(rows) - {plan[0][2]}:
            run.prepare(state, adapter.window_specs(rows[size]), None, size)
        if isinstance(val_adapter, ArrayDataAdapter):
            test_program = self._program(False, val_adapter.host[0])
            test_run = self._executable("test", test_program, self._param_index(test_program, trainable, frozen))
            if not isinstance(test_run, StepExecutables):
                return
            val_rows = val_adapter.window_rows(val_adapter.epoch(test_fuse)[1])
            test_state = test_state._replace(seeds=spec(test_program.fn.seeds))
            for size in sorted(val_rows):
                test_run.prepare(test_state, val_adapter.window_specs(val_rows[size]), None, size)
