"""Model: a Layer that trains. `Model(inputs, outputs)` makes a Functional model; subclasses define `call`."""

from __future__ import annotations

import importlib
import re
import warnings

from kgraph import tree
from kgraph.keras_tensor import KerasTensor
from kgraph.export import export_onnx
from kgraph.layers.layer import Layer, snake_case, unique_name
from kgraph.models.saving_methods import SavingMethods
from kgraph.models.summary import format_summary
from kgraph.models.trainer import Trainer
from kgraph.quantizers import quantize_layer
from kgraph.quantizers.quantization_config import validate_and_resolve_config
from kgraph.saving.object_registration import register_namespace

register_namespace("models", lambda: importlib.import_module("kgraph.models"))


class Model(SavingMethods, Trainer, Layer):
    """A layer with `compile`, `fit`, `evaluate`, `predict`, `summary` and weight access.

    `Model(inputs=..., outputs=...)` builds a Functional model from KerasTensors; subclassing `Model`
    and writing `call(self, inputs, training=None)` defines a model in Python.
    """

    def __new__(cls, *args, **kwargs):
        if _functional_arguments(cls, args, kwargs):
            from kgraph.models.functional import Functional  # a subclass of Model: defined after it

            if cls is Model:
                return Functional.__new__(Functional)
            if not issubclass(cls, Functional):
                return Functional.__new__(_functional_subclass(cls, Functional))
        return super().__new__(cls)

    def __init__(self, *args, name=None, trainable=True, dtype=None, **kwargs):
        if type(self) is Model and args:
            raise TypeError("Model(...) takes inputs and outputs: Model(inputs=keras.Input(...), outputs=...)")
        Layer.__init__(self, name=name or unique_name(snake_case(type(self).__name__) if type(self) is not Model else "model"),
                       trainable=trainable, dtype=dtype, **kwargs)
        Trainer.__init__(self)

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called `name`, or at position `index` in `model.layers`."""
        if (name is None) == (index is None):
            raise ValueError("get_layer: provide exactly one of `name` or `index`")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range; the model has {len(layers)} layers")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: {[l.name for l in layers]}.")

    def quantize(self, mode=None, config=None, filters=None, **kwargs) -> None:
        """Quantizes the weights of every layer that can be quantized (Dense, EinsumDense, Embedding), as Keras'
        `Model.quantize` does; layers without a `quantize` are skipped with a warning.

        Args:
            mode: "int8", or "int4" (Dense layers only; the others are skipped with a warning). "float8", "gptq"
                and "awq" raise NotImplementedError.
            config: a `kgraph.quantizers.QuantizationConfig` choosing the quantizers; optional with `mode`.
            filters: which layers to quantize: a regex searched in layer names, a list of them, or a callable
                taking the layer.
        """
        type_check = kwargs.pop("type_check", True)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        if filters is not None and not isinstance(filters, (str, list, tuple)) and not callable(filters):
            raise ValueError("The `filters` argument must be a regex string, a list of regex strings, or a callable. "
                             f"Received: {type(filters)}")
        quantize_layer.refuse_mode(self, validate_and_resolve_config(mode, config).mode)
        modified = False
        for layer in self._flatten_layers():
            if len(layer._flatten_layers()) != 1 or not _selected(layer, filters):
                continue
            try:
                layer.quantize(mode, type_check=type_check, config=config)
                modified = True
            except NotImplementedError as e:
                warnings.warn(str(e), stacklevel=2)
        if modified:
            self._executables, self._programs = {}, {}
            self.train_function = self.test_function = self.predict_function = None
            self._retrack_after_quantize()

    def _retrack_after_quantize(self) -> None:
        """A compiled model trains the weights left in float after `quantize`; an optimizer already built for the
        float kernels starts over (with a warning), where Keras' next `fit` fails on the changed variable list."""
        if getattr(self, "_trainable_snapshot", None) is not None:
            self._trainable_snapshot = list(self.trainable_weights)
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None and getattr(optimizer, "state", None) is not None:
            optimizer.state = None
            warnings.warn(f"Model {self.name!r} was quantized after training: its optimizer's state (slots and "
                          "iteration count, built for the float kernels) is reset for the weights left to train.",
                          stacklevel=3)

    def reset_state(self) -> None:
        """Zeroes the states of every stateful layer (RNNs with `stateful=True`), as the Keras FAQ's reset_states()."""
        for layer in self._flatten_layers(include_self=False):
            if getattr(layer, "stateful", False) and callable(getattr(layer, "reset_state", None)):
                layer.reset_state()

    def reset_states(self) -> None:
        """Alias of `reset_state`."""
        self.reset_state()

    def export(self, filepath, format="onnx", opset=None, batch_size=None, verify=False, **kwargs):
        """Writes the model's inference graph to `filepath` as ONNX, atomically, after the ONNX checker passes.

        Args:
            filepath: the .onnx file to write; its folder must exist.
            format: "onnx", the only format supported.
            opset: ONNX opset, 13 to `onnx.defs.onnx_opset_version()` (default 17).
            batch_size: a fixed batch size; None keeps the batch dim dynamic.
            verify: compare ONNX Runtime with XLA on random inputs first; ValueError beyond the tolerances.
            **kwargs: passed to `kgraph.export.export_onnx` (rtol, atol, input_signature, external_data).
        """
        return export_onnx(self, filepath, format=format, opset=opset, batch_size=batch_size, verify=verify, **kwargs)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None) -> None:
        """Prints the layers with output shapes and parameter counts, as Keras does."""
        text = format_summary(self, line_length=line_length, show_trainable=show_trainable)
        (print_fn or print)(text)


def _functional_arguments(cls: type, args: tuple, kwargs: dict) -> bool:
    """Whether `cls(*args, **kwargs)` builds a Functional model: `Model(inputs, outputs)` itself, or a subclass
    called with KerasTensors (a subclass taking two other objects, e.g. `VAE(encoder, decoder)`, is not)."""
    if len(args) == 2:
        inputs, outputs = args
    elif len(args) == 1 and "outputs" in kwargs:
        inputs, outputs = args[0], kwargs["outputs"]
    elif "inputs" in kwargs and "outputs" in kwargs:
        inputs, outputs = kwargs["inputs"], kwargs["outputs"]
    else:
        return False
    if cls is Model:
        return True
    leaves = tree.flatten([inputs, outputs])
    return bool(leaves) and all(isinstance(t, KerasTensor) for t in leaves)


_functional_subclasses: dict[type, type] = {}


def _functional_subclass(cls: type, functional: type) -> type:
    """`cls` with Functional mixed in, so `MyModel(inputs, outputs)` keeps MyModel's overrides (Keras' pattern)."""
    if cls not in _functional_subclasses:
        _functional_subclasses[cls] = type(cls.__name__, (cls, functional),
                                           {"__module__": cls.__module__, "_keras_user_class": cls})
    return _functional_subclasses[cls]


def _selected(layer: Layer, filters) -> bool:
    """Whether `Model.quantize(filters=...)` picks `layer`: a regex (or list of them) searched in its name, or a
    callable."""
    if filters is None:
        return True
    if isinstance(filters, str):
        return bool(re.search(filters, layer.name))
    if isinstance(filters, (list, tuple)):
        return any(re.search(pattern, layer.name) for pattern in filters)
    return bool(filters(layer))
