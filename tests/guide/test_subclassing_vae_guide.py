"""The end-to-end VAE of the guide "Making new layers and models via subclassing" (keras.io/guides), with
`import kgraph as keras`: its `Sampling` layer draws `(batch, dim)` noise with the batch read by `ops.shape`
inside `call`, the subclassed `VariationalAutoEncoder` adds its KL loss with `add_loss`, and the functional
variant adds it to the model. Trained on 6,000 real MNIST digits, as the guide trains on all of them."""

import numpy as np
import pytest

import kgraph as keras
from kgraph import layers, ops


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class Encoder(layers.Layer):
    """Maps MNIST digits to a triplet (z_mean, z_log_var, z)."""

    def __init__(self, latent_dim=32, intermediate_dim=64, name="encoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_mean = layers.Dense(latent_dim)
        self.dense_log_var = layers.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean = self.dense_mean(x)
        z_log_var = self.dense_log_var(x)
        z = self.sampling((z_mean, z_log_var))
        return z_mean, z_log_var, z


class Decoder(layers.Layer):
    """Converts z, the encoded digit vector, back into a readable digit."""

    def __init__(self, original_dim, intermediate_dim=64, name="decoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_output = layers.Dense(original_dim, activation="sigmoid")

    def call(self, inputs):
        x = self.dense_proj(inputs)
        return self.dense_output(x)


class VariationalAutoEncoder(keras.Model):
    """Combines the encoder and decoder into an end-to-end model for training."""

    def __init__(self, original_dim, intermediate_dim=64, latent_dim=32, name="autoencoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.original_dim = original_dim
        self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
        self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        reconstructed = self.decoder(z)
        kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
        self.add_loss(kl_loss)
        return reconstructed


def test_sampling_layer_draws_new_noise_per_call_of_the_batch_it_gets():
    sampling = Sampling()
    z_mean, z_log_var = np.zeros((5, 3), "float32"), np.zeros((5, 3), "float32")
    first, second = np.asarray(sampling((z_mean, z_log_var))), np.asarray(sampling((z_mean, z_log_var)))
    assert first.shape == (5, 3) and not np.allclose(first, second)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, Sampling()((inputs, inputs)))
    for batch in (4, 7):
        assert model.predict(np.zeros((batch, 3), "float32"), verbose=0).shape == (batch, 3)


@pytest.mark.slow
def test_subclassed_vae_trains_with_fit_and_its_kl_loss(mnist_split):
    x_train = mnist_split[0]
    original_dim = 784
    vae = VariationalAutoEncoder(original_dim, 64, 32)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    vae.compile(optimizer, loss=keras.losses.MeanSquaredError())
    history = vae.fit(x_train, x_train, epochs=2, batch_size=64, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 2 and losses[1] < losses[0], losses
    reconstructed = vae.predict(x_train[:10], verbose=0)
    assert reconstructed.shape == (10, 784) and 0.0 <= reconstructed.min() and reconstructed.max() <= 1.0
    vae(x_train[:10])
    assert len(vae.losses) == 1 and float(vae.losses[0]) >= 0.0  # the KL divergence of the last call
    assert len(vae.weights) == 10  # 5 Dense layers; the Sampling layer's seed state is no weight


@pytest.mark.slow
def test_functional_vae_trains_with_the_kl_loss_added_to_the_model(mnist_split):
    x_train = mnist_split[0]
    original_dim, intermediate_dim, latent_dim = 784, 64, 32
    original_inputs = keras.Input(shape=(original_dim,), name="encoder_input")
    x = layers.Dense(intermediate_dim, activation="relu")(original_inputs)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling()((z_mean, z_log_var))
    encoder = keras.Model(inputs=original_inputs, outputs=z, name="encoder")
    latent_inputs = keras.Input(shape=(latent_dim,), name="z_sampling")
    x = layers.Dense(intermediate_dim, activation="relu")(latent_inputs)
    outputs = layers.Dense(original_dim, activation="sigmoid")(x)
    decoder = keras.Model(inputs=latent_inputs, outputs=outputs, name="decoder")
    outputs = decoder(z)
    vae = keras.Model(inputs=original_inputs, outputs=outputs, name="vae")
    kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
    vae.add_loss(kl_loss)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    vae.compile(optimizer, loss=keras.losses.MeanSquaredError())
    history = vae.fit(x_train, x_train, epochs=3, batch_size=64, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 3 and losses[2] < losses[0], losses
    assert encoder.predict(x_train[:6], verbose=0).shape == (6, latent_dim)
