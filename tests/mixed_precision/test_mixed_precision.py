"""Mixed precision against Keras 3 (JAX backend): dtype policies, layer dtypes, the IR's casts, training on
identical weights and batches, dynamic loss scaling, and `.keras` files crossing both ways."""

import keras
import numpy as np
import onnx
import onnxruntime as ort
import pytest

import kgraph
from kgraph.program import input_specs_from_model, trace_model

POLICIES = ["float32", "mixed_float16", "mixed_bfloat16"]


def mlp(lib, policy):
    inputs = lib.Input((12,))
    x = lib.layers.Dense(16, activation="relu", dtype=policy)(inputs)
    x = lib.layers.Dense(4, dtype=policy)(x)
    outputs = lib.layers.Activation("softmax", dtype="float32")(x)
    return lib.Model(inputs, outputs)


def convnet(lib, policy):
    inputs = lib.Input((8, 8, 2))
    x = lib.layers.Conv2D(4, 3, activation="relu", dtype=policy)(inputs)
    x = lib.layers.BatchNormalization(dtype=policy)(x)
    x = lib.layers.MaxPooling2D(dtype=policy)(x)
    x = lib.layers.Flatten(dtype=policy)(x)
    x = lib.layers.Dense(3, dtype=policy)(x)
    outputs = lib.layers.Activation("softmax", dtype="float32")(x)
    return lib.Model(inputs, outputs)


def data(build):
    rng = np.random.default_rng(0)
    shape = (32, 12) if build is mlp else (32, 8, 8, 2)
    classes = 4 if build is mlp else 3
    return rng.standard_normal(shape).astype("float32"), rng.integers(0, classes, 32)


def pair(build, policy):
    theirs, ours = build(keras, policy), build(kgraph, policy)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def train(model, lib, x, y, epochs=3, optimizer=None):
    model.compile(optimizer or lib.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0).history["loss"]


def test_policy_objects_match_keras():
    for name in POLICIES + ["float16", "bfloat16"]:
        ours, theirs = kgraph.dtype_policies.get(name), keras.dtype_policies.get(name)
        assert (ours.name, ours.compute_dtype, ours.variable_dtype) == \
            (theirs.name, theirs.compute_dtype, theirs.variable_dtype)
        assert kgraph.dtype_policies.serialize(ours) == keras.dtype_policies.serialize(theirs)
        assert repr(ours) == repr(theirs)
        assert kgraph.dtype_policies.get(keras.dtype_policies.serialize(theirs)) == ours
    assert kgraph.mixed_precision.Policy is kgraph.DTypePolicy is kgraph.dtype_policies.DTypePolicy
    assert kgraph.FloatDTypePolicy("float16") == kgraph.DTypePolicy("float16")
    with pytest.raises(ValueError, match="mixed_float16"):
        kgraph.DTypePolicy("mixed_float8")
    with pytest.raises(ValueError, match="policy"):
        kgraph.config.set_dtype_policy(3)


