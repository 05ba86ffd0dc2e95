"""kgraph.quantizers against keras.quantizers (JAX backend) on the same random arrays, eagerly and traced."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph import quantizers

rng = np.random.default_rng(7)
X = rng.normal(size=(6, 9)).astype("float32")
X3 = rng.normal(size=(2, 5, 8)).astype("float32")


def _np(x):
    return np.asarray(x)


@pytest.mark.parametrize("axis", [-1, 0, (0, 1)])
@pytest.mark.parametrize("to_numpy", [False, True])
def test_abs_max_quantize_matches_keras(axis, to_numpy):
    got_q, got_s = quantizers.abs_max_quantize(X3, axis, to_numpy=to_numpy)
    want_q, want_s = keras.quantizers.abs_max_quantize(X3, axis, to_numpy=to_numpy)
    assert str(_np(got_q).dtype) == "int8"
    np.testing.assert_array_equal(_np(got_q), _np(want_q))
    np.testing.assert_allclose(_np(got_s), _np(want_s), rtol=1e-6)


def test_abs_max_quantizer_call_config_and_int4_range():
    q = quantizers.AbsMaxQuantizer(axis=0, value_range=(-8, 7))
    k = keras.quantizers.AbsMaxQuantizer(axis=0, value_range=(-8, 7))
    for got, want in zip(q(X), k(X)):
        np.testing.assert_allclose(_np(got), _np(want), rtol=1e-6)
    assert q.get_config() == k.get_config()
    assert quantizers.AbsMaxQuantizer().get_config() == keras.quantizers.AbsMaxQuantizer().get_config()
    with pytest.raises(ValueError, match="value_range"):
        quantizers.AbsMaxQuantizer(value_range=(-200, 127))


def test_serialize_round_trips_with_keras():
    q = quantizers.AbsMaxQuantizer(axis=(0,), value_range=(-8, 7), epsilon=1e-5)
    config = quantizers.serialize(q)
    assert config == keras.quantizers.serialize(keras.quantizers.AbsMaxQuantizer(axis=(0,), value_range=(-8, 7),
                                                                                epsilon=1e-5))
    back = keras.quantizers.deserialize(config)
    assert back.get_config() == q.get_config()
    again = quantizers.deserialize(keras.quantizers.serialize(back))
    assert isinstance(again, quantizers.AbsMaxQuantizer) and again.get_config() == q.get_config()
    assert isinstance(quantizers.get("abs_max_quantizer"), quantizers.AbsMaxQuantizer)
    assert quantizers.get(None) is None
    with pytest.raises(ValueError, match="Could not interpret"):
        quantizers.get("no_such_quantizer")


def test_quantization_configs_round_trip_with_keras():
    config = quantizers.serialize(quantizers.Int8QuantizationConfig())
    assert config == keras.quantizers.serialize(keras.quantizers.Int8QuantizationConfig())
    back = quantizers.deserialize(keras.quantizers.serialize(keras.quantizers.Int4QuantizationConfig(block_size=64)))
    assert isinstance(back, quantizers.Int4QuantizationConfig) and back.block_size == 64 and back.mode == "int4"
    assert quantizers.serialize(quantizers.Float8QuantizationConfig())["config"] == {}


@pytest.mark.slow
@pytest.mark.parametrize("narrow_range,per_channel", [(False, False), (True, True)])
def test_fake_quant_with_min_max_vars_values_and_gradients_match_keras(narrow_range, per_channel):
    import jax

    x = (X * 2).astype("float32")
    lo = np.linspace(-1.5, -0.5, 9).astype("float32") if per_channel else np.float32(-1.2)
    hi = np.linspace(0.5, 1.5, 9).astype("float32") if per_channel else np.float32(1.1)
    axis = -1 if per_channel else None

    def ours(x, lo, hi):
        return kgraph.quantizers.fake_quant_with_min_max_vars(x, lo, hi, num_bits=5, narrow_range=narrow_range,
                                                               axis=axis)

    def theirs(x, lo, hi):
        return keras.quantizers.fake_quant_with_min_max_vars(x, lo, hi, num_bits=5, narrow_range=narrow_range,
                                                              axis=axis)

    np.testing.assert_allclose(_np(ours(x, lo, hi)), _np(theirs(x, lo, hi)), rtol=1e-6, atol=1e-6)
    weights = rng.normal(size=x.shape).astype("float32")
    got = jax.grad(lambda *a: (ours(*a) * weights).sum(), argnums=(0, 1, 2))(x, lo, hi)
    want = jax.grad(lambda *a: (theirs(*a) * weights).sum(), argnums=(0, 1, 2))(x, lo, hi)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-5, atol=1e-5)


def test_float8_scale_amax_history_and_quantize_and_dequantize_match_keras():
    amax = np.array([0.0, 3.0, np.inf, 448.0], "float32")
    scale = np.array([2.0, 0.5, 1.5, 1.0], "float32")
    np.testing.assert_allclose(_np(quantizers.compute_float8_scale(amax, scale, 448.0, margin=1)),
                               _np(keras.quantizers.compute_float8_scale(amax, scale, 448.0, margin=1)))
    history = np.arange(6, dtype="float32")
    np.testing.assert_allclose(_np(quantizers.compute_float8_amax_history(X, history)),
                               _np(keras.quantizers.compute_float8_amax_history(X, history)))
    for dtype in ("float8_e4m3fn", "float8_e5m2"):
        np.testing.assert_allclose(
            _np(quantizers.quantize_and_dequantize(X * 300, np.float32(0.5), dtype, "float32")),
            _np(keras.quantizers.quantize_and_dequantize(X * 300, np.float32(0.5), dtype, "float32")))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_pack_and_unpack_int4_match_keras(axis):
    values = rng.integers(-8, 8, size=(5, 7)).astype("int8")
    got, shape, n = quantizers.pack_int4(values, axis=axis)
    want, want_shape, want_n = keras.quantizers.pack_int4(values, axis=axis)
    np.testing.assert_array_equal(_np(got), _np(want))
    assert (shape, n) == (want_shape, want_n)
    np.testing.assert_array_equal(_np(quantizers.unpack_int4(got, n, axis=axis)), values)


@pytest.mark.parametrize("block_size", [3, 4])
@pytest.mark.parametrize("to_numpy", [False, True])
def test_grouped_quantize_with_zero_point_matches_keras(block_size, to_numpy):
    got = quantizers.abs_max_quantize_grouped_with_zero_point(X, block_size=block_size, to_numpy=to_numpy)
    want = keras.quantizers.abs_max_quantize_grouped_with_zero_point(X, block_size=block_size, to_numpy=to_numpy)
    for g, w in zip(got, want):
        assert _np(g).dtype == _np(w).dtype
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-6)


def test_abs_max_quantize_traces_into_a_model_and_exports():
    inputs = kgraph.Input((9,))
    q, scale = kgraph.quantizers.abs_max_quantize(inputs, -1)
    model = kgraph.Model(inputs, [q, scale])
    got_q, got_s = model.predict(X, verbose=0)
    want_q, want_s = keras.quantizers.abs_max_quantize(X, -1)
    np.testing.assert_array_equal(got_q, _np(want_q))
    np.testing.assert_allclose(got_s, _np(want_s), rtol=1e-6)
