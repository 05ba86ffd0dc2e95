"""`Model(...)` builds a Functional model only from tensors: a subclass taking two other objects stays itself."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import kgraph  # noqa: E402


def _vae_class(lib):
    class VAE(lib.Model):
        def __init__(self, encoder, decoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder = encoder
            self.decoder = decoder

        def call(self, inputs):
            return self.decoder(self.encoder(inputs))

    return VAE


def _parts(lib):
    x = lib.Input((6,))
    encoder = lib.Model(x, lib.layers.Dense(2, name="code")(x), name="encoder")
    z = lib.Input((2,))
    decoder = lib.Model(z, lib.layers.Dense(6, name="recon")(z), name="decoder")
    return encoder, decoder


@pytest.mark.parametrize("as_keywords", [False, True])
def test_subclass_taking_two_models_is_not_functional(as_keywords):
    encoder, decoder = _parts(kgraph)
    VAE = _vae_class(kgraph)
    vae = VAE(encoder=encoder, decoder=decoder) if as_keywords else VAE(encoder, decoder)
    assert type(vae) is VAE
    assert not isinstance(vae, kgraph.models.Functional)
    assert vae.encoder is encoder and vae.decoder is decoder


def test_subclassed_vae_matches_keras():
    kg_vae = _vae_class(kgraph)(*_parts(kgraph))
    ke_vae = _vae_class(keras)(*_parts(keras))
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    kg_vae(x)
    ke_vae(x)
    assert [w.shape for w in kg_vae.get_weights()] == [tuple(w.shape) for w in ke_vae.get_weights()]
    kg_vae.set_weights(ke_vae.get_weights())
    np.testing.assert_allclose(np.asarray(kg_vae(x)), np.asarray(ke_vae(x)), rtol=1e-5, atol=1e-6)


def test_subclass_called_with_tensors_is_functional():
    class Wrapped(kgraph.Model):
        def describe(self):
            return f"wrapped {self.name}"

    x = kgraph.Input((3,))
    model = Wrapped(x, kgraph.layers.Dense(2)(x), name="w")
    assert isinstance(model, Wrapped) and isinstance(model, kgraph.models.Functional)
    assert model.describe() == "wrapped w"
    assert model.predict(np.ones((2, 3), "float32"), verbose=0).shape == (2, 2)


@pytest.mark.parametrize("first", ["input_shape", "built_model"])
def test_sequential_is_built_at_once_from_its_first_layer(first):
    """As in Keras, `trainable_weights` are there before any call when the first layer fixes the input shape."""
    def make(lib):
        if first == "input_shape":
            head = lib.layers.Dense(4, input_shape=(3,))
        else:
            x = lib.Input((3,))
            head = lib.Model(x, lib.layers.Dense(4)(x))
        return lib.Sequential([head, lib.layers.Dense(2)])

    ours, theirs = make(kgraph), make(keras)
    assert ours.built and theirs.built
    assert [tuple(w.shape) for w in ours.trainable_weights] == [tuple(w.shape) for w in theirs.trainable_weights]
    assert len(ours.trainable_weights) == 4
