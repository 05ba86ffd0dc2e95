"""Weights in Keras 3's HDF5 layout (`.weights.h5`, and `model.weights.h5` inside `.keras` files).

Every saveable object (the model, each layer, the optimizer) gets a group `<path>/vars` whose attribute
`name` is the object's name and whose datasets "0", "1", … are its own variables (trainable, then
non-trainable). Paths follow Keras' walk: a Functional or Sequential model lists `layers/<class name>`
("dense", "dense_1", … in Keras' layer order), other sublayers sit under the attribute that holds them, and
the compiled model's optimizer under `optimizer` (iterations, learning rate, then its slots in Keras' order).

Loading is all-or-nothing: every array is read and checked against the model first, and only then assigned,
so a file that does not fit leaves the model as it was. `by_name=True` matches layers by their names instead
of their positions; `skip_mismatch=True` turns mismatches into warnings and leaves those layers alone. Legacy
Keras/tf.keras `.h5` weights (`layer_names`/`weight_names`) are read too.
"""

from __future__ import annotations

import io
import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from kgraph.ir.types import numpy_dtype
from kgraph.saving import file_io
from kgraph.saving.serialization import to_snake_case

KGRAPH_STATE_GROUP = "kgraph_training_state"
WEIGHTS_FILENAME = "model.weights.h5"


# --- what is saved, and where ------------------------------------------------------------------------------------
def _is_saveable(obj) -> bool:
    from kgraph.layers.layer import Layer
    from kgraph.optimizers import Optimizer

    return isinstance(obj, (Layer, Optimizer))


_bare_layer_attributes: set[str] | None = None


def _skipped_attributes(obj) -> set[str]:
    """What Keras' walk skips: every attribute a bare Layer has, plus the graph models' own bookkeeping."""
    global _bare_layer_attributes
    if _bare_layer_attributes is None:
        from kgraph.layers.layer import Layer

        _bare_layer_attributes = set(dir(Layer(name="__kgraph_probe__")))
    from kgraph.models.functional import Functional
    from kgraph.models.sequential import Sequential

    if isinstance(obj, Sequential):
        return _bare_layer_attributes | {"_functional", "_input_layer"}
    if isinstance(obj, Functional):
        return _bare_layer_attributes | {"operations", "_operations"}
    return _bare_layer_attributes


def _name_key(name: str) -> str:
    return f"~{name}" if name.startswith("_") else name


def _holds_saveables(value) -> bool:
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (list, tuple)) and any(_is_saveable(v) or _holds_saveables(v) for v in value)


def _children(obj) -> list[tuple[str, Any]]:
    """(attribute, saveable or container of saveables) in Keras' order: a graph model's `layers` first, then
    the attributes a bare Layer does not have, sorted with private ones last."""
    from kgraph.layers.layer import Layer
    from kgraph.saving.functional_config import keras_layers

    children = []
    if _is_graph_model(obj):
        children.append(("layers", keras_layers(obj)))
    if not isinstance(obj, Layer):
        return children
    skipped = _skipped_attributes(obj)
    for name in sorted(dir(obj), key=_name_key):
        if name.startswith("__") or name in skipped:
            continue
        try:
            value = getattr(obj, name)
        except Exception:  # a property that cannot answer now (Keras' walk skips those too)
            continue
        if name == "layers" and _is_graph_model(obj):
            continue
        if _is_saveable(value) or _holds_saveables(value):
            children.append((name, value))
    return children


def _is_graph_model(model) -> bool:
    from kgraph.models.functional import Functional
    from kgraph.models.sequential import Sequential

    return isinstance(model, (Functional, Sequential))


def saveables(model) -> list[tuple[str, Any]]:
    """(path, object) for every layer, model and optimizer whose variables are saved, in Keras' walk order."""
    result: list[tuple[str, Any]] = []
    visited: set[int] = set()

    def join(path: str, name: str) -> str:
        return f"{path}/{name}" if path else name

    def walk(obj, path: str) -> None:
        if id(obj) in visited:
            return
        visited.add(id(obj))
        result.append((path, obj))
        for name, child in _children(obj):
            if _is_saveable(child):
                walk(child, join(path, name))
            else:
                walk_container(child, join(path, name), set())

    def walk_container(container, path: str, seen: set[int]) -> None:
        if id(container) in seen:
            return
        seen.add(id(container))
        used: dict[str, int] = {}
        for item in (container.values() if isinstance(container, dict) else container):
            if _is_saveable(item):
                walk(item, join(path, _unique(to_snake_case(type(item).__name__), used)))
            elif isinstance(item, (list, tuple, dict)):
                walk_container(item, join(path, _unique("container", used)), seen)

    walk(model, "")
    return result


