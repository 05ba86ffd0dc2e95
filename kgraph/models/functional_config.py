"""Functional and Sequential models as Keras 3 configs, and back.

A Functional config lists every operation (layers, and `keras.ops` calls on KerasTensors) with the calls
that belong to the model (`inbound_nodes`: args and kwargs, tensors as `__keras_tensor__` with a
`keras_history` of [layer name, node index, tensor index]), then `input_layers` and `output_layers` in the
structure the model was built with. Node indices count only the model's own calls of a layer; for a nested
Functional model, `input_layers`/`output_layers` count one more, as Keras does.

Operations are listed in Keras' order (by depth from the outputs, ties by first visit), which is also the
order Keras gives `model.layers` and therefore the order of the weights file's `layers/<name>` groups.
"""

from __future__ import annotations

import inspect
from typing import Any

from kgraph import ops, tree
from kgraph.keras_tensor import KerasTensor
from kgraph.layers.core.input_layer import InputLayer
from kgraph.layers.layer import Layer
from kgraph.layers.op_layer import _TENSOR, OpLayer
from kgraph.saving.serialization import (
    TENSOR_CLASS, UnknownObjectError, deserialize_keras_object, is_keras_op_module, serialize_keras_object,
)
from kgraph.saving.walk import to_snake_case


# --- Keras' operation order --------------------------------------------------------------------------------
def _is_op_layer(layer) -> bool:
    return isinstance(layer, OpLayer)


