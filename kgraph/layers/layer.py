"""The Layer base class: weights, the call protocol in its three modes, losses, config."""

from __future__ import annotations

import functools
import importlib
import inspect
import re

from kgraph import constraints, context, dtype_policies, initializers, regularizers
from kgraph.dtype_policies import autocast
from kgraph.ir.types import canonical_dtype, is_float
from kgraph.keras_tensor import KerasTensor
from kgraph.tracing import SymbolicTensor, Trace, current_trace
from kgraph import tree
from kgraph.backend.naming import get_uid
from kgraph.saving.object_registration import register_builtin, register_namespace
from kgraph.rematerialization import get_current_remat_mode, rematerialized_call
from kgraph.symbolic_scope import SymbolicScope
from kgraph.random import SeedGenerator
from kgraph.variables import Variable
from kgraph import allocation
from kgraph.paths import current_path, name_scope, scoped
import numpy as np
import math
from kgraph import ops

register_namespace("layers", lambda: importlib.import_module("kgraph.layers"))


def unique_name(base: str) -> str:
    """Keras' naming: the first "dense", then "dense_1", "dense_2", …"""
    count = get_uid(base) - 1
    return base if count == 0 else f"{base}_{count}"


def snake_case(name: str) -> str:
    """Keras' default layer names from class names: "Conv2D" → "conv2d", "MyModel" → "my_model"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Node:
    """One call of a layer on KerasTensors: the arguments (with tensors in place) and the outputs."""

    def __init__(self, layer: "Layer", args: tuple, kwargs: dict, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.input_tensors = [x for x in tree.flatten([list(args), kwargs]) if isinstance(x, KerasTensor)]

    @property
    def parent_nodes(self) -> list["Node"]:
        return [t._history[0]._inbound_nodes[t._history[1]] for t in self.input_tensors if t._history]


def get_mask(x):
    """The Keras mask a tensor carries (`_keras_mask`), or None."""
    return getattr(x, "_keras_mask", None)


def set_mask(x, mask) -> None:
    """Attaches `mask` to a tensor as `_keras_mask`, as Keras does (JAX arrays too); NumPy arrays cannot carry one."""
    if mask is not None:
        try:
            x._keras_mask = mask
        except AttributeError:
            pass


class Layer:
    """Base class of every layer and model.

    Args:
        trainable: whether the layer's weights are updated by `fit`.
        dtype: the layer's dtype policy: a name ("float32", "mixed_float16", "mixed_bfloat16"), a `DTypePolicy`
            or its config; defaults to `kgraph.config.dtype_policy()`.
        name: the layer's name; unique by default ("dense", "dense_1", …).
        activity_regularizer: a penalty on the layer's outputs, added to the loss.
    """

    def __init_subclass__(cls, **kwargs):
        """A subclass's own `build` runs under the layer's name scope, as in Keras (weights made there, and by the
        sublayers it builds, get paths like `time_distributed/dense/kernel`), and marks the layer built when it
        returns, also when users call it directly; kgraph's own layers register with saving, so configs that name
        them load."""
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("kgraph."):
            register_builtin(cls)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            @functools.wraps(build)
            def wrapped(self, *args, **kwargs):
                with name_scope(self.name, caller=self):
                    self._path = current_path()
                    result = build(self, *args, **kwargs)
                self.built = True
                return result

            wrapped._marks_built = True
            cls.build = wrapped

    def __init__(self, *, trainable: bool = True, dtype=None, autocast: bool = True, name: str | None = None,
                 activity_regularizer=None, input_shape=None, input_dim=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}.__init__ got unexpected keyword arguments: {sorted(kwargs)}")
        object.__setattr__(self, "_layers", [])
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._path = None
        self._dtype_policy = dtype_policies.get(dtype)
        self.autocast = autocast
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._remat_mode = get_current_remat_mode()
        self.built = False
        self._trainable_variables: list[Variable] = []
        self._non_trainable_variables: list[Variable] = []
        self._losses: list = []
        self._inbound_nodes: list[Node] = []
        self._call_signature = inspect.signature(self.call)
        self._call_has_training_arg = "training" in self._call_signature.parameters
        self._call_has_mask_arg = "mask" in self._call_signature.parameters
        self._build_shapes = input_shape if input_shape is None else (None,) + tuple(input_shape)
        if input_dim is not None:
            self._build_shapes = (None, input_dim)

    def __setattr__(self, name: str, value) -> None:
        layers = self.__dict__.get("_layers")
        if layers is not None and name not in ("_layers", "_trainable_variables", "_non_trainable_variables"):
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, Layer) and item is not self and all(item is not l for l in layers):
                    layers.append(item)
            if isinstance(value, Variable):
                self._track_variable(value)
            if isinstance(value, SeedGenerator):
                self.__dict__.setdefault("_seed_generators", []).append(value)
        object.__setattr__(self, name, value)

    def _track_variable(self, variable: Variable) -> None:
        """A Variable stored as an attribute is one of the layer's own weights (as Keras' tracker makes it)."""
        tracked = self.__dict__.get("_trainable_variables", []) + self.__dict__.get("_non_trainable_variables", [])
        if "_trainable_variables" not in self.__dict__ or any(variable is v for v in tracked):
            return
        (self._trainable_variables if variable.trainable else self._non_trainable_variables).append(variable)
        if not self.trainable:
            variable.trainable = False

    # --- properties ---------------------------------------------------------------------------
    @property
    def dtype_policy(self) -> dtype_policies.DTypePolicy:
        """The layer's `DTypePolicy`: its variable and compute dtypes."""
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value) -> None:
        policy = dtype_policies.get(value)
        if isinstance(self._dtype_policy, dtype_policies.DTypePolicyMap) and self.path:
            if self.path in self._dtype_policy:
                del self._dtype_policy[self.path]
            self._dtype_policy[self.path] = policy
        else:
            self._dtype_policy = policy
        if policy.quantization_mode is not None and self.built and not getattr(self, "_is_quantized", False):
            self.quantize(policy.quantization_mode)

    @property
    def path(self) -> str | None:
        """The layer's path under the name scopes it was built in ("outer/dense"); None before `build`."""
        return self._path

    def _policy(self) -> dtype_policies.DTypePolicy:
        """The layer's own policy: its entry in a `DTypePolicyMap`, looked up by path."""
        if isinstance(self._dtype_policy, dtype_policies.DTypePolicyMap) and self.path:
            return self._dtype_policy[self.path]
        return self._dtype_policy

    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights (`variable_dtype`), as in Keras."""
        return self.variable_dtype

    @property
    def compute_dtype(self) -> str:
        """The dtype the layer computes in: floating inputs and weights are cast to it."""
        return autocast.effective_compute_dtype(self._policy().compute_dtype)

    @property
    def variable_dtype(self) -> str:
        """The dtype the layer creates its weights in."""
        return self._policy().variable_dtype

    @property
    def quantization_mode(self) -> str | None:
        """The layer's quantization mode ("int8", …), None when not quantized."""
        return self._policy().quantization_mode

    def quantize(self, mode=None, type_check: bool = True, config=None) -> None:
        """Quantizes the layer's weights in place; layers that can be quantized override it (Dense, EinsumDense,
        Embedding)."""
        raise NotImplementedError(f"Layer {type(self).__name__} does not have a `quantize` method implemented.")

    @property
    def input_dtype(self) -> str:
        """The dtype floating inputs are cast to at call (with `autocast`)."""
        return self.compute_dtype

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        self._trainable = value
        for v in self._trainable_variables:
            v.trainable = value
        for layer in self._layers:
            layer.trainable = value

    def _flatten_layers(self, include_self: bool = True) -> list["Layer"]:
        seen, result = set(), []

        def visit(layer):
            if id(layer) in seen:
                return
            seen.add(id(layer))
            result.append(layer)
            for sub in layer._layers:
                visit(sub)

        visit(self)
        return result if include_self else result[1:]

    @property
    def weights(self) -> list[Variable]:
        """Own trainable, own non-trainable, then each sublayer's weights: Keras' order."""
        seen, result = set(), []
        for layer in self._flatten_layers():
            for v in layer._trainable_variables + layer._non_trainable_variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    result.append(v)
        return result

    @property
    def variables(self) -> list[Variable]:
        """The weights, then the states of the SeedGenerators the layers hold (all state a call reads, as Keras)."""
        states = [g.state for layer in self._flatten_layers() for g in layer.__dict__.get("_seed_generators", ())]
        return self.weights + [v for i, v in enumerate(states) if all(v is not w for w in states[:i])]

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for v in self.weights if v.trainable] if self.trainable else []

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [v for v in self.weights if not v.trainable] if self.trainable else self.weights

    @property
    def non_trainable_variables(self) -> list[Variable]:
        return [v for v in self.variables if not v.trainable] if self.trainable else self.variables

    def get_weights(self) -> list:
        return [np.asarray(v.numpy()) for v in self.weights]

    def set_weights(self, weights: list) -> None:
        """Sets weights from arrays in `weights` order; a count or shape mismatch raises before any change."""
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(f"Layer {self.name!r}: set_weights expected a list of {len(params)} arrays, got {len(weights)}")
        arrays = []
        for v, w in zip(params, weights):
            w = np.asarray(w)
            if tuple(w.shape) != v.shape:
                raise ValueError(f"Layer {self.name!r}: weight {v.path!r} has shape {v.shape}, the provided array has shape {tuple(w.shape)}")
            arrays.append(w)
        for v, w in zip(params, arrays):
            v.assign(w)

    def count_params(self) -> int:
        return sum(math.prod(v.shape) for v in self.weights)

    # --- weights --------------------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable: bool = True, autocast: bool = True,
                   regularizer=None, constraint=None, aggregation="none", overwrite_with_gradient=False, name=None):
        """Creates a Variable owned by this layer (named `<layer>/<name>`)."""
        dtype = canonical_dtype(dtype or self.variable_dtype)
        if initializer is None:
            initializer = "glorot_uniform" if is_float(dtype) else "zeros"
        shape = tuple(() if shape is None else shape)
        if any(d is None or d < 0 for d in shape):
            raise ValueError(f"Layer {self.name!r}: weight {name!r} needs a fully known shape, got {shape}")
        allocation.check_weight(f"Layer {self.name!r}", name, shape, dtype)
        variable = Variable(initializers.get(initializer), shape=shape, dtype=dtype, trainable=trainable, name=name)
        variable.autocast = autocast
        with name_scope(self.name, caller=self):
            variable.path = scoped(variable.name)
        variable.regularizer = regularizers.get(regularizer)
        variable.constraint = constraints.get(constraint)
        (self._trainable_variables if trainable else self._non_trainable_variables).append(variable)
        if not self.trainable:
            variable.trainable = False if trainable else variable.trainable
        return variable

    def add_variable(self, shape, initializer, dtype=None, trainable=True, name=None, **kwargs):
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype, trainable=trainable, name=name, **kwargs)

    # --- calling ----------------------------------------------------------------------------------
    def build(self, input_shape) -> None:
        self.built = True

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call()")

    def __call__(self, *args, **kwargs):
        with name_scope(self.name, caller=self):
            return self._scoped_call(args, kwargs)

    def _scoped_call(self, args, kwargs):
        if any(isinstance(x, KerasTensor) for x in tree.flatten([list(args), kwargs])):
            return self._functional_call(args, kwargs)
        self._maybe_build(args, kwargs)
        if self.autocast and self._convert_input_args and is_float(self.input_dtype):
            args, kwargs = tree.map_structure(lambda x: _cast_input(x, self.input_dtype), (args, kwargs))
        kwargs = self._resolve_training(kwargs)
        previous_mask = tree.map_structure(get_mask, args[0]) if args else None
        if self._call_has_mask_arg and kwargs.get("mask") is None and any(m is not None for m in tree.flatten(previous_mask)):
            kwargs["mask"] = previous_mask
        ctx = context.current()
        if not ctx.training and ctx.trace is None:
            for layer in self._flatten_layers():
                layer._losses.clear()
        training = kwargs.get("training", ctx.training[-1] if ctx.training else None)
        with ctx.pushed("training", training), autocast.layer_scope(self.autocast, self.compute_dtype,
                                                                    self.variable_dtype):
            trace = ctx.trace
            call = self.call if trace is not None and trace.root is self else rematerialized_call(self, self.call)
            if trace is not None and trace.root is not self:
                with trace.name_scope(self.name):
                    outputs = call(*args, **kwargs)
            else:
                outputs = call(*args, **kwargs)
        if self.supports_masking:
            output_mask = self.compute_mask(args[0] if args else None, kwargs.get("mask", previous_mask))
            if isinstance(outputs, (list, tuple)) and isinstance(output_mask, (list, tuple)):
                for out, m in zip(outputs, output_mask):
                    set_mask(out, m)
            else:
                for out in tree.flatten(outputs):
                    set_mask(out, output_mask)
        if self.activity_regularizer is not None:
            for out in tree.flatten(outputs):
                if hasattr(out, "shape"):
                    penalty = self.activity_regularizer(out)
                    if len(out.shape) > 0:
                        penalty = ops.divide(penalty, _batch_size(out))
                    self.add_loss(penalty)
        return outputs

    def _resolve_training(self, kwargs: dict) -> dict:
        if not self._call_has_training_arg:
            return {k: v for k, v in kwargs.items() if k != "training"}
        training = kwargs.get("training")
        enclosing = context.current().training
        if training is None and enclosing:
            training = enclosing[-1]
        if training is None:
            default = self._call_signature.parameters["training"].default
            training = None if default is inspect.Parameter.empty else default
        return {**kwargs, "training": training}

    def _maybe_build(self, args, kwargs) -> None:
        if self.built:
            return
        first = args[0] if args else next(iter(kwargs.values()), None)
        shapes = tree.map_structure(lambda x: tuple(x.shape) if hasattr(x, "shape") else None, first)
        self.build(shapes)
        self.built = True

    def _functional_call(self, args, kwargs):
        """Called on KerasTensors: build, infer outputs by tracing `call` once, record a Node."""
        with Trace(f"{self.name}_spec") as trace, SymbolicScope():
            mapping = {}

            def to_symbolic(x):
                if isinstance(x, KerasTensor):
                    mapping[id(x)] = trace.input(x.ir_type(), x.name or "input")
                    mask = get_mask(x)
                    if mask is not None:
                        set_mask(mapping[id(x)], trace.input(mask.ir_type(), "mask"))
                    return mapping[id(x)]
                return x

            sym_args = tree.map_structure(to_symbolic, list(args))
            sym_kwargs = tree.map_structure(to_symbolic, kwargs)
            try:
                sym_outputs = self(*sym_args, **sym_kwargs)
            except (ValueError, TypeError) as e:
                shapes = [x.shape for x in tree.flatten([list(args), kwargs]) if isinstance(x, KerasTensor)]
                raise type(e)(f"Exception encountered when calling layer {self.name!r} ({type(self).__name__}) "
                              f"on inputs of shape {shapes if len(shapes) != 1 else shapes[0]}:\n{e}") from None
        def to_keras(t):
            if not isinstance(t, SymbolicTensor):
                return t
            result = KerasTensor.from_ir_type(t.type, name=self.name)
            mask = get_mask(t)
            if isinstance(mask, SymbolicTensor):
                set_mask(result, KerasTensor.from_ir_type(mask.type, name=f"{self.name}_mask"))
            return result

        outputs = tree.map_structure(to_keras, sym_outputs)
        node = Node(self, tuple(args), dict(kwargs), outputs)
        self._inbound_nodes.append(node)
        for i, t in enumerate(tree.flatten(outputs)):
            if isinstance(t, KerasTensor):
                t._history = (self, len(self._inbound_nodes) - 1, i)
        return outputs

    @property
    def supports_masking(self) -> bool:
        """Whether calls pass masks on through `compute_mask`: by default, as in Keras, when the layer overrides it."""
        explicit = self.__dict__.get("_supports_masking")
        if explicit is not None:
            return explicit
        return type(self).compute_mask is not Layer.compute_mask

    @supports_masking.setter
    def supports_masking(self, value: bool) -> None:
        self.__dict__["_supports_masking"] = bool(value)
    _convert_input_args = True  # Keras' switch: whether `__call__` casts floating inputs to the compute dtype

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs; by default a layer that supports masking passes its input's mask on."""
        return previous_mask

    # --- losses -----------------------------------------------------------------------------------
    def add_loss(self, loss) -> None:
        """Adds a scalar to the training loss; inside a trace it becomes one of the graph's losses."""
        trace = current_trace()
        if trace is not None and trace.is_symbolic(loss):
            trace.add_loss(loss)
        else:
            self._losses.append(loss)

    @property
    def losses(self) -> list:
        """Losses added in the last call plus weight-regularization penalties, for this layer and its sublayers."""
        result = []
        for layer in self._flatten_layers():
            result.extend(layer._losses)
        return result + self._regularization_losses()

    def _regularization_losses(self) -> list:
        result = []
        for v in self.weights:
            regularizer = getattr(v, "regularizer", None)
            if regularizer is not None and v.trainable:
                result.append(regularizer(v.value))
        return result

    # --- functional history ------------------------------------------------------------------------
    def _node_output(self, attr: str):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called and thus has no defined {attr}.")
        node = self._inbound_nodes[0]
        if attr == "output":
            return node.outputs
        tensors = node.input_tensors
        return tensors[0] if len(tensors) == 1 else tensors

    @property
    def input(self):
        """The input tensor(s) of the layer's first call on KerasTensors (Keras 3's convention)."""
        return self._node_output("input")

    @property
    def output(self):
        """The output tensor(s) of the layer's first call on KerasTensors (Keras 3's convention)."""
        return self._node_output("output")

    # --- saving hooks: Keras' protocol, called by kgraph.saving's walk over the model ------------------
    def _obj_type(self) -> str:
        return "Layer"

    def _stored_variables(self) -> list[Variable]:
        """The layer's own variables in the order files store them: trainable, then non-trainable."""
        return self._trainable_variables + self._non_trainable_variables

    def save_own_variables(self, store) -> None:
        """Writes the layer's own variables into `store` as "0", "1", … in `_stored_variables()` order."""
        for i, variable in enumerate(self._stored_variables()):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store) -> None:
        """Assigns the layer's own variables from `store` ("0", "1", …); checks count and shapes before any change."""
        variables = self._stored_variables()
        if len(store.keys()) != len(variables):
            hint = "" if variables or self.built else (
                " The layer was never built: implement `build_from_config()` (and `get_build_config()`) so that "
                "loading creates its variables.")
            raise ValueError(f"Layer {self.name!r} expected {len(variables)} variables "
                             f"{[v.name for v in variables]}, but received {len(store.keys())} variables during "
                             f"loading.{hint}")
        values = [store[str(i)] for i in range(len(variables))]
        for variable, value in zip(variables, values):
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(f"variable {variable.name!r} ({variable.path}) expects shape {tuple(variable.shape)}, "
                                 f"the file has shape {tuple(value.shape)}")
        for variable, value in zip(variables, values):
            variable.assign(value)

    def get_build_config(self) -> dict | None:
        """`{"input_shape": ...}` from the layer's first call, when that call took one tensor (or one structure)."""
        if not self.built or not self._inbound_nodes:
            return None
        node = self._inbound_nodes[0]
        if len(node.args) != 1 or any(isinstance(t, KerasTensor) for t in tree.flatten(node.kwargs)):
            return None
        leaves = tree.flatten(node.args[0])
        if not leaves or not all(isinstance(t, KerasTensor) for t in leaves):
            return None
        return {"input_shape": tree.map_structure(lambda t: tuple(t.shape), node.args[0])}

    def build_from_config(self, config: dict) -> None:
        """Creates the weights for `get_build_config()`'s input shape: with `build`, or, when weights are made in
        `call` (subclassed models), by calling the layer once on symbolic inputs and forgetting that call."""
        if not isinstance(config, dict) or config.get("input_shape") is None:
            return
        input_shape = _to_shape(config["input_shape"])
        if type(self).build is not Layer.build:
            self.build(input_shape)
            self.built = True
            return
        inputs = KerasTensor(input_shape, self.dtype) if _is_shape(input_shape) \
            else tree.map_structure(lambda s: KerasTensor(s, self.dtype), input_shape)
        nodes = len(self._inbound_nodes)
        self(inputs)
        del self._inbound_nodes[nodes:]
        self.built = True

    # --- config ---------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        config_dict = {"name": self.name, "trainable": self.trainable,
                       "dtype": dtype_policies.serialize(self.dtype_policy)}
        if self.activity_regularizer is not None:
            config_dict["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config_dict

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _cast_input(x, dtype: str):
    """A floating input cast to the layer's compute dtype, keeping its Keras mask (Keras' `convert_input`)."""
    y = autocast.cast_float(x, dtype)
    if y is not x:
        set_mask(y, get_mask(x))
    return y


def _to_shape(value):
    """JSON shapes (lists) back to tuples; a list or dict of shapes keeps its structure."""
    if isinstance(value, (list, tuple)) and all(v is None or isinstance(v, int) for v in value):
        return tuple(value)
    if isinstance(value, (list, tuple)):
        return [_to_shape(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_shape(v) for k, v in value.items()}
    return value


def _is_shape(value) -> bool:
    return isinstance(value, tuple) and all(v is None or isinstance(v, int) for v in value)


def _batch_size(x):
    """The size of x's first dim as a float scalar, also when it is only known at run time."""
    if x.shape[0] is not None:
        return float(x.shape[0])
    return ops.sum(ops.ones_like(ops.mean(ops.reshape(x, (None, -1)), axis=1)))
