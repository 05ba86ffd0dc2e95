"""compile and the model-side helpers of training; the state, the compiled steps and the loops are in
training_state, training_steps and training_loop."""

from __future__ import annotations

import numpy as np

from kgraph import metrics as metrics_module
from kgraph import random as kg_random
from kgraph.distribution import distribution as current_distribution
from kgraph.models.compile_utils import CompileLoss, CompileMetrics
from kgraph.models import input_checks
from kgraph.models.step_methods import StepMethods
from kgraph.models.training_loop import TrainingLoop
from kgraph.models.training_state import TrainingState
from kgraph.models.training_steps import TrainingSteps
from kgraph.program import Program, input_specs_from_data, input_specs_from_model, trace_model
from kgraph.runtime import sharding
from kgraph.runtime.data_adapters import ArrayAdapter
from kgraph import tree
from kgraph import optimizers
from kgraph import losses
from kgraph.runtime.data_adapter import standardize


class Trainer(TrainingLoop, TrainingSteps, TrainingState, StepMethods):
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
        self.train_function = None
        self.test_function = None
        self.predict_function = None

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
            auto_scale_loss: under the "mixed_float16" policy, wrap the optimizer in a `LossScaleOptimizer`.
        """
        if not isinstance(steps_per_execution, (int, np.integer)) or steps_per_execution < 1:
            raise ValueError(f"`steps_per_execution` must be a positive integer, got {steps_per_execution!r}")
        self.optimizer = optimizers.get(optimizer)
        self._auto_scaled_loss = False
        if auto_scale_loss and self.dtype_policy.name == "mixed_float16" and self.optimizer is not None \
                and not isinstance(self.optimizer, optimizers.LossScaleOptimizer):
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer, name="loss_scale_optimizer")
            self._auto_scaled_loss = True
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
        self.train_function = self.test_function = self.predict_function = None

    def _assert_compiled(self, method: str) -> None:
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before using the model in `{method}()`.")

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

    def _compiled_metric_names(self) -> list[tuple]:
        """(metric, log name) of what compile() made: the loss tracker, per-output losses, compiled metrics."""
        if not getattr(self, "compiled", False):
            return []
        pairs = [(self._loss_tracker, "loss")]
        if self._compiled_loss is not None:
            pairs += [(t, t.name) for t in self._compiled_loss.trackers if t is not None]
            pairs += list(zip(self._compiled_metrics.metrics, self._compiled_metrics.log_names))
        return pairs

    def _tracked_metrics(self) -> list:
        """Metrics the model holds as attributes (`self.loss_tracker = keras.metrics.Mean(...)`), as Keras tracks them."""
        compiled = {id(m) for m, _ in self._compiled_metric_names()}
        return [v for v in vars(self).values() if isinstance(v, metrics_module.Metric) and id(v) not in compiled]

    @property
    def metrics(self) -> list:
        """The metric objects whose results appear in the logs: the loss tracker first, then per-output losses,
        the compiled metrics and the metrics the model holds as attributes."""
        return [m for m, _ in self._compiled_metric_names()] + self._tracked_metrics()

    @property
    def metrics_names(self) -> list[str]:
        """The log key of each of `model.metrics`: "loss", per-output losses, compiled metrics, then the others."""
        named = {id(m): name for m, name in self._compiled_metric_names()}
        return [named.get(id(m), m.name) for m in self.metrics]

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    # --- x / y / sample_weight ------------------------------------------------------------------------
    def _flatten_x(self, x) -> list:
        x = input_checks.numbers_to_array(x)
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
        y = input_checks.numbers_to_array(y)
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
        sample_weight = input_checks.numbers_to_array(sample_weight)
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
        if current_distribution() is not None:
            adapter.device = sharding.put_dataset(adapter.host, current_distribution())
        return adapter

    def _prepare(self, x, training: bool):
        """The program for x's input signature, after checking x against the model's inputs."""
        x_list = [np.asarray(a) if not hasattr(a, "shape") else a for a in self._flatten_x(x)]

        x_list = self._check_inputs(standardize(x_list, "x"))
        return self._program(training, x_list)

    # --- state transfer ----------------------------------------------------------------------------------
    # --- fit -----------------------------------------------------------------------------------------------
    # --- evaluate -------------------------------------------------------------------------------------------
    # --- single batches ------------------------------------------------------------------------------------------