def keras_operations(model) -> list:
    """The model's layers and op nodes in the order Keras' `map_graph` gives them."""
    input_ids = {id(t) for t in model._inputs}
    finished: set[int] = set()
    order: list = []
    first_visit: dict[int, int] = {}
    layers: dict[int, Any] = {}
    stack = [(t, False) for t in reversed(tree.flatten(model._outputs))]
    while stack:
        tensor, expanded = stack.pop()
        layer, node_index, _ = tensor._history
        node = layer._inbound_nodes[node_index]
        if expanded:
            if id(node) not in finished:
                finished.add(id(node))
                order.append(node)
            continue
        if id(node) in finished:
            continue
        is_input = isinstance(layer, InputLayer) or not node.input_tensors
        if not is_input and id(tensor) in input_ids:
            finished.add(id(node))
            continue
        layers.setdefault(id(layer), layer)
        first_visit.setdefault(id(layer), len(first_visit))
        stack.append((tensor, True))
        if not is_input:
            stack.extend((t, False) for t in reversed(node.input_tensors))
    in_graph = {id(n) for n in order}
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for node in reversed(order):
        depth = node_depth.setdefault(id(node), 0)
        depth = max(depth, layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in model._inputs:
        layer = t._history[0]
        if id(layer) not in layer_depth:
            layers[id(layer)] = layer
            layer_depth[id(layer)] = 0
            first_visit[id(layer)] = -1
    ordered = sorted(layer_depth, key=lambda key: (-layer_depth[key], first_visit[key]))
    return [layers[key] for key in ordered]


def keras_layers(operations: list) -> list:
    """`model.layers` as Keras lists them: the operations without op nodes (they are not layers in Keras)."""
    return [layer for layer in operations if not _is_op_layer(layer)]


# --- op nodes ------------------------------------------------------------------------------------------------
_NUMPY = "keras.src.ops.numpy"
_NN = "keras.src.ops.nn"
_NO_ATTRS = {
    **{op: (_NUMPY, cls) for op, cls in {
        "add": "Add", "subtract": "Subtract", "multiply": "Multiply", "divide": "Divide", "power": "Power",
        "maximum": "Maximum", "minimum": "Minimum", "floor_divide": "FloorDivide", "mod": "Mod",
        "equal": "Equal", "not_equal": "NotEqual", "less": "Less", "less_equal": "LessEqual",
        "greater": "Greater", "greater_equal": "GreaterEqual", "logical_and": "LogicalAnd",
        "logical_or": "LogicalOr", "logical_not": "LogicalNot", "matmul": "Matmul", "abs": "Absolute",
        "negative": "Negative", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "square": "Square", "tanh": "Tanh",
        "sin": "Sin", "cos": "Cos", "floor": "Floor", "ceil": "Ceil", "sign": "Sign", "reciprocal": "Reciprocal",
        "expm1": "Expm1", "log1p": "Log1p", "where": "Where"}.items()},
    **{op: (_NN, cls) for op, cls in {
        "relu": "Relu", "sigmoid": "Sigmoid", "silu": "Silu", "softplus": "Softplus", "softsign": "Softsign"}.items()},
    "rsqrt": ("keras.src.ops.math", "Rsqrt"), "erf": ("keras.src.ops.math", "Erf"),
}
_WITH_ATTRS = {
    "transpose": (_NUMPY, "Transpose", lambda a: {"axes": list(a["perm"])}),
    "expand_dims": (_NUMPY, "ExpandDims", lambda a: {"axis": a["axis"]}),
    "squeeze": (_NUMPY, "Squeeze", lambda a: {"axis": a.get("axis")}),
    "round": (_NUMPY, "Round", lambda a: {"decimals": 0}),
    "concatenate": (_NUMPY, "Concatenate", lambda a: {"axis": a.get("axis", -1)}),
    "softmax": (_NN, "Softmax", lambda a: {"axis": a.get("axis", -1)}),
    "log_softmax": (_NN, "LogSoftmax", lambda a: {"axis": a.get("axis", -1)}),
    "gelu": (_NN, "Gelu", lambda a: {"approximate": a.get("approximate", False)}),
    "cast": ("keras.src.ops.core", "Cast", lambda a: {"dtype": a["dtype"]}),
    **{op: (_NUMPY, op.capitalize(), lambda a: {"axis": a.get("axis"), "keepdims": a.get("keepdims", False)})
       for op in ("sum", "mean", "max", "min", "prod", "argmax", "argmin")},
}
_SLOT = {"class_name": "__kgraph_tensor_slot__", "config": {}}


def _op_call_args(layer, node) -> list:
    """The op's full argument list: the template with the node's tensors in their slots."""
    tensors = iter(node.args)
    return [next(tensors) if slot is _TENSOR else slot for slot in layer.template]


def _op_layer_entry(layer, node, serialize_args) -> tuple[dict, dict | None]:
    """(config entry, node data) for an op node: a Keras op where Keras has one, else a kgraph OpLayer."""
    args = _op_call_args(layer, node)
    if layer.op in _NO_ATTRS and not layer.attrs:
        module, class_name = _NO_ATTRS[layer.op]
        keras_config = {}
    elif layer.op in _WITH_ATTRS:
        module, class_name, convert = _WITH_ATTRS[layer.op]
        keras_config = convert(layer.attrs)
        if layer.op == "concatenate":
            args = [args]
    else:
        module = None
    if module is not None:
        entry = {"module": module, "class_name": class_name,
                 "config": {"name": layer.name, **serialize_keras_object(keras_config)}, "registered_name": None}
        return entry, {"args": serialize_args(args), "kwargs": {}}
    template = [_SLOT if slot is _TENSOR else serialize_keras_object(slot) for slot in layer.template]
    entry = {"module": "kgraph.layers.op_layer", "class_name": "OpLayer",
             "config": {"name": layer.name, "trainable": layer.trainable, "dtype": layer.dtype, "op": layer.op,
                        "attrs": serialize_keras_object(layer.attrs), "template": template},
             "registered_name": "kgraph>OpLayer"}
    return entry, {"args": serialize_args(list(node.args)), "kwargs": {}}


class KerasOpCall:
    """A `keras.ops` operation read from a Keras config; applying it calls the kgraph op of the same name."""

    def __init__(self, class_name: str, fn, config: dict):
        self.class_name = class_name
        self.fn = fn
        self.config = config
        self.name = config.get("name")

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs, **self.kwargs_for(kwargs))

    def kwargs_for(self, call_kwargs: dict) -> dict:
        parameters = inspect.signature(self.fn).parameters
        result = {}
        for key, value in self.config.items():
            if key == "name" or key in call_kwargs:
                continue
            if key not in parameters:
                if value in (None, False, 0):
                    continue
                raise ValueError(f"Keras op {self.class_name} {self.name!r}: kgraph.ops.{self.fn.__name__} has no "
                                 f"argument {key!r} (the config sets it to {value!r})")
            result[key] = _tuples(value) if key in ("axis", "axes", "perm", "shape", "newshape") else value
        return result


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def keras_op_from_config(class_name: str, config: dict, module: str | None) -> KerasOpCall:
    """The kgraph op for a Keras op class ("Add" -> `kgraph.ops.add`)."""
    fn = getattr(ops, to_snake_case(class_name), None)
    if not callable(fn):
        raise UnknownObjectError(f"The config applies the Keras op {class_name!r} ({module}), which kgraph.ops does "
                                 f"not provide (looked for kgraph.ops.{to_snake_case(class_name)})")
    return KerasOpCall(class_name, fn, dict(config or {}))


def _op_layer_from_entry(layer_data: dict, custom_objects, safe_mode):
    config = dict(layer_data["config"])
    template = [_TENSOR if slot == _SLOT else deserialize_keras_object(slot, custom_objects, safe_mode)
                for slot in config.pop("template", [])]
    attrs = {k: _tuples(v) for k, v in deserialize_keras_object(config.pop("attrs", {}) or {}).items()}
    return OpLayer(config.pop("op"), attrs, template, **config)


