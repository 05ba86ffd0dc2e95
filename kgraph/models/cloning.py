"""`clone_model`: the same architecture with new layers (and freshly initialized weights), as Keras clones."""

from __future__ import annotations

from typing import Callable

from kgraph import tree
from kgraph.keras_tensor import KerasTensor
from kgraph.layers.core.input_layer import Input, InputLayer
from kgraph.layers.layer import Layer
from kgraph.models.functional import Functional
from kgraph.models.sequential import Sequential


def _clone_layer(layer: Layer) -> Layer:
    """A new layer from the layer's config: same class, name and settings, new weights."""
    return layer.__class__.from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function: Callable | None = None,
                call_function: Callable | None = None, recursive: bool = False, **kwargs):
    """A copy of a Sequential or Functional `model` built from new layers; weights are not copied.

    Args:
        model: the model to clone.
        input_tensors: new `Input` tensors (in the model's input structure) to build the clone on.
        clone_function: `layer -> new layer`; by default `layer.__class__.from_config(layer.get_config())`.
        call_function: `(layer, *args, **kwargs) -> outputs`, how each new layer is called in a Functional
            clone; by default `layer(*args, **kwargs)`.
        recursive: also clone the layers of nested Sequential/Functional models (else `clone_function` gets
            the nested model).
    """
    if kwargs:
        raise ValueError(f"Unexpected keyword argument(s) for `clone_model`: {sorted(kwargs)}")
    clone = clone_function or _clone_layer
    if recursive:
        inner = clone

        def clone(layer):
            if isinstance(layer, (Sequential, Functional)):
                return clone_model(layer, clone_function=inner, call_function=call_function, recursive=True)
            return inner(layer)

    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone, call_function)
    if isinstance(model, Functional):
        return _clone_functional(model, input_tensors, clone, call_function)
    if input_tensors is not None or clone_function is not None or call_function is not None:
        raise ValueError("`clone_model` takes `input_tensors`, `clone_function` and `call_function` only for "
                         f"Sequential and Functional models; {model.name!r} is a subclassed "
                         f"{type(model).__name__}. Call it without them to get "
                         f"`{type(model).__name__}.from_config(model.get_config())`.")
    return model.__class__.from_config(model.get_config())


def _clone_sequential(model: Sequential, input_tensors, clone: Callable, call_function):
    if call_function is not None:
        raise ValueError("`call_function` applies to Functional models; to change how a Sequential model's "
                         "layers are called, convert it with `kgraph.Model(inputs, outputs)` first.")
    layers = [clone(layer) for layer in model.layers]
    first = []
    if input_tensors is not None:
        first = list(tree.flatten(input_tensors))
        if len(first) != 1 or not isinstance(first[0], KerasTensor):
            raise ValueError(f"A Sequential model takes one input tensor. Received: input_tensors={input_tensors!r}")
    elif model._input_layer is not None:
        source = model._input_layer
        first = [Input(batch_shape=source.batch_shape, dtype=source.dtype, name=source.name)]
    return Sequential(first + layers, trainable=model.trainable, name=model.name)


def _clone_functional(model: Functional, input_tensors, clone: Callable, call_function):
    if input_tensors is None:
        new_inputs = [Input(batch_shape=tuple(t.shape), dtype=t.dtype, name=t.name) for t in model._inputs]
    else:
        new_inputs = list(tree.flatten(input_tensors))
        if len(new_inputs) != len(model._inputs) or not all(isinstance(t, KerasTensor) for t in new_inputs):
            raise ValueError(f"`input_tensors` must be {len(model._inputs)} KerasTensors (from `kgraph.Input`), "
                             f"like the model's inputs. Received: {input_tensors!r}")
    new = {id(old): t for old, t in zip(model._inputs, new_inputs)}
    layers: dict[int, Layer] = {}
    swap = lambda x: new[id(x)] if isinstance(x, KerasTensor) else x  # noqa: E731
    for node in model._nodes:
        if isinstance(node.layer, InputLayer):
            continue
        layer = layers.setdefault(id(node.layer), None) or clone(node.layer)
        layers[id(node.layer)] = layer
        args, call_kwargs = tree.map_structure(swap, list(node.args)), tree.map_structure(swap, node.kwargs)
        outputs = call_function(layer, *args, **call_kwargs) if call_function else layer(*args, **call_kwargs)
        for old, out in zip(tree.flatten(node.outputs), tree.flatten(outputs)):
            new[id(old)] = out
    inputs = tree.map_structure(lambda t: new[id(t)], model._input_structure)
    outputs = tree.map_structure(lambda t: new[id(t)], model._output_structure)
    return Functional(inputs, outputs, name=model.name, trainable=model.trainable)
