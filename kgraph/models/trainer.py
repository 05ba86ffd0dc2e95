"""compile / fit / evaluate / predict: the model side of training, driving compiled steps from the runtime."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kgraph import config
from kgraph import metrics as metrics_module
from kgraph import random as kg_random
from kgraph.callbacks import Callback, CallbackList, History, ProgbarLogger
from kgraph.distribution import distribution as current_distribution
from kgraph.models.compile_utils import CompileLoss, CompileMetrics, match_target_rank
from kgraph.models.custom_steps import CustomSteps, custom_step
from kgraph.program import Program, input_specs_from_data, input_specs_from_model, trace_model
from kgraph.runtime import sharding
from kgraph.runtime.data_adapter import ArrayDataAdapter, split_for_validation
from kgraph.runtime.data_adapters import ArrayAdapter, DevicePrefetcher, get_data_adapter, is_array_data
from kgraph.runtime.steps import BatchExecutables, PredictExecutables, StepExecutables
from kgraph import tree
from kgraph import optimizers
from kgraph import losses
from kgraph.runtime.data_adapter import standardize


AUTO_FUSED_STEPS = 32
TRAIN_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")
TEST_BATCH_HOOKS = ("on_test_batch_begin", "on_test_batch_end")
PREDICT_BATCH_HOOKS = ("on_predict_batch_begin", "on_predict_batch_end")


def steps_per_call(callback_list: CallbackList, steps_per_execution: int, hooks: tuple[str, ...]) -> int:
    """Batches per compiled call: `steps_per_execution`, or more when no callback looks at single batches.

    History reads only epochs and the progress bar treats fused batches as Keras does with
    `steps_per_execution`, so with only those the loop runs on the device and Python sees every 32nd batch.
    """
    for cb in callback_list.callbacks:
        if isinstance(cb, (History, ProgbarLogger)):
            continue
        if any(getattr(type(cb), hook) is not getattr(Callback, hook) for hook in hooks):
            return steps_per_execution
    return max(steps_per_execution, AUTO_FUSED_STEPS)


def _float_logs(logs: dict) -> dict:
    return {k: float(np.asarray(v)) for k, v in logs.items()}


class Trainer(CustomSteps):
    """Mixin of Model: compiled training, evaluation and prediction over device-resident state."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.stop_training = False
        self.history = None
        self._compile_args = None
        self._fit_live = None
        self._fit_vars = None
        self._resume_point = None
        self._programs: dict = {}
        self._executables: dict = {}
        self._rng_key = None

    # --- compile ------------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True) -> None:
        """Configures training.

        Args:
            optimizer: an optimizer name ("rmsprop", "adam", …) or instance.
            loss: a loss name, function or instance; a list or dict of them for several outputs.
            loss_weights: scalars weighting each output's loss in the total.
            metrics: metric names, functions or instances (a list, or per output as a list/dict).
            weighted_metrics: metrics that also take `sample_weight`/`class_weight` into account.
            steps_per_execution: batches fused into one compiled call (callbacks see every N-th batch).
            jit_compile: accepted for Keras compatibility; kgraph always compiles with XLA.
        """
        if not isinstance(steps_per_execution, (int, np.integer)) or steps_per_execution < 1:
            raise ValueError(f"`steps_per_execution` must be a positive integer, got {steps_per_execution!r}")
        self.optimizer = optimizers.get(optimizer)
        if loss is not None:
            for item in tree.flatten(loss if isinstance(loss, (list, tuple, dict)) else [loss]):
                if item is not None:
                    losses.get(item)
        self._compile_args = dict(loss=loss, loss_weights=loss_weights, metrics=metrics, weighted_metrics=weighted_metrics)
        self.steps_per_execution = int(steps_per_execution)
        self.run_eagerly = run_eagerly
        self.jit_compile = jit_compile
        self.compiled = True
        self._compiled_loss = None
        self._compiled_metrics = None
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._trainable_snapshot = [v for v in self.trainable_weights] if self.built else None
        self._executables = {}
        self._programs = {}

    def _assert_compiled(self, method: str) -> None:
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before using the model in `{method}()`.")

    # --- programs ------------------------------------------------------------------------------------
    def _specs(self, x_arrays: list):
        specs = input_specs_from_model(self)
        return specs if specs is not None else input_specs_from_data(x_arrays)

    def _program(self, training: bool, x_arrays: list) -> Program:
        key = (training, tuple((a.dtype.str, a.shape[1:]) for a in x_arrays) if input_specs_from_model(self) is None else None)
        program = self._programs.get(key)
        if program is None:
            specs = self._specs(x_arrays)
            structure = [s.name for s in specs] if len(specs) > 1 else None
            program = self._programs[key] = trace_model(self, specs, training, structure)
        return program

    def _output_names(self, program: Program) -> list[str]:
        names = getattr(self, "output_names", None)
        count = len(program.graph.outputs)
        if names and len(names) == count:
            structure = getattr(self, "_output_structure", None)
            if isinstance(structure, dict):
                return sorted(structure)
            return list(names)
        return [f"output_{i}" for i in range(count)] if count > 1 else [self.name + "_output"]

    def _finalize_compile(self, program: Program, y=None) -> None:
        """Builds the compiled loss and metrics once outputs (and, for "accuracy", targets) are known."""
        if self._compiled_loss is not None:
            return
        names = self._output_names(program)
        args = self._compile_args
        self._compiled_loss = CompileLoss(args["loss"], args["loss_weights"], names)
        shapes = [v.type.keras_shape() for v in program.graph.outputs]
        targets = self._flatten_y(y, names) if y is not None else [None] * len(names)
        target_shapes = [None if t is None else np.shape(t) for t in targets]
        self._compiled_metrics = CompileMetrics(args["metrics"], args["weighted_metrics"], names, target_shapes, shapes)
        if self._trainable_snapshot is None:
            self._trainable_snapshot = [v for v in self.trainable_weights]

    @property
    def metrics(self) -> list:
        """The metric objects whose results appear in the logs: the loss tracker first."""
        if not self.compiled:
            return []
        result = [self._loss_tracker]
        if self._compiled_loss is not None:
            result += [t for t in self._compiled_loss.trackers if t is not None]
            result += self._compiled_metrics.metrics
        return result

    @property
    def metrics_names(self) -> list[str]:
        """The keys of the logs, in order: "loss", per-output losses, then the compiled metrics."""
        if not self.compiled:
            return []
        names = ["loss"]
        if self._compiled_loss is not None:
            names += [t.name for t in self._compiled_loss.trackers if t is not None]
            names += self._compiled_metrics.log_names
        return names

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    # --- state ---------------------------------------------------------------------------------------
    def _partition(self):
        snapshot = {id(v) for v in self._trainable_snapshot}
        weights = self.weights
        return [v for v in weights if id(v) in snapshot], [v for v in weights if id(v) not in snapshot]

    def _param_index(self, program: Program, trainable: list, frozen: list) -> dict:
        position = {id(v): ("t", i) for i, v in enumerate(trainable)}
        position.update({id(v): ("n", i) for i, v in enumerate(frozen)})
        return {name: position[id(var)] for name, var in program.variables.items()}

    # --- x / y / sample_weight ------------------------------------------------------------------------
    def _flatten_x(self, x) -> list:
        names = getattr(self, "input_names", None) or []
        if isinstance(x, dict):
            if not names:
                raise ValueError(f"Model {self.name!r} has no named inputs to match the dict keys {sorted(x)} against")
            missing = [n for n in names if n not in x]
            if missing:
                raise KeyError(f"Model {self.name!r}: input dict is missing key(s) {missing}; expected keys {names}, got {sorted(x)}")
            unknown = sorted(set(x) - set(names))
            if unknown:
                raise ValueError(f"Model {self.name!r}: input dict has unknown key(s) {unknown}; expected keys {names}")
            return [x[n] for n in names]
        if isinstance(x, (list, tuple)) and x and all(hasattr(v, "shape") for v in x):
            if names and len(x) != len(names):
                raise ValueError(f"Model {self.name!r} expects {len(names)} input(s) {names}, got a list of {len(x)} arrays")
            return list(x)
        return [x]

    def _flatten_y(self, y, names: list[str]) -> list | None:
        if y is None:
            return None
        if isinstance(y, dict):
            unknown = sorted(set(y) - set(names))
            if unknown:
                raise ValueError(f"Model {self.name!r}: target dict has unknown key(s) {unknown}; the outputs are {names}")
            return [y.get(n) for n in names]
        if isinstance(y, (list, tuple)) and len(names) > 1:
            if len(y) != len(names):
                raise ValueError(f"Model {self.name!r} has {len(names)} outputs {names}, got {len(y)} target arrays")
            return list(y)
        return [y]

    def _flatten_sample_weight(self, sample_weight, names: list[str]):
        if sample_weight is None:
            return None
        if isinstance(sample_weight, dict):
            return [sample_weight.get(n) for n in names]
        if isinstance(sample_weight, (list, tuple)) and len(names) > 1 and len(sample_weight) == len(names):
            return list(sample_weight)
        return [sample_weight] * len(names)

    def _check_inputs(self, arrays: list) -> list:
        """Checks arrays against the model's Input specs; rank off by one with a size-1 dim is adjusted as Keras does.

        The first dim is not checked: a fixed batch size (stateful RNNs) is the size of each batch, not of the data.
        """
        specs = input_specs_from_model(self)
        if specs is None:
            return arrays
        result = []
        for spec, a in zip(specs, arrays):
            expected = spec.type.keras_shape()
            if a.ndim == len(expected) - 1 and expected[-1] == 1:
                a = a[..., None]
            elif a.ndim == len(expected) + 1 and a.shape[-1] == 1:
                a = a[..., 0]
            compatible = a.ndim == len(expected) and all(e is None or e == d for e, d in zip(expected[1:], a.shape[1:]))
            if not compatible:
                raise ValueError(f"Input {spec.name!r} of model {self.name!r} is incompatible with the data: "
                                 f"expected shape={expected}, found shape={tuple(a.shape)}")
            result.append(a)
        return result

    def _adapter(self, x, y, sample_weight, batch_size, steps, shuffle, class_weight=None, program_names=None):
        x_list = self._flatten_x(x)
        names = program_names
        y_list = self._flatten_y(y, names) if names else ([y] if y is not None else None)
        sw_list = self._flatten_sample_weight(sample_weight, names) if names else ([sample_weight] if sample_weight is not None else None)
        adapter = ArrayAdapter(x_list, y_list, sw_list, batch_size=batch_size, steps=steps, shuffle=shuffle,
                               class_weight=class_weight, seed=kg_random.next_seed())
        x_host = self._check_inputs(adapter.host[0])
        if any(a is not b for a, b in zip(x_host, adapter.host[0])):
            adapter.host = (x_host,) + adapter.host[1:]
            adapter.device = jax.device_put(adapter.host)
        if current_distribution() is not None:
            adapter.device = sharding.put_dataset(adapter.host, current_distribution())
        return adapter

    def _prepare(self, x, training: bool):
        """The program for x's input signature, after checking x against the model's inputs."""
        x_list = [np.asarray(a) if not hasattr(a, "shape") else a for a in self._flatten_x(x)]

        x_list = self._check_inputs(standardize(x_list, "x"))
        return self._program(training, x_list)

    # --- step bodies -----------------------------------------------------------------------------------
    def _forward(self, program: Program, index: dict, trainable, frozen, x, rng):
        params = {name: (trainable if kind == "t" else frozen)[i] for name, (kind, i) in index.items()}
        x = [xi.astype(v.dtype) for xi, v in zip(x, program.graph.inputs)]
        outputs, losses, updates = program.fn(params, x, rng)
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

    def _logs(self, state: dict) -> dict:
        """The logs (metric results by log name) computed from a step state's metric values."""
        return {name: m.stateless_result(values)
                for name, m, values in zip(self.metrics_names, self.metrics, state["metrics"])}

    def _train_body(self, program: Program, index: dict):
        optimizer = self.optimizer

        def body(state, batch):
            x, y, sw = batch
            rng, step_rng = jax.random.split(state["rng"])
            batch_size = x[0].shape[0]

            def loss_fn(trainable):
                outputs, losses, updates = self._forward(program, index, trainable, state["non_trainable"], x, step_rng)
                total, parts, y_l, sw_l = self._total_loss(y, outputs, sw, losses)
                return total, (outputs, updates, parts, y_l, sw_l)

            (total, (outputs, updates, parts, y_l, sw_l)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["trainable"])
            trainable, opt_state = optimizer.stateless_apply(state["optimizer"], grads, state["trainable"])
            frozen = list(state["non_trainable"])
            for name, value in updates.items():
                kind, i = index[name]
                if kind == "n":
                    frozen[i] = value
            metric_state = self._update_metrics(state["metrics"], total, parts, y_l, outputs, sw_l, batch_size)
            return {"trainable": trainable, "non_trainable": frozen, "optimizer": opt_state,
                    "metrics": metric_state, "rng": rng}

        return body

    def _test_body(self, program: Program, index: dict):
        def body(state, batch):
            x, y, sw = batch
            rng, step_rng = jax.random.split(state["rng"])
            outputs, losses, _ = self._forward(program, index, state["trainable"], state["non_trainable"], x, step_rng)
            total, parts, y_l, sw_l = self._total_loss(y, outputs, sw, losses)
            metric_state = self._update_metrics(state["metrics"], total, parts, y_l, outputs, sw_l, x[0].shape[0])
            return {**state, "metrics": metric_state, "rng": rng}

        return body

    def _predict_body(self, program: Program, index: dict):
        """`body(params, batch) -> (carry, outputs)`. The carry holds the parameters the graph updates (stateful
        RNNs' states), which override the weights and come back updated, and the PRNG key that layers called with
        an explicit `training=True` draw from."""
        def body(params, batch):
            x, _, _ = batch
            carry = params["carry"]
            rng, step_rng = jax.random.split(carry["rng"])
            weights = {"t": list(params["trainable"]), "n": list(params["non_trainable"])}
            for name, value in carry["states"].items():
                kind, i = index[name]
                weights[kind][i] = value
            outputs, _, updates = self._forward(program, index, weights["t"], weights["n"], x, step_rng)
            return {"states": {name: updates[name] for name in carry["states"]}, "rng": rng}, outputs

        return body

    def _executable(self, kind: str, program: Program, index: dict, stream: bool = False):
        """The compiled steps of `kind` ("train", "test", "predict"), over device-resident arrays or streamed batches.

        A model that overrides `train_step`/`test_step`/`predict_step` (Keras' JAX-style signatures) gets its
        own step compiled instead, fed batch by batch.
        """
        if kind == "train":
            self.optimizer.track_constraints(self._partition()[0])
        custom = custom_step(self, kind)
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
                cls = BatchExecutables if stream else StepExecutables
                self._executables[key] = cls(body, self._logs, donate=kind == "train")
        return self._executables[key]

    # --- state transfer ----------------------------------------------------------------------------------
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

    def _train_state(self, trainable, frozen, reset_metrics: bool) -> dict:
        def copy(a):
            """A fresh device buffer: the step donates its state, which must not be the Variables' own."""
            return jax.device_put(np.array(a))

        if self.optimizer.state is None:
            self.optimizer.state = jax.jit(self.optimizer.init)([v.value for v in trainable])
        if self._rng_key is None:
            self._rng_key = kg_random.key()
        state = {
            "trainable": [copy(v.value) for v in trainable],
            "non_trainable": [copy(v.value) for v in frozen],
            "optimizer": jax.tree_util.tree_map(copy, self.optimizer.state),
            "metrics": jax.tree_util.tree_map(copy, self._metric_state(reset_metrics)),
            "rng": copy(self._rng_key),
        }
        return self._shard(state, trainable, frozen)

    @staticmethod
    def _shard(state: dict, trainable, frozen) -> dict:
        """The state laid out on the current distribution's device mesh (unchanged without one)."""
        dist = current_distribution()
        if dist is None:
            return state
        return sharding.shard_state(state, {"trainable": trainable, "non_trainable": frozen}, dist)

    def _write_train_state(self, state: dict, trainable, frozen) -> None:
        for v, value in zip(trainable, state["trainable"]):
            v.assign(value)
        for v, value in zip(frozen, state["non_trainable"]):
            v.assign(value)
        self.optimizer.state = state["optimizer"]
        self._write_metric_state(state["metrics"])
        self._rng_key = state["rng"]

    # --- data ----------------------------------------------------------------------------------------------
    def _data(self, x, y, sample_weight, batch_size, steps, shuffle, class_weight, training: bool):
        """(adapter, program, output names) for any data source; streaming sources are peeked for their signature."""
        if is_array_data(x):
            program = self._prepare(x, training)
            if self.compiled:
                self._finalize_compile(program, y)
            names = self._output_names(program)
            adapter = self._adapter(x, y, sample_weight, batch_size, steps, shuffle, class_weight, names)
            if current_distribution() is not None:
                sharding.check_batch_size(adapter.batch_size, adapter.size, current_distribution())
            return adapter, program, names
        adapter = get_data_adapter(x, y, sample_weight, batch_size, steps, shuffle, class_weight, seed=kg_random.next_seed())
        x0, y0, _ = adapter.peek()
        program = self._prepare(x0, training)
        if self.compiled:
            self._finalize_compile(program, y0)
        return adapter, program, self._output_names(program)

    def _model_batch(self, names: list[str], batch) -> tuple:
        """A host batch from a streaming source in the flat (x, y, sample_weight) lists the steps take."""
        x, y, sw = batch
        return (self._check_inputs(self._flatten_x(x)),
                self._flatten_y(y, names) if y is not None else None,
                self._flatten_sample_weight(sw, names) if sw is not None else None)

    def _run_batches(self, kind: str, adapter, run, state, callback_list, names, epoch: int = 0, first_step: int = 0):
        """Runs one pass of `kind` steps over the adapter's batches, calling the batch hooks; returns (state, logs, batches)."""
        begin = getattr(callback_list, f"on_{kind}_batch_begin")
        end = getattr(callback_list, f"on_{kind}_batch_end")
        live = kind == "train"
        logs, count = {}, 0
        if not isinstance(run, BatchExecutables):
            hooks = TRAIN_BATCH_HOOKS if kind == "train" else TEST_BATCH_HOOKS
            perm, plan = adapter.epoch(steps_per_call(callback_list, self.steps_per_execution, hooks), epoch, first_step)
            for step, start, size, fused in plan:
                begin(step)
                state, logs = run(state, adapter.device, perm, start, size, fused)
                count += fused
                if live:
                    self._fit_live = (state, epoch, step + fused)
                end(step + fused - 1, logs)
                if kind == "train" and self.stop_training:
                    break
            return state, logs, count
        if isinstance(adapter, ArrayDataAdapter):
            host = adapter.batches(epoch)
        else:
            host = (self._model_batch(names, b) for b in adapter.batches(epoch))
        if current_distribution() is not None:
            host = (sharding.shard_batch(b, current_distribution()) for b in host)
        with DevicePrefetcher(host, size=2) as batches:
            for step, batch in enumerate(batches):
                if step < first_step:
                    continue
                begin(step)
                state, logs = run(state, batch)
                count += 1
                if live:
                    self._fit_live = (state, epoch, step + 1)
                end(step, logs)
                if kind == "train" and self.stop_training:
                    break
        adapter.on_epoch_end()
        return state, logs, count

    # --- fit -----------------------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Trains for `epochs` epochs over `x`/`y` (arrays, a PyDataset, a generator, a torch DataLoader or a
        tf.data Dataset) and returns the History."""
        self._assert_compiled("fit")
        if x is None:
            raise ValueError("fit() needs training data `x`")
        if validation_split and validation_data is None:
            if not is_array_data(x):
                raise ValueError("Argument `validation_split` is only supported for NumPy arrays (or lists/dicts of "
                                 f"them); got x of type {type(x).__name__}. Pass `validation_data` instead.")
            x_flat = self._flatten_x(x)
            (x_flat, y, sample_weight), (vx, vy, vsw) = split_for_validation((x_flat, y, sample_weight), validation_split)
            x = x_flat if len(x_flat) > 1 else x_flat[0]
            validation_data = (vx if len(vx) > 1 else vx[0], vy, vsw)
        epochs = min(epochs, config.max_epochs() or epochs)
        if config.max_steps_per_epoch():
            steps_per_epoch = min(steps_per_epoch or config.max_steps_per_epoch(), config.max_steps_per_epoch())
        adapter, program, names = self._data(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight, True)
        try:
            return self._fit(adapter, program, names, epochs, verbose, callbacks, validation_data, initial_epoch,
                             validation_steps, validation_batch_size or batch_size, validation_freq)
        finally:
            self._fit_live = None
            if hasattr(adapter, "close"):
                adapter.close()

    def _fit(self, adapter, program, names, epochs, verbose, callbacks, validation_data, initial_epoch,
             validation_steps, validation_batch_size, validation_freq):
        if not self._compiled_loss.has_loss and not program.graph.losses:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()` or add losses with `add_loss`.")
        val_adapter = None
        if validation_data is not None:
            val_adapter = self._validation_adapter(validation_data, validation_batch_size, validation_steps, names)
        stream = not isinstance(adapter, ArrayDataAdapter)
        trainable, frozen = self._partition()
        run = self._executable("train", program, self._param_index(program, trainable, frozen), stream)
        self._fit_vars = (trainable, frozen)
        verbose = 1 if verbose == "auto" else verbose
        callback_list = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=epochs, steps=adapter.num_batches)
        self.stop_training = False
        self._resume_point = None
        self._fit_data_seed = getattr(adapter, "seed", None)
        callback_list.on_train_begin()
        resume, self._resume_point = self._resume_point, None
        first_epoch = resume["epoch"] if resume else initial_epoch
        if resume and resume.get("data_seed") is not None and hasattr(adapter, "seed"):
            adapter.seed = self._fit_data_seed = int(resume["data_seed"])  # the interrupted run's shuffling
        epoch_logs: dict = {}
        for epoch in range(first_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            resuming = resume is not None and epoch == resume["epoch"]
            if epoch == first_epoch and isinstance(run, StepExecutables) and current_distribution() is None:
                self._precompile(run, adapter, val_adapter, trainable, frozen)
            state = self._state_from_snapshot(resume) if resuming else self._train_state(trainable, frozen, reset_metrics=True)
            state, logs, count = self._run_batches("train", adapter, run, state, callback_list, names, epoch,
                                                   resume["step"] if resuming else 0)
            self._fit_live = None
            if resuming and count == 0:
                logs = self._logs(state)
            self._write_train_state(state, trainable, frozen)
            self._fit_position = (epoch + 1, 0)
            if count == 0 and not resuming:
                break
            epoch_logs = _float_logs(logs)
            if val_adapter is not None and self._should_validate(epoch, validation_freq):
                val_logs = self._run_evaluate(val_adapter, callback_list, names)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        return self.history

    def _validation_adapter(self, validation_data, batch_size, steps, names):
        """Validation data as an adapter: a tuple of arrays (x_val, y_val[, sample_weight]) or any data source."""
        if isinstance(validation_data, tuple) and len(validation_data) in (2, 3) and is_array_data(validation_data[0]):
            vx, vy, vsw = self._unpack_validation(validation_data)
            return self._adapter(vx, vy, vsw, batch_size, steps, False, program_names=names)
        if isinstance(validation_data, (list, tuple)) and not is_array_data(validation_data):
            self._unpack_validation(validation_data)
        return get_data_adapter(validation_data, steps_per_epoch=steps)

    # --- fault tolerance ---------------------------------------------------------------------------------
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
            state = {"trainable": [v.value for v in trainable], "non_trainable": [v.value for v in frozen],
                     "optimizer": self.optimizer.state, "metrics": self._metric_state(reset=False), "rng": self._rng_key}
            epoch, step = getattr(self, "_fit_position", (0, 0))
        snapshot = jax.tree_util.tree_map(np.array, state)
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

    def _state_from_snapshot(self, snapshot: dict) -> dict:
        copy = lambda tree: jax.tree_util.tree_map(lambda a: jax.device_put(np.array(a)), tree)  # noqa: E731
        state = copy({k: snapshot[k] for k in ("trainable", "non_trainable", "metrics", "rng")})
        state["optimizer"] = copy(self.optimizer.state)  # with any change callbacks made since the resume
        if snapshot["step"] == 0:  # an epoch-end snapshot: the new epoch starts with fresh metrics
            state["metrics"] = self._metric_state(reset=True)
        return self._shard(state, *self._fit_vars)

    def _precompile(self, run, adapter, val_adapter, trainable, frozen) -> None:
        """Starts compiling, on a background thread, the other batch sizes this fit will meet (validation too).

        It runs from shapes alone, so compilation overlaps the first steps. The first batch size is left to
        `jax.jit` itself, which compiles it at the first call and then dispatches through its C++ fast path.
        """
        def spec(a):
            return jax.ShapeDtypeStruct(np.shape(a), a.dtype)

        weights = {"trainable": [spec(v.value) for v in trainable], "non_trainable": [spec(v.value) for v in frozen],
                   "metrics": jax.tree_util.tree_map(spec, self._metric_state(reset=True))}
        optimizer = self.optimizer.state if self.optimizer.state is not None else \
            jax.eval_shape(self.optimizer.init, weights["trainable"])
        state = {**weights, "optimizer": jax.tree_util.tree_map(spec, optimizer),
                 "rng": jax.ShapeDtypeStruct((2,), np.uint32)}
        perm, plan = adapter.epoch()
        for size in {size for _, _, size, _ in plan} - {plan[0][2]}:
            run.prepare(state, adapter.device, perm, size)
        if isinstance(val_adapter, ArrayDataAdapter):
            test_program = self._program(False, val_adapter.host[0])
            test_run = self._executable("test", test_program, self._param_index(test_program, trainable, frozen))
            if not isinstance(test_run, StepExecutables):
                return
            val_perm, val_plan = val_adapter.epoch()
            for size in sorted({size for _, _, size, _ in val_plan}):
                test_run.prepare({**weights, "rng": jax.ShapeDtypeStruct((2,), np.uint32)}, val_adapter.device, val_perm, size)

    @staticmethod
    def _should_validate(epoch: int, freq) -> bool:
        if isinstance(freq, int):
            return (epoch + 1) % freq == 0
        return epoch + 1 in freq

    @staticmethod
    def _unpack_validation(data):
        if not isinstance(data, (list, tuple)) or len(data) not in (2, 3):
            raise ValueError(f"`validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight), "
                             f"got {type(data).__name__} of length {len(data) if hasattr(data, '__len__') else '?'}")
        return (data[0], data[1], data[2] if len(data) == 3 else None)

    # --- evaluate -------------------------------------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Returns the loss and metric values on `x`/`y` (a scalar, a list in Keras' order, or a dict)."""
        self._assert_compiled("evaluate")
        adapter, program, names = self._data(x, y, sample_weight, batch_size, steps, False, None, False)
        verbose = 1 if verbose == "auto" else verbose
        callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                                     steps=adapter.num_batches)
        logs = self._run_evaluate(adapter, callback_list, names, program)
        return self._format_logs(logs, return_dict)

    def _run_evaluate(self, adapter, callback_list, names, program=None) -> dict:
        if program is None:
            sample = adapter.host[0] if isinstance(adapter, ArrayDataAdapter) else adapter.peek()[0]
            program = self._prepare(sample, training=False)
        trainable, frozen = self._partition()
        stream = not isinstance(adapter, ArrayDataAdapter)
        run = self._executable("test", program, self._param_index(program, trainable, frozen), stream)
        state = self._shard({"trainable": [v.value for v in trainable], "non_trainable": [v.value for v in frozen],
                             "metrics": self._metric_state(reset=True), "rng": kg_random.key()}, trainable, frozen)
        callback_list.on_test_begin()
        state, logs, _ = self._run_batches("test", adapter, run, state, callback_list, names)
        self._write_metric_state(state["metrics"])
        logs = _float_logs(logs)
        callback_list.on_test_end(logs)
        return logs

    # --- predict ----------------------------------------------------------------------------------------------
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Runs the model in inference mode over `x` in batches; returns NumPy arrays shaped like the outputs."""
        adapter, program, names = self._data(x, None, None, batch_size, steps, False, None, False)
        trainable, frozen = self._partition_for_inference()
        stream = not isinstance(adapter, ArrayDataAdapter)
        run = self._executable("predict", program, self._param_index(program, trainable, frozen), stream)
        carry = {"states": {name: program.variables[name].value for name in program.graph.updates}, "rng": kg_random.key()}
        params = self._shard({"trainable": [v.value for v in trainable], "non_trainable": [v.value for v in frozen],
                              "carry": carry}, trainable, frozen)
        verbose = 1 if verbose == "auto" else verbose
        callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                                     steps=adapter.num_batches)
        callback_list.on_predict_begin()
        chunks = []
        for step, outputs, states in self._predict_batches(adapter, run, params, names, callback_list):
            callback_list.on_predict_batch_begin(step)
            chunks.append(outputs)
            callback_list.on_predict_batch_end(step, {"outputs": outputs})
        for name, value in states.items():
            program.variables[name].assign(value)
        if hasattr(adapter, "close"):
            adapter.close()
        if not chunks:
            raise ValueError("predict() got no data: the input yielded no batches")
        flat = [np.concatenate([np.asarray(c[i]) for c in chunks]) for i in range(len(program.graph.outputs))]
        callback_list.on_predict_end()
        return tree.pack_like(program.output_structure, flat)

    def _predict_batches(self, adapter, run, params, names, callback_list):
        """Yields (last batch index, outputs, states) per compiled call; each call starts from the last states."""
        if isinstance(adapter, ArrayDataAdapter) and not isinstance(run, BatchExecutables):
            fuse = steps_per_call(callback_list, getattr(self, "steps_per_execution", 1), PREDICT_BATCH_HOOKS)
            perm, plan = adapter.epoch(fuse)
            for step, start, size, fused in plan:
                carry, chunks = run(params, adapter.device, perm, start, size, fused, fuse)
                params = {**params, "carry": carry}
                for i, outputs in enumerate(chunks, start=step + fused - len(chunks)):
                    yield i, outputs, carry["states"]
            return
        if isinstance(adapter, ArrayDataAdapter):
            host = ((b[0], None, None) for b in adapter.batches())
        else:
            host = ((self._check_inputs(self._flatten_x(b[0])), None, None) for b in adapter.batches())
        if current_distribution() is not None:
            host = (sharding.shard_batch(b, current_distribution()) for b in host)
        with DevicePrefetcher(host, size=2) as batches:
            for step, batch in enumerate(batches):
                carry, outputs = run(params, batch)
                params = {**params, "carry": carry}
                yield step, tree.flatten(outputs), carry["states"]

    def _partition_for_inference(self):
        if self.compiled and getattr(self, "_trainable_snapshot", None) is not None:
            return self._partition()
        return self.weights, []

    # --- single batches ------------------------------------------------------------------------------------------
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; metrics keep accumulating until `reset_metrics()`."""
        self._assert_compiled("train_on_batch")
        program = self._prepare(x, training=True)
        self._finalize_compile(program, y)
        names = self._output_names(program)
        adapter = self._adapter(x, y, sample_weight, None, None, False, class_weight, names)
        trainable, frozen = self._partition()
        run = self._executable("train", program, self._param_index(program, trainable, frozen))
        state = self._train_state(trainable, frozen, reset_metrics=False)
        state, logs = run(state, adapter.device, jnp.arange(adapter.size, dtype=jnp.int32), 0, adapter.size, 1)
        self._write_train_state(state, trainable, frozen)
        return self._format_logs(_float_logs(logs), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("test_on_batch")
        program = self._prepare(x, training=False)
        self._finalize_compile(program, y)
        names = self._output_names(program)
        adapter = self._adapter(x, y, sample_weight, None, None, False, program_names=names)
        adapter.batch_size, adapter.num_batches = adapter.size, 1
        logs = self._run_evaluate(adapter, CallbackList(model=self), names, program)
        return self._format_logs(logs, return_dict)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=len(self._flatten_x(x)[0]), verbose=0)

    def _format_logs(self, logs: dict, return_dict: bool):
        """Logs as a dict (sorted keys, as JAX-backed Keras returns them) or a list in Keras' order.

        The list starts with the loss, then compiled metrics under their own names (single output), then
        per-output losses, then every other key sorted — what Keras' `_flatten_metrics_in_order` yields.
        """
        if return_dict:
            return logs
        order = ["loss"]
        if self._compiled_metrics is not None:
            order += [m.name for m in self._compiled_metrics.metrics]
            order += [t.name for t in self._compiled_loss.trackers if t is not None]
        values = [logs[name] for name in dict.fromkeys(order) if name in logs]
        values += [logs[key] for key in sorted(logs) if key not in order]
        return values[0] if len(values) == 1 else values