# --- Functional ----------------------------------------------------------------------------------------------
def _is_functional(layer) -> bool:
    return isinstance(layer, Layer) and layer._obj_type() == "Functional"


def get_functional_config(model) -> dict:
    """Keras' Functional config of `model`: name, trainable, layers with inbound nodes, input/output layers."""
    own_nodes = {id(node) for node in model._nodes}

    def node_index(layer, index: int) -> int:
        return sum(1 for node in layer._inbound_nodes[:index] if id(node) in own_nodes)

    def tensor_config(t: KerasTensor) -> dict:
        layer, index, tensor_index = t._history
        return {"class_name": TENSOR_CLASS, "config": {"shape": list(t.shape), "dtype": t.dtype,
                                                        "keras_history": [layer.name, node_index(layer, index),
                                                                          tensor_index]}}

    def serialize_args(value):
        return serialize_keras_object(_map_tensors(value, tensor_config))

    layer_configs = []
    for layer in keras_operations(model):
        nodes = [node for node in layer._inbound_nodes if id(node) in own_nodes and node.input_tensors]
        if _is_op_layer(layer):
            entry, node_data = _op_layer_entry(layer, nodes[0], serialize_args)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [node_data]
        else:
            entry = serialize_keras_object(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [{"args": serialize_args(list(node.args)), "kwargs": serialize_args(node.kwargs)}
                                      for node in nodes]
        layer_configs.append(entry)

    def history(t: KerasTensor) -> list:
        layer, index, tensor_index = t._history
        return [layer.name, node_index(layer, index) + (1 if _is_functional(layer) else 0), tensor_index]

    return {"name": model.name, "trainable": model.trainable, "layers": layer_configs,
            "input_layers": _map_tensors(model._input_structure, history),
            "output_layers": _map_tensors(model._output_structure, history)}


def _map_tensors(structure, fn):
    if isinstance(structure, KerasTensor):
        return fn(structure)
    if isinstance(structure, (list, tuple)):
        return [_map_tensors(x, fn) for x in structure]
    if isinstance(structure, dict):
        return {k: _map_tensors(v, fn) for k, v in structure.items()}
    return structure


def _build_by_own_hook(layer, build_config) -> None:
    """A layer with its own `build_from_config` is built from the saved build config (its call may not make its
    weights); the others are built by replaying their calls, which also fits a config edited by hand."""
    if (isinstance(layer, Layer) and build_config and not layer.built
            and type(layer).build_from_config is not Layer.build_from_config):
        layer.build_from_config(build_config)


class _NotReady(Exception):
    """A node's input comes from a call not yet replayed."""


def _is_history(value) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int) and value[1] >= 0 and value[2] >= 0)