def test_global_policy_sets_new_layers_like_keras():
    for lib in (kgraph, keras):
        lib.mixed_precision.set_global_policy("mixed_bfloat16")
    assert kgraph.mixed_precision.global_policy() == kgraph.config.dtype_policy() == kgraph.DTypePolicy("mixed_bfloat16")
    ours, theirs = kgraph.layers.Dense(2), keras.layers.Dense(2)
    assert ours.dtype_policy.name == theirs.dtype_policy.name == "mixed_bfloat16"
    assert kgraph.layers.Dense(2, dtype="float32").dtype_policy.name == "float32"


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("form", ["name", "policy", "config"])
def test_layer_dtypes_and_config_match_keras(policy, form):
    def spec(lib):
        if form == "name":
            return policy
        made = lib.dtype_policies.get(policy)
        return made if form == "policy" else lib.dtype_policies.serialize(made)

    ours, theirs = kgraph.layers.Dense(3, dtype=spec(kgraph)), keras.layers.Dense(3, dtype=spec(keras))
    x = np.ones((2, 4), "float32")
    out_ours, out_theirs = ours(x), theirs(x)
    for attr in ("dtype", "compute_dtype", "variable_dtype"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert str(ours.kernel.dtype) == str(theirs.kernel.dtype) == ours.variable_dtype
    assert str(out_ours.dtype) == str(out_theirs.dtype) == ours.compute_dtype
    assert ours.get_config()["dtype"] == theirs.get_config()["dtype"]
    assert str(ours(kgraph.Input((4,))).dtype) == str(theirs(keras.Input((4,))).dtype)


@pytest.mark.parametrize("policy,half", [("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")])
def test_the_traced_graph_computes_in_half_precision(policy, half):
    """Parameters stay float32; casts feed the matmuls in half precision; the float32 softmax casts back."""
    model = mlp(kgraph, policy)
    graph = trace_model(model, input_specs_from_model(model), training=False).graph
    assert {p.type.dtype for p in graph.params} == {"float32"}
    casts = [n for n in graph.nodes if n.op == "cast"]
    assert {n.attrs["dtype"] for n in casts} == {half, "float32"}
    matmuls = [n for n in graph.nodes if n.op == "matmul"]
    assert matmuls and all(n.outputs[0].type.dtype == half for n in matmuls)
    assert graph.outputs[0].type.dtype == "float32"


def test_float32_and_mixed_training_reach_close_losses():
    x, y = data(mlp)
    reference = mlp(kgraph, "float32")
    weights = reference.get_weights()
    losses = {"float32": train(reference, kgraph, x, y)}
    for policy in POLICIES[1:]:
        model = mlp(kgraph, policy)
        model.set_weights(weights)
        losses[policy] = train(model, kgraph, x, y)
    np.testing.assert_allclose(losses["mixed_float16"], losses["float32"], rtol=5e-3)
    np.testing.assert_allclose(losses["mixed_bfloat16"], losses["float32"], rtol=3e-2)


@pytest.mark.parametrize("build", [mlp, pytest.param(convnet, marks=pytest.mark.slow)], ids=["mlp", "convnet"])
@pytest.mark.parametrize("policy", POLICIES[1:])
def test_training_matches_keras(build, policy):
    """Same weights, batches and casts: on CPU the losses agree exactly; the tolerance leaves a few ulps of
    the compute dtype (float16 eps 2**-11, bfloat16 eps 2**-8) should XLA fuse the two programs differently."""
    x, y = data(build)
    ours, theirs = pair(build, policy)
    ours_loss, theirs_loss = train(ours, kgraph, x, y), train(theirs, keras, x, y)
    rtol = 2e-3 if policy == "mixed_float16" else 1.6e-2
    np.testing.assert_allclose(ours_loss, theirs_loss, rtol=rtol)
    ours_pred, theirs_pred = ours.predict(x, verbose=0), theirs.predict(x, verbose=0)
    assert ours_pred.dtype == theirs_pred.dtype == np.float32
    np.testing.assert_allclose(ours_pred, theirs_pred, rtol=rtol, atol=rtol)
    inner = [lib.Model(m.inputs, m.layers[-2].output) for lib, m in ((kgraph, ours), (keras, theirs))]
    assert inner[0].predict(x, verbose=0).dtype == inner[1].predict(x, verbose=0).dtype


def global_mixed_float16_mlp(lib):
    """An MLP built under the global "mixed_float16" policy (so its compile wraps the optimizer)."""
    lib.mixed_precision.set_global_policy("mixed_float16")
    return mlp(lib, None)


def test_loss_scaling_matches_keras():
    """Eight batches, the fifth with an inf target: two doublings (after steps 2 and 4, growth every 2 steps),
    the fifth step skipped with the scale halved, a doubling after steps 6-7, one finite step counted since."""
    x, y = data(mlp)
    y = np.eye(4, dtype="float32")[y]
    y[17, 0] = np.inf
    ours, theirs = pair(lambda lib, policy: global_mixed_float16_mlp(lib), None)
    results = []
    for lib, model in ((kgraph, ours), (keras, theirs)):
        model.compile(lib.optimizers.LossScaleOptimizer(lib.optimizers.SGD(0.1), initial_scale=2.0 ** 10,
                                                        dynamic_growth_steps=2), "mse")
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        opt = model.optimizer
        results.append((float(np.asarray(opt.dynamic_scale)), int(np.asarray(opt.step_counter)),
                        int(np.asarray(opt.iterations))))
    assert results[0] == results[1]
    assert results[0] == (2.0 ** 12, 1, 7)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=1e-5)


def test_compile_wraps_only_under_mixed_float16_like_keras():
    for policy in POLICIES:
        for lib in (kgraph, keras):
            lib.config.set_dtype_policy(policy)
        kinds = []
        for lib in (kgraph, keras):
            model = mlp(lib, None)
            model.compile("sgd", "mse")
            wrapped = type(model.optimizer).__name__ == "LossScaleOptimizer"
            kinds.append((type(model.optimizer).__name__, model.optimizer.name if wrapped else None))
        assert kinds[0] == kinds[1], policy
        assert (kinds[0][0] == "LossScaleOptimizer") == (policy == "mixed_float16")
    model = mlp(kgraph, None)
    model.compile("sgd", "mse", auto_scale_loss=False)
    assert type(model.optimizer).__name__ == "SGD"


