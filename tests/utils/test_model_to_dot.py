"""`kgraph.utils.model_to_dot` against Keras 3's on the same architectures: the same nodes (by layer name) and the
same edges, nested models expanded or not."""

import keras
import pydot
import pytest

import kgraph


def _build(k):
    left, right = k.Input((4,), name="left"), k.Input((3,), name="right")
    block = k.Sequential([k.Input((8,)), k.layers.Dense(8, name="inner_a"), k.layers.Dense(5, name="inner_b")],
                         name="block")
    merged = k.layers.Concatenate(name="merge")([k.layers.Dense(4, name="dl")(left), k.layers.Dense(4, name="dr")(right)])
    return k.Model([left, right], k.layers.Dense(2, name="head")(block(merged)), name="net")


def _layers_by_id(model) -> dict[str, str]:
    names = {}
    for layer in model.layers:
        names[str(id(layer))] = layer.name
        if isinstance(layer, (keras.Model, kgraph.Model)):
            names.update(_layers_by_id(layer))
    return names


def _graph(dot, model) -> tuple[set, set]:
    """(node names, edges as name pairs) of a pydot graph whose node ids are layer ids, its clusters' included."""
    names = _layers_by_id(model)
    nodes = list(dot.get_nodes()) + [n for sub in dot.get_subgraphs() for n in sub.get_nodes()]
    node_names = {names[n.get_name()] for n in nodes if n.get_name() in names}
    edges = list(dot.get_edges()) + [e for sub in dot.get_subgraphs() for e in sub.get_edges()]
    edges = {(names[e.get_source()], names[e.get_destination()]) for e in edges}
    return node_names, edges


@pytest.mark.parametrize("expand_nested", [False, True])
def test_nodes_and_edges_match_keras(expand_nested):
    ours, theirs = _build(kgraph), _build(keras)
    our_dot = kgraph.utils.model_to_dot(ours, show_shapes=True, expand_nested=expand_nested)
    their_dot = keras.utils.model_to_dot(theirs, show_shapes=True, expand_nested=expand_nested)
    assert isinstance(our_dot, pydot.Dot)
    our_graph, their_graph = _graph(our_dot, ours), _graph(their_dot, theirs)
    assert our_graph == their_graph
    assert ("block" in our_graph[0]) != expand_nested
    assert len(our_dot.get_subgraphs()) == len(their_dot.get_subgraphs()) == int(expand_nested)
    assert our_dot.get("rankdir") == their_dot.get("rankdir") == "TB"


def test_subgraph_gives_a_named_cluster_and_labels_show_names_and_shapes():
    model = _build(kgraph)
    cluster = kgraph.utils.model_to_dot(model, subgraph=True)
    assert isinstance(cluster, pydot.Cluster) and cluster.get_name() == "cluster_net"
    dot = kgraph.utils.model_to_dot(model, show_shapes=True)
    head = next(n for n in dot.get_nodes() if n.get_name() == str(id(model.get_layer("head"))))
    assert "head (Dense)" in head.get("label") and "(None, 2)" in head.get("label")


def test_unbuilt_models_and_unknown_arguments_are_refused():
    with pytest.raises(ValueError, match="not yet been built"):
        kgraph.utils.model_to_dot(kgraph.Sequential([kgraph.layers.Dense(2)]))
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        kgraph.utils.model_to_dot(_build(kgraph), colour="red")


def test_a_sequential_model_draws_its_layers_as_keras():
    def build(k):
        return k.Sequential([k.Input((3,)), k.layers.Dense(4, name="a"), k.layers.Dense(2, name="b")], name="seq")

    ours, theirs = build(kgraph), build(keras)
    assert _graph(kgraph.utils.model_to_dot(ours), ours) == _graph(keras.utils.model_to_dot(theirs), theirs) == (
        {"a", "b"}, {("a", "b")})
