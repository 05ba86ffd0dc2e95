"""The distribution API on this process' one device: meshes, layouts, layout maps, strategies, placement."""

import subprocess
import sys
import warnings

import jax
import numpy as np
import pytest

import kgraph
from kgraph import distribution as dl
from kgraph.distribution import multihost
from kgraph.runtime import sharding


@pytest.fixture
def mesh():
    return dl.DeviceMesh((1, 1), ("batch", "model"))


def test_list_devices_and_count():
    assert dl.list_devices() == [f"{d.platform}:{d.id}" for d in jax.devices()]
    assert dl.get_device_count() == jax.device_count()


def test_device_mesh(mesh):
    assert mesh.shape == (1, 1) and mesh.axis_names == ("batch", "model")
    assert isinstance(mesh.backend_mesh, jax.sharding.Mesh) and mesh.backend_mesh.axis_names == ("batch", "model")
    assert mesh.axis_size("model") == 1
    with pytest.raises(ValueError, match="same length"):
        dl.DeviceMesh((1,), ("batch", "model"))
    with pytest.raises(ValueError, match=r"needs 2 devices, got 1"):
        dl.DeviceMesh((2,), ("batch",))
    with pytest.raises(ValueError, match="not found"):
        dl.DeviceMesh((1,), ("batch",), devices=["cpu:99"]).backend_mesh


def test_tensor_layout(mesh):
    layout = dl.TensorLayout((None, "model"), mesh)
    assert layout.backend_layout.spec == jax.sharding.PartitionSpec(None, "model")
    with pytest.raises(ValueError, match=r"\['data'\].*not axes of the mesh"):
        dl.TensorLayout(("data",), mesh)
    with pytest.raises(ValueError, match="no device mesh"):
        dl.TensorLayout(("model",)).backend_layout


def test_layout_map_lookup(mesh):
    layout_map = dl.LayoutMap(mesh)
    layout_map["dense.*kernel"] = (None, "model")
    layout_map["dense_1/bias"] = dl.TensorLayout(("model",))
    assert layout_map["dense_1/kernel"].axes == (None, "model")
    assert layout_map["my_model/dense_3/kernel"].device_mesh is mesh  # re.search: anywhere in the path
    assert layout_map["dense_1/bias"].axes == ("model",)
    assert layout_map["conv2d/kernel"] is None
    assert list(layout_map) == ["dense.*kernel", "dense_1/bias"] and len(layout_map) == 2
    layout_map["kernel"] = ("model", None)
    with pytest.raises(ValueError, match=r"'dense_1/kernel' matches several LayoutMap keys \['dense\.\*kernel', 'kernel'\]"):
        layout_map["dense_1/kernel"]
    with pytest.raises(ValueError, match="already set"):
        layout_map["kernel"] = (None, None)
    with pytest.raises(ValueError, match="not a valid regular expression"):
        layout_map["dense[("] = (None,)
    with pytest.raises(TypeError, match="TensorLayout or a tuple"):
        layout_map["x"] = "model"
    del layout_map["kernel"]
    assert layout_map["dense_1/kernel"].axes == (None, "model")


def test_data_parallel():
    dist = dl.DataParallel()
    assert dist.device_mesh.axis_names == ("batch",) and dist.device_mesh.shape == (jax.device_count(),)
    assert dist.batch_dim_name == "batch" and dist.num_model_replicas == jax.device_count()
    assert dist.get_data_layout((32, 5, 3)).axes == ("batch", None, None)
    assert dist.get_variable_layout(kgraph.Variable(np.zeros((3, 4), np.float32))).axes == (None, None)
    assert dl.DataParallel(devices=jax.devices()[:1]).device_mesh.shape == (1,)
    with pytest.raises(ValueError, match="not both"):
        dl.DataParallel(device_mesh=dist.device_mesh, devices=jax.devices())


def test_model_parallel_arguments(mesh):
    layout_map = dl.LayoutMap(mesh)
    layout_map["dense.*kernel"] = (None, "model")
    dist = dl.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
    assert dist.device_mesh is mesh and dist.batch_dim_name == "batch"
    legacy = dl.ModelParallel(mesh, layout_map, "batch")  # Keras 3.0's positional form
    assert legacy.layout_map is layout_map
    assert dl.ModelParallel(layout_map=layout_map, device_mesh=mesh).batch_dim_name == "batch"
    with pytest.raises(ValueError, match="needs a `layout_map`"):
        dl.ModelParallel()
    with pytest.raises(ValueError, match="'data' is not an axis"):
        dl.ModelParallel(layout_map=layout_map, batch_dim_name="data")
    with pytest.raises(ValueError, match="not the layout map's mesh"):
        dl.ModelParallel(layout_map=layout_map, device_mesh=dl.DeviceMesh((1,), ("batch",)))