def _unique(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def own_variables(layer) -> list:
    """A layer's own variables in Keras' saving order: trainable, then non-trainable."""
    return list(layer._trainable_variables) + list(layer._non_trainable_variables)


# --- the optimizer's variables in Keras' order ----------------------------------------------------------------------
def _optimizer_trainables(model) -> list:
    if getattr(model, "_trainable_snapshot", None) is None:
        model._trainable_snapshot = list(model.trainable_weights)
    return model._partition()[0]


def _keras_variable_order(model) -> list:
    """Every variable in the order Keras' `model.variables` gives it (layers in Keras' order)."""
    from kgraph.layers.core.input_layer import InputLayer
    from kgraph.saving.functional_config import keras_layers

    seen: set[int] = set()
    result: list = []

    def visit(layer) -> None:
        for v in own_variables(layer):
            if id(v) not in seen:
                seen.add(id(v))
                result.append(v)
        subs = keras_layers(layer) if _is_graph_model(layer) else list(layer._layers)
        for sub in subs:
            if not isinstance(sub, InputLayer):
                visit(sub)

    visit(model)
    return result


def _keras_permutation(model, trainable: list) -> list[int] | None:
    """perm[k] = index in `trainable` (kgraph's optimizer order) of Keras' k-th trainable variable; None if equal."""
    index = {id(v): i for i, v in enumerate(trainable)}
    order = [index[id(v)] for v in _keras_variable_order(model) if id(v) in index]
    if sorted(order) != list(range(len(trainable))) or order == list(range(len(trainable))):
        return None
    return order


def _slot_owners(optimizer, count: int) -> list[int | None]:
    """For each leaf of the optimizer state, the index of the variable it belongs to (None: shared scalars)."""
    import jax
    import jax.numpy as jnp

    probe = jax.eval_shape(optimizer.init, [jax.ShapeDtypeStruct((i + 1,), jnp.float32) for i in range(count)])
    return [leaf.shape[0] - 1 if len(leaf.shape) == 1 else None for leaf in jax.tree_util.tree_leaves(probe)]


def _reorder(leaves: list, owners: list, perm: list[int], to_keras: bool) -> list:
    """Moves per-variable slots between kgraph's variable order and Keras' (perm as in `_keras_permutation`)."""
    position, roles = {}, []
    for j, owner in enumerate(owners):
        role = sum(1 for o in owners[:j] if o == owner) if owner is not None else None
        roles.append(role)
        position[(owner, role)] = j
    result = list(leaves)
    for j, owner in enumerate(owners):
        if owner is None:
            continue
        source = position[(perm[owner], roles[j])]
        if to_keras:
            result[j] = leaves[source]
        else:
            result[source] = leaves[j]
    return result


def optimizer_arrays(model) -> list[np.ndarray]:
    """The optimizer's variables as Keras lists them; an unbuilt optimizer has only iterations and learning rate."""
    import jax

    optimizer = model.optimizer
    if optimizer.state is None:
        return [np.asarray(0, np.int32), np.asarray(optimizer.learning_rate, np.float32)]
    leaves = [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(optimizer.state)]
    trainable = _optimizer_trainables(model)
    perm = _keras_permutation(model, trainable)
    if perm is not None:
        owners = _slot_owners(optimizer, len(trainable))
        if len(owners) == len(leaves):
            leaves = _reorder(leaves, owners, perm, to_keras=True)
    return leaves


def _optimizer_template(model):
    """(leaves, treedef) of the state the optimizer has, or would have once built for the model's variables."""
    import jax

    optimizer = model.optimizer
    state = optimizer.state
    if state is None:
        state = jax.eval_shape(optimizer.init, [v.value for v in _optimizer_trainables(model)])
    leaves, treedef = jax.tree_util.tree_flatten(state)
    return leaves, treedef


# --- writing ---------------------------------------------------------------------------------------------------------
def _write_dataset(group, key: str, value) -> None:
    array = np.asarray(value)
    if str(array.dtype) == "bfloat16":
        dataset = group.create_dataset(key, data=array)
        dataset.attrs["dtype"] = "bfloat16"
    else:
        group.create_dataset(key, data=array)


def write_weights(root: h5py.Group, model) -> None:
    """Writes the model's (and its compiled optimizer's) variables into `root` in Keras' layout."""
    from kgraph.optimizers import Optimizer

    if not model.built:
        raise ValueError(f"Model {model.name!r} has not been built, so it has no weights to save yet; call it on data "
                         "or call `build()` first")
    for path, obj in saveables(model):
        group = root.create_group(path) if path else root
        variables = group.create_group("vars")
        variables.attrs["name"] = str(obj.name)
        if isinstance(obj, Optimizer):
            arrays = optimizer_arrays(_owner_of(model, obj))
        else:
            arrays = [np.asarray(v.numpy()) for v in own_variables(obj)]
        for i, array in enumerate(arrays):
            _write_dataset(variables, str(i), array)
    _write_random_state(root, model)


def _seeded(model) -> list[tuple[str, Any]]:
    return [(path, obj) for path, obj in saveables(model) if isinstance(getattr(obj, "_seed_offset", None), int)]


def _write_random_state(root: h5py.Group, model) -> None:
    """kgraph's own addition, ignored by Keras: the training RNG key and each random layer's seed offset,
    so that `fit` after loading draws the same dropout masks as an uninterrupted run."""
    rng = getattr(model, "_rng_key", None) if getattr(model, "compiled", False) else None
    seeded = _seeded(model)
    if rng is None and not seeded:
        return
    group = root.create_group(KGRAPH_STATE_GROUP)
    if rng is not None:
        group.create_dataset("rng", data=np.asarray(rng))
    if seeded:
        group.create_dataset("seed_offsets", data=np.asarray([obj._seed_offset for _, obj in seeded], np.int64))
        group.attrs["seed_offset_paths"] = json.dumps([path for path, _ in seeded])


def _owner_of(model, optimizer):
    for _, obj in saveables(model):
        if getattr(obj, "optimizer", None) is optimizer:
            return obj
    return model


def weights_bytes(model) -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        write_weights(f, model)
    return buffer.getvalue()


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Saves the model's weights (and optimizer state, when compiled) to a `.weights.h5` file, atomically."""
    path = os.fspath(filepath)
    if not path.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={path}")
    file_io.check_overwrite(path, overwrite)
    file_io.write_bytes_atomic(path, weights_bytes(model))


# --- reading ---------------------------------------------------------------------------------------------------------
@dataclass
class LoadPlan:
    """What loading will assign, gathered and checked before anything changes."""

    source: str
    assignments: list = field(default_factory=list)  # (Variable, array)
    optimizer: Any = None  # (model, new state)
    rng: Any = None  # (model, key)
    seeds: list = field(default_factory=list)  # (layer, seed offset)
    problems: list = field(default_factory=list)

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def take(self, label: str, variables: list, datasets: list) -> None:
        """Reads the datasets (their shapes already checked) for `variables`; unreadable ones are problems."""
        try:
            arrays = [_read_dataset(d) for d in datasets]
        except ValueError as e:
            self.problem(f"{label}: {e}")
            return
        self.assignments += list(zip(variables, arrays))

    def finish(self, skip_mismatch: bool) -> "LoadPlan":
        if self.problems and not skip_mismatch:
            listed = "\n  - ".join(self.problems[:20])
            more = f"\n  … and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
            raise ValueError(f"Cannot load weights from {self.source}:\n  - {listed}{more}")
        for message in self.problems:
            warnings.warn(f"{self.source}: skipping: {message}", stacklevel=3)
        return self

    def apply(self) -> None:
        for variable, array in self.assignments:
            variable.assign(array)
        if self.optimizer is not None:
            model, state = self.optimizer
            model.optimizer.state = state
        if self.rng is not None:
            model, key = self.rng
            model._rng_key = key
        for layer, offset in self.seeds:
            layer._seed_offset = offset


def _read_dataset(dataset) -> np.ndarray:
    """A numeric dataset's values (bfloat16 as Keras marks it); other dtypes are refused, never decoded."""
    if not isinstance(dataset, h5py.Dataset):
        raise ValueError(f"expected a dataset at {dataset.name}, found a group")
    if dataset.dtype.kind not in "biuf" and dataset.attrs.get("dtype") != "bfloat16":
        raise ValueError(f"the dataset {dataset.name} has dtype {dataset.dtype}, not a numeric one")
    value = dataset[()]
    if dataset.attrs.get("dtype") == "bfloat16":
        bfloat16 = numpy_dtype("bfloat16")
        value = np.asarray(value).view(bfloat16) if np.asarray(value).dtype.itemsize == 2 \
            else np.asarray(value, dtype=bfloat16)
    return np.asarray(value)


def _vars_arrays(group: h5py.Group) -> list:
    """The datasets "0".."n-1" of a `vars` group, in order (not read yet); anything else is a layout error."""
    keys = list(group.keys())
    expected = [str(i) for i in range(len(keys))]
    if sorted(keys, key=lambda k: (len(k), k)) != expected:
        raise ValueError(f"the group {group.name} should hold datasets named 0..{len(keys) - 1}, it holds {keys}")
    datasets = [group[k] for k in expected]
    for d in datasets:
        if not isinstance(d, h5py.Dataset):
            raise ValueError(f"expected a dataset at {d.name}, found a group")
    return datasets


def _vars_group(root, path: str):
    node = root.get(f"{path}/vars" if path else "vars")
    return node if isinstance(node, h5py.Group) else None


def _vars_name(group) -> str | None:
    name = group.attrs.get("name")
    return name.decode("utf-8") if isinstance(name, bytes) else (str(name) if name is not None else None)


def _fits(arrays: list, variables: list) -> bool:
    return len(arrays) == len(variables) and all(tuple(a.shape) == tuple(v.shape) for a, v in zip(arrays, variables))


def _mismatch(label: str, arrays: list, variables: list) -> str:
    if len(arrays) != len(variables):
        return (f"{label} has {len(variables)} variables {[v.name for v in variables]}, the file has "
                f"{len(arrays)} for it")
    for a, v in zip(arrays, variables):
        if tuple(a.shape) != tuple(v.shape):
            return (f"{label}: variable {v.name!r} ({v.path}) expects shape {tuple(v.shape)}, the file has shape "
                    f"{tuple(a.shape)}")
    return f"{label} does not match the file"


def _all_vars_groups(root) -> dict[str, h5py.Group]:
    """path -> `vars` group, for every `vars` group in the file that holds datasets."""
    found = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and name.split("/")[-1] == "vars" and len(obj):
            found[name[: -len("/vars")] if name != "vars" else ""] = obj

    root.visititems(visit)
    return found


def _layer_label(path: str, obj) -> str:
    kind = type(obj).__name__
    return f"{kind} {obj.name!r}" + (f" (at {path!r})" if path else "")


def _is_optimizer_or_state(path: str) -> bool:
    return path.startswith(KGRAPH_STATE_GROUP) or path == "optimizer" or path.endswith("/optimizer")


def plan_structural(root, model, source: str, skip_mismatch: bool = False, load_optimizer: bool = True) -> LoadPlan:
    """Matches the file to the model by structure (Keras' paths); a path whose group does not fit falls back to
    a sibling group saved under the same layer name."""
    from kgraph.optimizers import Optimizer

    plan = LoadPlan(source)
    if "layers" not in root and "vars" not in root:
        raise ValueError(f"{source} does not have Keras 3's weights layout (no 'layers' or 'vars' group at the "
                         f"root; it has {sorted(root.keys())[:10]})")
    consumed: set[str] = set()
    for path, obj in saveables(model):
        if isinstance(obj, Optimizer):
            if load_optimizer:
                _plan_optimizer(plan, root, path, _owner_of(model, obj))
            consumed.add(path)
            continue
        variables = own_variables(obj)
        label = _layer_label(path, obj)
        group = _vars_group(root, path)
        try:
            arrays = _vars_arrays(group) if group is not None else None
        except ValueError as e:
            plan.problem(f"{label}: {e}")
            continue
        if arrays is not None and _fits(arrays, variables):
            plan.take(label, variables, arrays)
            consumed.add(path)
            continue
        alternative = _sibling_by_name(root, path, obj.name, variables, consumed)
        if alternative is not None:
            alt_path, alt_arrays = alternative
            plan.take(label, variables, alt_arrays)
            consumed.add(alt_path)
            continue
        if arrays is None:
            if variables:
                plan.problem(f"{label} has {len(variables)} variables but the file has no group "
                             f"'{path + '/' if path else ''}vars' for it")
            continue
        consumed.add(path)
        plan.problem(_mismatch(label, arrays, variables))
    for path, group in _all_vars_groups(root).items():
        if path in consumed or _is_optimizer_or_state(path):
            continue
        plan.problem(f"the file has {len(group)} weights at {path!r} (saved by layer {_vars_name(group)!r}), which "
                     "no layer of the model takes")
    _plan_random_state(plan, root, model, restore_rng=load_optimizer)
    return plan


def _sibling_by_name(root, path: str, name: str, variables: list, consumed: set):
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    container = root.get(parent) if parent else root
    if not isinstance(container, h5py.Group):
        return None
    for key in container.keys():
        candidate = f"{parent}/{key}" if parent else key
        if candidate == path or candidate in consumed:
            continue
        group = _vars_group(root, candidate)
        if group is None or _vars_name(group) != name:
            continue
        try:
            arrays = _vars_arrays(group)
        except ValueError:
            continue
        if _fits(arrays, variables):
            return candidate, arrays
    return None


def _plan_optimizer(plan: LoadPlan, root, path: str, model) -> None:
    import jax
    import jax.numpy as jnp

    group = _vars_group(root, path)
    if group is None or not getattr(model, "compiled", False) or model.optimizer is None:
        return
    try:
        saved = _vars_arrays(group)
    except ValueError as e:
        plan.problem(f"optimizer {model.optimizer.name!r}: {e}")
        return
    template, treedef = _optimizer_template(model)
    if len(saved) != len(template):
        if len(saved) == 2 and saved[0].shape == () and int(np.asarray(_read_dataset(saved[0]))) == 0:
            return  # an optimizer saved before its first step: nothing beyond its config
        warnings.warn(f"{plan.source}: not loading the state of optimizer {model.optimizer.name!r}: it has "
                      f"{len(template)} variables, the file has {len(saved)}. Training starts with a fresh "
                      "optimizer state.", stacklevel=4)
        return
    trainable = _optimizer_trainables(model)
    perm = _keras_permutation(model, trainable)
    if perm is not None:
        owners = _slot_owners(model.optimizer, len(trainable))
        if len(owners) == len(saved):
            saved = _reorder(saved, owners, perm, to_keras=False)
    for i, (array, leaf) in enumerate(zip(saved, template)):
        if tuple(array.shape) != tuple(leaf.shape):
            warnings.warn(f"{plan.source}: not loading the state of optimizer {model.optimizer.name!r}: its variable "
                          f"{i} has shape {tuple(leaf.shape)}, the file has {tuple(array.shape)}. Training starts with "
                          "a fresh optimizer state.", stacklevel=4)
            return
    try:
        leaves = [jnp.asarray(_read_dataset(d), dtype=leaf.dtype) for d, leaf in zip(saved, template)]
    except ValueError as e:
        plan.problem(f"optimizer {model.optimizer.name!r}: {e}")
        return
    plan.optimizer = (model, jax.tree_util.tree_unflatten(treedef, leaves))


def _plan_random_state(plan: LoadPlan, root, model, restore_rng: bool) -> None:
    group = root.get(KGRAPH_STATE_GROUP)
    if not isinstance(group, h5py.Group):
        return
    if restore_rng and "rng" in group and getattr(model, "compiled", False):
        key = np.asarray(group["rng"][()])
        if key.shape == (2,) and key.dtype == np.uint32:
            import jax.numpy as jnp

            plan.rng = (model, jnp.asarray(key))
    if "seed_offsets" in group:
        try:
            paths = json.loads(group.attrs.get("seed_offset_paths", "[]"))
            offsets = dict(zip(paths, np.asarray(group["seed_offsets"][()]).tolist()))
        except (TypeError, ValueError):
            return
        for path, obj in _seeded(model):
            if isinstance(offsets.get(path), int):
                plan.seeds.append((obj, offsets[path]))


def plan_by_name(root, model, source: str, skip_mismatch: bool = False) -> LoadPlan:
    """Loads each layer (at any depth) from the group saved under its name; layers the file lacks are left alone."""
    plan = LoadPlan(source)
    saved: dict[str, list[tuple[str, h5py.Group]]] = {}
    for path, group in _all_vars_groups(root).items():
        if _is_optimizer_or_state(path):
            continue
        name = _vars_name(group)
        if name is not None:
            saved.setdefault(name, []).append((path, group))
    used: set[str] = set()
    for layer in model._flatten_layers(include_self=True):
        variables = own_variables(layer)
        candidates = [(p, g) for p, g in saved.get(layer.name, []) if p not in used]
        if not variables or not candidates:
            continue
        path, group = candidates[0]
        used.add(path)
        try:
            arrays = _vars_arrays(group)
        except ValueError as e:
            plan.problem(f"layer {layer.name!r}: {e}")
            continue
        label = f"{type(layer).__name__} {layer.name!r}"
        if _fits(arrays, variables):
            plan.take(label, variables, arrays)
        else:
            plan.problem(_mismatch(label, arrays, variables))
    return plan


# --- legacy Keras 2 / tf.keras `.h5` weights ------------------------------------------------------------------
def _attribute_list(group, name: str) -> list[str]:
    if name in group.attrs:
        values = list(group.attrs[name])
    else:
        values, chunk = [], 0
        while f"{name}{chunk}" in group.attrs:
            values += list(group.attrs[f"{name}{chunk}"])
            chunk += 1
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _legacy_weights(layer) -> list:
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _legacy_values(group) -> list:
    datasets = [group[name] for name in _attribute_list(group, "weight_names")]
    for d in datasets:
        if not isinstance(d, h5py.Dataset):
            raise ValueError(f"expected a dataset at {d.name}, found a group")
    return datasets


def plan_legacy(root, model, source: str, by_name: bool = False, skip_mismatch: bool = False) -> LoadPlan:
    """Keras' legacy h5 weights (a `layer_names` attribute; one group per layer with `weight_names`)."""
    from kgraph.saving.functional_config import keras_layers

    plan = LoadPlan(source)
    layers = keras_layers(model) if _is_graph_model(model) else list(model.layers)
    names = _attribute_list(root, "layer_names")
    if by_name:
        index: dict[str, list] = {}
        for layer in layers:
            index.setdefault(layer.name, []).append(layer)
        for name in names:
            values = _legacy_values(root[name])
            for layer in index.get(name, []):
                _plan_legacy_layer(plan, layer, values)
    else:
        with_weights = [layer for layer in layers if _legacy_weights(layer)]
        saved = [name for name in names if _attribute_list(root[name], "weight_names")]
        if len(saved) != len(with_weights):
            raise ValueError(f"Cannot load weights from {source}: the model has {len(with_weights)} layers with "
                             f"weights, the file has {len(saved)} ({saved[:10]})")
        for layer, name in zip(with_weights, saved):
            _plan_legacy_layer(plan, layer, _legacy_values(root[name]))
    return plan


def _plan_legacy_layer(plan: LoadPlan, layer, values: list) -> None:
    variables = _legacy_weights(layer)
    label = f"{type(layer).__name__} {layer.name!r}"
    if _fits(values, variables):
        plan.take(label, variables, values)
    else:
        plan.problem(_mismatch(label, values, variables))


# --- entry points ------------------------------------------------------------------------------------------------
def plan_from_h5(root, model, source: str, skip_mismatch: bool = False, by_name: bool = False,
                 load_optimizer: bool = True) -> LoadPlan:
    if "model_weights" in root and isinstance(root["model_weights"], h5py.Group):
        root = root["model_weights"]
    if "layer_names" in root.attrs or "layer_names0" in root.attrs:
        return plan_legacy(root, model, source, by_name, skip_mismatch)
    if by_name:
        if "layers" not in root and "vars" not in root:
            raise ValueError(f"{source} does not have a Keras weights layout (no 'layers' or 'vars' group, no "
                             "'layer_names' attribute)")
        return plan_by_name(root, model, source, skip_mismatch)
    return plan_structural(root, model, source, skip_mismatch, load_optimizer)


def _open_h5(data_or_path, source: str) -> h5py.File:
    try:
        return h5py.File(data_or_path, "r")
    except OSError as e:
        raise ValueError(f"{source} is not a readable HDF5 weights file (truncated or corrupt?): {e}") from None


def load_weights(model, filepath, skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Loads weights saved by `save_weights`, `save` (a `.keras` file) or Keras (also legacy `.h5`) into `model`.

    Args:
        filepath: a `.weights.h5`, `.keras` or legacy `.h5` file.
        skip_mismatch: warn about and skip layers whose weights do not fit, instead of raising.
        by_name: match layers by name rather than by position, for a model that shares only some layers.
    """
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such weights file: {path}")
    if path.endswith(".keras") or zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                file_io.check_member_names(archive, path)
                data = file_io.read_member(archive, WEIGHTS_FILENAME, path)
        except zipfile.BadZipFile as e:
            raise ValueError(f"{path} is not a valid .keras archive (truncated or corrupt): {e}") from None
        source = f"{path} ({WEIGHTS_FILENAME})"
        handle = _open_h5(io.BytesIO(data), source)
    else:
        source = path
        handle = _open_h5(path, source)
    with handle as root:
        plan = plan_from_h5(root, model, source, skip_mismatch, by_name).finish(skip_mismatch)
    plan.apply()