def functional_from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool | None = True):
    """Rebuilds a Functional model: creates every layer, then replays the calls in an order where inputs exist."""
    for key in ("layers", "input_layers", "output_layers"):
        if key not in config:
            raise ValueError(f"A Functional config needs {key!r}; the config has keys {sorted(config)}")
    created: dict[str, Any] = {}
    outputs: dict[str, list] = {}
    pending: dict[str, list] = {}
    order: list[str] = []
    for layer_data in config["layers"]:
        name = layer_data.get("name") or (layer_data.get("config") or {}).get("name")
        if not isinstance(name, str):
            raise ValueError(f"A layer entry of the Functional config has no name: {str(layer_data)[:200]}")
        if name in created:
            raise ValueError(f"The Functional config lists two layers named {name!r}")
        if layer_data.get("class_name") == "OpLayer" and str(layer_data.get("module", "")).startswith("kgraph"):
            obj = _op_layer_from_entry(layer_data, custom_objects, safe_mode)
        elif is_keras_op_module(layer_data.get("module")):
            obj = keras_op_from_config(layer_data["class_name"], layer_data.get("config") or {}, layer_data["module"])
        else:
            obj = deserialize_keras_object(layer_data, custom_objects, safe_mode, build=False)
            _build_by_own_hook(obj, layer_data.get("build_config"))
        if not isinstance(obj, (Layer, KerasOpCall)):
            raise ValueError(f"Entry {name!r} of the Functional config is a {type(obj).__name__}, not a layer or op")
        created[name] = obj
        outputs[name] = [[obj.output]] if isinstance(obj, InputLayer) else []
        pending[name] = list(layer_data.get("inbound_nodes") or [])
        order.append(name)

    def tensor(name, node_index: int, tensor_index: int):
        if name not in created:
            raise ValueError(f"The Functional config refers to an unknown layer {name!r}")
        calls = outputs[name]
        if node_index >= len(calls):
            raise _NotReady(name)
        flat = calls[node_index]
        if tensor_index >= len(flat):
            raise ValueError(f"The Functional config asks for output {tensor_index} of layer {name!r}, "
                             f"which has {len(flat)}")
        return flat[tensor_index]

    def revive(value):
        if isinstance(value, dict) and value.get("class_name") == TENSOR_CLASS:
            history = (value.get("config") or {}).get("keras_history")
            if not _is_history(history):
                raise ValueError(f"A tensor in the Functional config has no valid keras_history: {value}")
            return tensor(*history)
        if isinstance(value, list):
            return [revive(v) for v in value]
        if isinstance(value, tuple):
            return tuple(revive(v) for v in value)
        if isinstance(value, dict) and not ("class_name" in value and "config" in value):
            return {k: revive(v) for k, v in value.items()}
        return deserialize_keras_object(value, custom_objects, safe_mode)

    def node_arguments(node_data):
        if isinstance(node_data, list):  # legacy: [[name, node, tensor, kwargs], ...]
            tensors, kwargs = [], {}
            for entry in node_data:
                tensors.append(tensor(entry[0], entry[1], entry[2]))
                if len(entry) > 3 and entry[3]:
                    kwargs = revive(entry[3])
            return [tensors[0] if len(tensors) == 1 else tensors], kwargs
        args = revive(node_data.get("args", []))
        kwargs = revive(node_data.get("kwargs", {}) or {})
        return list(args), kwargs

    while any(pending.values()):
        progressed = False
        for name in order:
            while pending[name]:
                try:
                    args, kwargs = node_arguments(pending[name][0])
                except _NotReady:
                    break
                kwargs.pop("training", None)
                if kwargs.get("mask", 0) is None:
                    kwargs.pop("mask")
                result = created[name](*args, **kwargs)
                outputs[name].append(tree.flatten(result))
                pending[name].pop(0)
                progressed = True
        if not progressed:
            stuck = sorted(name for name, nodes in pending.items() if nodes)
            raise ValueError(f"Invalid Functional config: the calls of {stuck} need outputs that no call produces "
                             "(the graph has a cycle or refers to missing nodes)")

    def model_tensor(history):
        name, node_index, tensor_index = history
        if name in created and _is_functional(created[name]) and node_index > 0:
            node_index -= 1
        try:
            return tensor(name, node_index, tensor_index)
        except _NotReady:
            raise ValueError(f"The Functional config's inputs/outputs refer to call {node_index} of {name!r}, "
                             f"which it never makes") from None

    def map_history(structure):
        if _is_history(structure):
            return model_tensor(structure)
        if isinstance(structure, dict):
            return {k: map_history(v) for k, v in structure.items()}
        if isinstance(structure, (list, tuple)):
            return [map_history(v) for v in structure]
        raise ValueError(f"Invalid input_layers/output_layers entry in the Functional config: {structure!r}")

    inputs = map_history(config["input_layers"])
    model_outputs = map_history(config["output_layers"])
    model = cls(inputs=inputs, outputs=model_outputs, name=config.get("name"))
    if config.get("trainable") is False:
        model.trainable = False
    return model


# --- Sequential ----------------------------------------------------------------------------------------------
def get_sequential_config(model) -> dict:
    """Keras' Sequential config: the InputLayer (when there is one) and the layers, plus the build shape."""
    layers = []
    if model._input_layer is not None:
        layers.append(serialize_keras_object(model._input_layer))
    layers += [serialize_keras_object(layer) for layer in model.layers]
    config = {"name": model.name, "trainable": model.trainable, "dtype": model.dtype, "layers": layers}
    if model._functional is not None:
        config["build_input_shape"] = list(model._input_layer.batch_shape)
    return config


def sequential_from_config(cls, config, custom_objects: dict | None = None, safe_mode: bool | None = True):
    """Rebuilds a Sequential model from its config (a legacy list of layer configs is accepted too)."""
    if isinstance(config, list):
        config = {"layers": config}
    if not isinstance(config, dict) or "layers" not in config:
        raise ValueError(f"A Sequential config must be a dict with 'layers'; got {str(config)[:200]}")
    layers = [deserialize_keras_object(c, custom_objects, safe_mode, build=False) for c in config["layers"]]
    kwargs = {"name": config["name"]} if config.get("name") else {}
    model = cls(layers=layers, **kwargs)
    shape = config.get("build_input_shape")
    if not model.built and isinstance(shape, (list, tuple)) and shape:
        model.build(tuple(shape))
    if config.get("trainable") is False:
        model.trainable = False
    return model
