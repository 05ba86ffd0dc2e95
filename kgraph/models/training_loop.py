"""The loops of fit/evaluate/predict: data in, batches through the compiled steps, callbacks and logs out."""

from __future__ import annotations

import jax
import numpy as np

from kgraph import config
from kgraph import random as kg_random
from kgraph.callbacks import Callback, CallbackList, History, ProgbarLogger
from kgraph.distribution import distribution as current_distribution
from kgraph.models import input_checks
from kgraph.runtime import sharding
from kgraph.runtime.data_adapter import ArrayDataAdapter, split_for_validation
from kgraph.runtime.data_adapters import DevicePrefetcher, get_data_adapter, is_array_data
from kgraph.runtime.steps import BatchExecutables, StepExecutables
from kgraph import tree


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


def _device_calls(adapter: ArrayDataAdapter, plan: list[tuple], perm):
    """Each compiled call's data: (first batch, batch size, batches, start, arrays, order on the device).

    A call gets its own window of samples; under a distribution the whole dataset is laid out across the
    devices once and each step gathers its batch from it through the permutation.
    """
    if current_distribution() is None:
        for call in adapter.calls(plan, perm):
            yield call + (None,)
        return
    order = None if perm is None else jax.device_put(perm)
    for step, start, size, fused in plan:
        yield step, size, fused, start, adapter.device, order


def _float_logs(logs: dict) -> dict:
    """Scalars as Python floats; a metric whose result is a tensor keeps it as a NumPy array, as Keras logs it."""
    return {k: float(a) if a.ndim == 0 else a for k, a in ((k, np.asarray(v)) for k, v in logs.items())}


class TrainingLoop:
    """Mixin of Model: `fit`, `evaluate`, `predict` and the single-batch methods, as Keras has them."""

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
            for step, size, fused, offset, data, order in _device_calls(adapter, plan, perm):
                begin(step)
                state, logs = run(state, data, order, offset, size, fused)
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

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Trains for `epochs` epochs over `x`/`y` (arrays, a PyDataset, a generator, a torch DataLoader or a
        tf.data Dataset) and returns the History."""
        self._assert_compiled("fit")
        if x is None:
            raise ValueError("fit() needs training data `x`")
        input_checks.check_fit_arguments(epochs, initial_epoch, validation_freq)
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
                self._precompile(run, program, adapter, val_adapter, trainable, frozen,
                                 steps_per_call(callback_list, self.steps_per_execution, TRAIN_BATCH_HOOKS),
                                 steps_per_call(callback_list, self.steps_per_execution, TEST_BATCH_HOOKS))
            state = (self._state_from_snapshot(program, resume) if resuming
                     else self._train_state(program, trainable, frozen, reset_metrics=True))
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
        if epochs > 0:
            self.optimizer.finalize_variable_values(trainable)
        callback_list.on_train_end(epoch_logs)
        return callback_list.history

    def _validation_adapter(self, validation_data, batch_size, steps, names):
        """Validation data as an adapter: a tuple of arrays (x_val, y_val[, sample_weight]) or any data source."""
        validation_data = input_checks.validation_tuple(validation_data, self._compiled_loss.has_loss)
        if isinstance(validation_data, tuple) and len(validation_data) in (2, 3) and is_array_data(validation_data[0]):
            vx, vy, vsw = self._unpack_validation(validation_data)
            return self._adapter(vx, vy, vsw, batch_size, steps, False, program_names=names)
        if isinstance(validation_data, (list, tuple)) and not is_array_data(validation_data):
            self._unpack_validation(validation_data)
        return get_data_adapter(validation_data, steps_per_epoch=steps)

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
        callback_list.on_test_begin()  # first: a callback may set the weights evaluated (SwapEMAWeights)
        state = self._test_state(program, trainable, frozen)
        state, logs, _ = self._run_batches("test", adapter, run, state, callback_list, names)
        self._write_metric_state(state.metrics)
        logs = _float_logs(logs)
        callback_list.on_test_end(logs)
        return logs

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Runs the model in inference mode over `x` in batches; returns NumPy arrays shaped like the outputs."""
        if input_checks.has_no_rows(x):
            return input_checks.empty_outputs(self._prepare(x, training=False))
        adapter, program, names = self._data(x, None, None, batch_size, steps, False, None, False)
        trainable, frozen = self._partition_for_inference()
        stream = not isinstance(adapter, ArrayDataAdapter)
        run = self._executable("predict", program, self._param_index(program, trainable, frozen), stream)
        verbose = 1 if verbose == "auto" else verbose
        callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                                     steps=adapter.num_batches)
        callback_list.on_predict_begin()  # first: a callback may set the weights used (SwapEMAWeights)
        carry = {"states": {name: program.variables[name].value for name in program.graph.updates}, "rng": kg_random.key()}
        params = self._shard({"trainable": [v.value for v in trainable], "non_trainable": [v.value for v in frozen],
                              "carry": carry, "seeds": program.fn.seeds}, trainable, frozen)
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
            capacity = max(fused for *_, fused in plan)
            for step, size, fused, offset, data, order in _device_calls(adapter, plan, perm):
                carry, chunks = run(params, data, order, offset, size, fused, capacity)
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

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; the logs are this batch's (metrics start fresh, as in Keras 3)."""
        self._assert_compiled("train_on_batch")
        program = self._prepare(x, training=True)
        self._finalize_compile(program, y)
        names = self._output_names(program)
        adapter = self._adapter(x, y, sample_weight, None, None, False, class_weight, names)
        trainable, frozen = self._partition()
        run = self._executable("train", program, self._param_index(program, trainable, frozen))
        state = self._train_state(program, trainable, frozen, reset_metrics=True)
        if isinstance(run, BatchExecutables):  # a model's own train_step, fed the batch itself
            state, logs = run(state, adapter.device)
        else:
            state, logs = run(state, adapter.device, None, 0, adapter.size, 1)
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