def test_loss_scale_optimizer_config_crosses_to_keras():
    ours = kgraph.optimizers.LossScaleOptimizer(kgraph.optimizers.Adam(0.01), dynamic_growth_steps=10)
    theirs = keras.optimizers.LossScaleOptimizer.from_config(ours.get_config())
    assert theirs.get_config()["dynamic_growth_steps"] == 10
    assert type(theirs.inner_optimizer).__name__ == "Adam" and float(np.asarray(theirs.learning_rate)) == pytest.approx(0.01)
    back = kgraph.optimizers.deserialize(keras.optimizers.serialize(theirs))
    assert type(back.inner_optimizer).__name__ == "Adam" and back.learning_rate == pytest.approx(0.01)
    assert {**back.get_config(), "inner_optimizer": None} == {**ours.get_config(), "inner_optimizer": None}
    with pytest.raises(ValueError, match="clipnorm"):
        kgraph.optimizers.LossScaleOptimizer(kgraph.optimizers.SGD(), clipnorm=1.0)


@pytest.mark.parametrize("policy", POLICIES[1:])
def test_keras_files_cross_both_ways(policy, tmp_path):
    x, y = data(mlp)
    ours, theirs = pair(mlp, policy)
    theirs.save(tmp_path / "theirs.keras")
    ours.save(tmp_path / "ours.keras")
    loaded_ours = kgraph.saving.load_model(tmp_path / "theirs.keras")
    loaded_theirs = keras.saving.load_model(tmp_path / "ours.keras")
    for model in (loaded_ours, loaded_theirs):
        assert [l.dtype_policy.name for l in model.layers[1:]] == [policy, policy, "float32"]
        assert [str(w.dtype) for w in model.weights] == ["float32"] * 4
    expected = theirs.predict(x, verbose=0)
    np.testing.assert_allclose(loaded_ours.predict(x, verbose=0), expected, rtol=1e-6)
    np.testing.assert_allclose(loaded_theirs.predict(x, verbose=0), expected, rtol=1e-6)


def _initializer_types(path) -> set[str]:
    proto = onnx.load(str(path))
    return {onnx.TensorProto.DataType.Name(t.data_type) for t in proto.graph.initializer if t.data_type != 7}


@pytest.mark.parametrize("policy", POLICIES[1:])
def test_onnx_export_of_a_mixed_model_is_float32_unless_float16_is_asked(policy, tmp_path):
    """ONNX Runtime has no bfloat16 convolution and few float16 kernels on CPU, so the default export widens
    the half-precision layers to float32; `dtype="float16"` keeps a half-precision graph with float16 weights."""
    x, _ = data(convnet)
    model = convnet(kgraph, policy)
    model.export(tmp_path / "f32.onnx", verify=True)
    assert _initializer_types(tmp_path / "f32.onnx") == {"FLOAT"}
    session = ort.InferenceSession(str(tmp_path / "f32.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=2e-2)

    model.export(tmp_path / "f16.onnx", verify=True, dtype="float16", rtol=1e-2, atol=1e-2)
    assert "FLOAT16" in _initializer_types(tmp_path / "f16.onnx")
    outputs = onnx.load(str(tmp_path / "f16.onnx")).graph.output
    assert outputs[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT16
    with pytest.raises(ValueError, match="dtype"):
        model.export(tmp_path / "bf16.onnx", dtype="bfloat16")


def test_trained_loss_scaled_models_cross_with_their_optimizer_state(tmp_path):
    """Keras saves the optimizer given to compile (not the wrapper compile made) and both the wrapper's
    variables and the inner optimizer's; loading under "mixed_float16" wraps again and restores them all."""
    x, y = data(mlp)
    saved = {}
    for lib in (keras, kgraph):
        lib.config.set_dtype_policy("mixed_float16")
        model = mlp(lib, None)
        model.compile(lib.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        assert model.get_compile_config()["optimizer"]["class_name"] == "Adam"
        model.save(tmp_path / f"{lib.__name__}.keras")
        saved[lib.__name__] = [np.asarray(v) for v in model.optimizer.variables]
    for source, target in (("keras", kgraph), ("kgraph", keras)):
        loaded = target.saving.load_model(tmp_path / f"{source}.keras")
        assert type(loaded.optimizer).__name__ == "LossScaleOptimizer"
        restored = [np.asarray(v) for v in loaded.optimizer.variables]
        assert len(restored) == len(saved[source]) == 14
        for a, b in zip(restored, saved[source]):
            np.testing.assert_array_equal(a, b)


def test_ops_between_layers_keep_their_inputs_dtypes_like_keras():
    """Ops applied to KerasTensors are Keras operations, not layers: under a mixed policy they do not autocast,
    and neither does a Functional model at its inputs."""
    dtypes = []
    for lib in (keras, kgraph):
        lib.config.set_dtype_policy("mixed_float16")
        inputs = lib.Input((3,))
        shifted = inputs + 1.0
        doubled = lib.layers.Dense(2)(shifted) * 2.0
        model = lib.Model(inputs, [shifted, doubled])
        outputs = model.predict(np.ones((2, 3), "float32"), verbose=0)
        dtypes.append((str(shifted.dtype), str(doubled.dtype), *(str(o.dtype) for o in outputs)))
    assert dtypes[0] == dtypes[1] == ("float32", "float16", "float32", "float16")