def test_wrong_rank_names_the_weight(mesh):
    layout_map = dl.LayoutMap(mesh)
    layout_map["dense_1/bias"] = (None, "model")
    weight = kgraph.Variable(np.zeros(4, np.float32), name="bias")
    weight.path = "dense_1/bias"
    with pytest.raises(ValueError, match=r"weight 'dense_1/bias' has 2 axes, but the weight has rank 1 \(shape \(4,\)\)"):
        dl.ModelParallel(layout_map=layout_map).get_variable_layout(weight)


def test_current_distribution_and_scope():
    assert dl.distribution() is None
    outer, inner = dl.DataParallel(), dl.DataParallel()
    dl.set_distribution(outer)
    try:
        with inner.scope():
            assert dl.distribution() is inner
        assert dl.distribution() is outer
    finally:
        dl.set_distribution(None)
    with pytest.raises(TypeError, match="Distribution or None"):
        dl.set_distribution("data_parallel")


def test_shard_state_places_weights_and_warns_on_unmatched_keys(mesh):
    layout_map = dl.LayoutMap(mesh)
    layout_map["dense_1/kernel"] = (None, "model")
    layout_map["conv.*kernel"] = (None, None, None, "model")
    kernel = kgraph.Variable(np.ones((3, 4), np.float32), name="kernel")
    kernel.path = "dense_1/kernel"
    state = {"trainable": [kernel.value], "optimizer": {"iterations": np.int32(0), "slots": [np.zeros((3, 4), np.float32)]},
             "rng": np.zeros(2, np.uint32)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        placed = sharding.shard_state(state, {"trainable": [kernel]}, dl.ModelParallel(layout_map=layout_map))
    assert [str(w.message) for w in caught if "'conv.*kernel'" in str(w.message)], [str(w.message) for w in caught]
    assert placed["trainable"][0].sharding.spec == jax.sharding.PartitionSpec(None, "model")
    assert placed["optimizer"]["slots"][0].sharding.spec == jax.sharding.PartitionSpec(None, "model")
    assert placed["rng"].sharding.spec == jax.sharding.PartitionSpec()


def test_initialize_arguments(monkeypatch):
    assert multihost.coordinator_address("10.0.0.1:1234,10.0.0.2:2345", 2) == "10.0.0.1:1234"
    assert multihost.coordinator_address("10.0.0.1:1234", None) == "10.0.0.1:1234"
    with pytest.raises(ValueError, match=r"lists 2 jobs .* `num_processes` is 3"):
        multihost.coordinator_address("10.0.0.1:1234,10.0.0.2:2345", 3)
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "2")
    with pytest.raises(ValueError, match=r"`process_id` must be in \[0, 2\), got 2"):
        dl.initialize("localhost:1234")


def test_keras_distribution_namespace_matches_keras():
    """`keras.distribution` after `import kgraph as keras` names everything Keras' does, each a working object."""
    keras_distribution = pytest.importorskip("keras.distribution")
    public = sorted(name for name in dir(keras_distribution) if not name.startswith("_"))
    assert [name for name in public if not callable(getattr(kgraph.distribution, name, None))] == []


def test_guide_data_parallel_block_in_a_fresh_process():
    """The distribution guide's DataParallel block, run after nothing but `import kgraph as keras`."""
    code = (
        "import numpy as np\n"
        "import kgraph as keras\n"
        "devices = keras.distribution.list_devices()\n"
        "data_parallel = keras.distribution.DataParallel(devices=devices)\n"
        "keras.distribution.set_distribution(data_parallel)\n"
        "inputs = keras.Input(shape=(4,))\n"
        "model = keras.Model(inputs, keras.layers.Dense(2)(inputs))\n"
        "model.compile(loss='mse')\n"
        "history = model.fit(np.ones((8, 4)), np.zeros((8, 2)), batch_size=4, epochs=1, verbose=0)\n"
        "assert keras.distribution.distribution() is data_parallel\n"
        "print(type(data_parallel).__name__, data_parallel.device_mesh.shape, len(history.history['loss']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1:] == [f"DataParallel ({jax.device_count()},) 1"], out.stderr[-2000:]
