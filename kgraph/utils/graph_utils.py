"""`get_source_inputs`: the model inputs a symbolic tensor was computed from."""

from __future__ import annotations


def get_source_inputs(tensor) -> list:
    """The `Input` tensors at the start of the layer calls that produced `tensor` (itself if it is one).

    Args:
        tensor: a symbolic tensor (what `kgraph.Input` and layers called on it return).
    """
    history = getattr(tensor, "_history", None)
    if history is None:
        return [tensor]
    layer, node_index, _ = history
    node = layer._inbound_nodes[node_index]
    if not node.input_tensors:
        return [tensor]
    sources = []
    for parent in node.input_tensors:
        for source in get_source_inputs(parent):
            if all(source is not s for s in sources):
                sources.append(source)
    return sources
