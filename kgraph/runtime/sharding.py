"""Puts the training state and the batches on the current distribution's device mesh.

What the trainer calls when `kgraph.distribution.distribution()` is set (every function takes it explicitly):

- `shard_state`: each weight where its layout says, its optimizer slots likewise; step counters, learning
  rate, metric values and the RNG key replicated. The compiled step then follows these committed inputs.
- `put_dataset`: in-memory arrays uploaded once, replicated on every device, so gathering a batch by index
  stays local; `with_batch_sharding` wraps a step body so the gathered batch is split over the data axis.
- `shard_batch`: a host batch from a streaming source, split over the data axis as it is uploaded.

Batch sizes: a batch is split evenly over the data axis (`n` devices). `check_batch_size` rejects a
`batch_size` that `n` does not divide with a ValueError naming both. A batch that is smaller because it is
the last of a pass, or because all the data fit in one batch (`train_on_batch`), is still accepted: it runs
replicated, on every device, with the same results and no speedup.
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from kgraph.distribution.distributions import Distribution, ModelParallel


def replicated(distribution: Distribution) -> NamedSharding:
    """A whole copy on every device of the mesh."""
    return NamedSharding(distribution.device_mesh.backend_mesh, PartitionSpec())


def data_axis_size(distribution: Distribution) -> int:
    """How many devices a batch is split over."""
    return distribution.device_mesh.axis_size(distribution.batch_dim_name)


def place(x, sharding: NamedSharding) -> jax.Array:
    """`x` (host or device array) as a global array with `sharding`; every process must pass the same value."""
    if sharding.is_fully_addressable:
        return jax.device_put(x, sharding)
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def variable_shardings(variables: list, distribution: Distribution) -> list[NamedSharding]:
    """The sharding of each variable, from `distribution.get_variable_layout` (errors name the weight).

    For a ModelParallel, LayoutMap keys that match none of `variables` are reported in one warning.
    """
    shardings = [distribution.get_variable_layout(v).backend_layout for v in variables]
    if isinstance(distribution, ModelParallel):
        unused = distribution.unmatched_keys([v.path for v in variables])
        if unused:
            warnings.warn(f"LayoutMap key(s) {unused} match none of the model's weights, so they lay out nothing; "
                          f"the weight paths are {[v.path for v in variables]}", stacklevel=3)
    return shardings


def _place_slots(tree, shapes: list[tuple], shardings: list[NamedSharding], default: NamedSharding):
    """Places an optimizer state: in a list with one entry per weight (Adam's moments, SGD's momenta), each
    array of entry i shaped like weight i takes weight i's sharding; everything else is replicated."""
    leaves = jax.tree_util.tree_leaves

    def is_slot_list(node) -> bool:
        return (isinstance(node, list) and len(node) == len(shapes) > 0 and any(leaves(e) for e in node)
                and all(tuple(np.shape(a)) == s for e, s in zip(node, shapes) for a in leaves(e)))

    def place_node(node):
        if is_slot_list(node):
            return [jax.tree_util.tree_map(lambda a, s=s: place(a, s), e) for e, s in zip(node, shardings)]
        return place(node, default)

    return jax.tree_util.tree_map(place_node, tree, is_leaf=is_slot_list)


def shard_state(state: dict, variables: dict, distribution: Distribution) -> dict:
    """The step state on the mesh.

    Args:
        state: `{"trainable": [...], "non_trainable": [...], "optimizer": {...}, "metrics": ..., "rng": ...}`
            (any subset of the keys); arrays on the host or a device.
        variables: `{"trainable": [Variable...], "non_trainable": [Variable...]}`, in the state's order.
        distribution: the current `Distribution`.
    """
    default = replicated(distribution)
    trainable = list(variables.get("trainable", []))
    frozen = list(variables.get("non_trainable", []))
    shardings = variable_shardings(trainable + frozen, distribution)
    by_kind = {"trainable": shardings[:len(trainable)], "non_trainable": shardings[len(trainable):]}
    result = {}
    for key, value in state.items():
        if key in by_kind:
            if len(value) != len(by_kind[key]):
                raise ValueError(f"state[{key!r}] has {len(value)} arrays but {len(by_kind[key])} variables were given")
            result[key] = [place(a, s) for a, s in zip(value, by_kind[key])]
        elif key == "optimizer":
            result[key] = _place_slots(value, [tuple(v.shape) for v in trainable], by_kind["trainable"], default)
        else:
            result[key] = jax.tree_util.tree_map(lambda a: place(a, default), value)
    return result


def data_sharding(shape, distribution: Distribution) -> NamedSharding:
    """The sharding of one batch array of `shape`: its first dimension split over the data axis.

    Raises a ValueError naming the batch size and the device count when the split would be uneven.
    """
    n = data_axis_size(distribution)
    if len(shape) == 0 or shape[0] % n:
        size = shape[0] if len(shape) else "a scalar"
        raise ValueError(f"A batch of size {size} cannot be split evenly over the {n} devices of the data axis "
                         f"{distribution.batch_dim_name!r}; use a batch size that is a multiple of {n}")
    layout = distribution.get_data_layout(shape)
    return layout.backend_layout


def _splits(shape, distribution: Distribution) -> bool:
    return len(shape) > 0 and shape[0] % data_axis_size(distribution) == 0


def shard_batch(batch, distribution: Distribution):
    """A host batch (pytree of arrays) on the mesh: split over the data axis, or replicated if it does not divide."""
    default = replicated(distribution)
    return jax.tree_util.tree_map(
        lambda a: place(a, data_sharding(np.shape(a), distribution) if _splits(np.shape(a), distribution) else default),
        batch)


def put_dataset(arrays, distribution: Distribution):
    """In-memory arrays uploaded once, a full copy on every device (steps gather their batches locally)."""
    default = replicated(distribution)
    return jax.tree_util.tree_map(lambda a: place(a, default), arrays)


def check_batch_size(batch_size: int, num_samples: int, distribution: Distribution) -> None:
    """A ValueError naming both numbers if `batch_size` does not split evenly over the data axis.

    One batch holding all `num_samples` (fewer than the batch size asked for) is accepted and runs replicated.
    """
    n = data_axis_size(distribution)
    if batch_size % n and batch_size < num_samples:
        raise ValueError(f"batch_size={batch_size} is not divisible by the {n} devices of the data axis "
                         f"{distribution.batch_dim_name!r} of {type(distribution).__name__}; use a multiple of {n} "
                         f"(e.g. {batch_size + n - batch_size % n})")


def constrain_batch(batch, distribution: Distribution):
    """Inside a compiled step: the batch's arrays split over the data axis (those that divide evenly)."""
    def constrain(a):
        if not _splits(a.shape, distribution):
            return a
        return jax.lax.with_sharding_constraint(a, data_sharding(a.shape, distribution))

    return jax.tree_util.tree_map(constrain, batch)


def with_batch_sharding(body, distribution: Distribution | None):
    """`body(state, batch)` with its batch split over the data axis (`body` itself when there is no distribution)."""
    if distribution is None:
        return body

    def sharded_body(state, batch):
        return body(state, constrain_batch(batch, distribution))

    return sharded_body
