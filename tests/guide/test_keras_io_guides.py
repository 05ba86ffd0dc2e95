"""Code from the official Keras guides (keras.io/guides), run with `import kgraph as keras`.

Each test follows one guide's code with small random data: making new layers and models via subclassing,
understanding masking and padding, working with RNNs, the functional API, writing your own callbacks,
transfer learning, serialization and saving, and the sequential model. The guides' own checks are the
assertions.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import kgraph as keras

layers = keras.layers
ops = keras.ops


def test_subclass_linear(tmp_path):
    class Linear(keras.layers.Layer):
        def __init__(self, units=32, input_dim=32):
            super().__init__()
            self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)
        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b
    x = ops.ones((2, 2)); l = Linear(4, 2); y = l(x)
    assert l.weights == [l.w, l.b]; assert y.shape == (2, 4)


def test_compute_sum(tmp_path):
    class ComputeSum(keras.layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)
        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total
    x = ops.ones((2, 2)); s = ComputeSum(2); y = s(x); y = s(x)
    assert np.allclose(np.asarray(y), [4, 4]), y
    assert len(s.non_trainable_weights) == 1 and s.trainable_weights == []


def test_losses_reset(tmp_path):
    class ActivityRegularizationLayer(keras.layers.Layer):
        def __init__(self, rate=1e-2):
            super().__init__(); self.rate = rate
        def call(self, inputs):
            self.add_loss(self.rate * ops.mean(inputs)); return inputs
    class OuterLayer(keras.layers.Layer):
        def __init__(self):
            super().__init__(); self.activity_reg = ActivityRegularizationLayer(1e-2)
        def call(self, inputs):
            return self.activity_reg(inputs)
    layer = OuterLayer(); assert len(layer.losses) == 0
    _ = layer(ops.zeros((1, 1))); assert len(layer.losses) == 1
    _ = layer(ops.zeros((1, 1))); assert len(layer.losses) == 1
    class OuterK(keras.layers.Layer):
        def __init__(self):
            super().__init__(); self.dense = keras.layers.Dense(32, kernel_regularizer=keras.regularizers.l2(1e-3))
        def call(self, inputs): return self.dense(inputs)
    l = OuterK(); _ = l(ops.zeros((1, 1))); assert len(l.losses) == 1, l.losses
    inputs = keras.Input(shape=(3,)); outputs = ActivityRegularizationLayer()(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse"); model.fit(np.random.random((2, 3)), np.random.random((2, 3)), verbose=0)
    model.compile(optimizer="adam"); model.fit(np.random.random((2, 3)), np.random.random((2, 3)), verbose=0)


def test_metrics_in_layer(tmp_path):
    class LogisticEndpoint(keras.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        def call(self, targets, logits, sample_weights=None):
            loss = self.loss_fn(targets, logits, sample_weights)
            self.add_loss(loss)
            return ops.softmax(logits)
    inputs = keras.Input(shape=(3,), name="inputs"); targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam")
    data = {"inputs": np.random.random((3, 3)), "targets": np.random.random((3, 10))}
    model.fit(data, verbose=0)


def test_masking_guide(tmp_path):
    raw_inputs = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]
    padded = keras.utils.pad_sequences(raw_inputs, padding="post")
    assert padded.shape == (3, 6)
    embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
    masked_output = embedding(padded)
    m = masked_output._keras_mask
    assert m.shape == (3, 6)
    masking_layer = layers.Masking()
    unmasked_embedding = ops.cast(ops.tile(ops.expand_dims(padded, axis=-1), [1, 1, 10]), dtype="float32")
    masked_embedding = masking_layer(unmasked_embedding)
    assert masked_embedding._keras_mask.shape == (3, 6)
    model = keras.Sequential([layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True), layers.LSTM(32)])
    model(padded)
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
    outputs = layers.LSTM(32)(x)
    model = keras.Model(inputs, outputs)
    class MyLayer(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
            self.lstm = layers.LSTM(32)
        def call(self, inputs):
            x = self.embedding(inputs)
            mask = self.embedding.compute_mask(inputs)
            output = self.lstm(x, mask=mask)
            return output
    layer = MyLayer(); x = np.random.random((32, 10)) * 100; x = x.astype("int32"); layer(x)
    class TemporalSplit(keras.layers.Layer):
        def call(self, inputs): return ops.split(inputs, 2, axis=1)
        def compute_mask(self, inputs, mask=None):
            if mask is None: return None
            return ops.split(mask, 2, axis=1)
    first_half, second_half = TemporalSplit()(masked_embedding)
    assert first_half._keras_mask.shape == (3, 3)
    class CustomEmbedding(keras.layers.Layer):
        def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
            super().__init__(**kwargs)
            self.input_dim = input_dim; self.output_dim = output_dim; self.mask_zero = mask_zero
        def build(self, input_shape):
            self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim), initializer="random_normal", dtype="float32")
        def call(self, inputs):
            inputs = ops.cast(inputs, "int32"); return ops.take(self.embeddings, inputs, axis=0)
        def compute_mask(self, inputs, mask=None):
            if not self.mask_zero: return None
            return ops.not_equal(inputs, 0)
    layer = CustomEmbedding(10, 32, mask_zero=True)
    x = np.random.random((3, 10)) * 9; x = x.astype("int32")
    y = layer(x); mask = layer.compute_mask(x)
    assert y.shape == (3, 10, 32)
    np.testing.assert_array_equal(np.asarray(mask), x != 0)
    class MyActivation(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs); self.supports_masking = True
        def call(self, inputs): return ops.relu(inputs)
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
    x = MyActivation()(x)
    outputs = layers.LSTM(32)(x)
    model = keras.Model(inputs, outputs)
    y = model(np.random.randint(0, 5000, size=(32, 100)))
    class TemporalSoftmax(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs); self.supports_masking = True
        def call(self, inputs, mask=None):
            assert mask is not None
            broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
            inputs_exp = ops.exp(inputs) * broadcast_float_mask
            inputs_sum = ops.sum(inputs_exp * broadcast_float_mask, axis=-1, keepdims=True)
            return inputs_exp / inputs_sum
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=10, output_dim=32, mask_zero=True)(inputs)
    x = layers.Dense(1)(x)
    outputs = TemporalSoftmax()(x)
    model = keras.Model(inputs, outputs)
    y = model(np.random.randint(0, 10, size=(32, 100)))
    assert y.shape == (32, 100, 1)


def test_rnn_guide(tmp_path):
    model = keras.Sequential()
    model.add(layers.Input(shape=(None,)))
    model.add(layers.Embedding(input_dim=1000, output_dim=64))
    model.add(layers.LSTM(128)); model.add(layers.Dense(10))
    encoder_vocab = 1000; decoder_vocab = 2000
    encoder_input = layers.Input(shape=(None,))
    encoder_embedded = layers.Embedding(input_dim=encoder_vocab, output_dim=64)(encoder_input)
    output, state_h, state_c = layers.LSTM(64, return_state=True, name="encoder")(encoder_embedded)
    encoder_state = [state_h, state_c]
    decoder_input = layers.Input(shape=(None,))
    decoder_embedded = layers.Embedding(input_dim=decoder_vocab, output_dim=64)(decoder_input)
    decoder_output = layers.LSTM(64, name="decoder")(decoder_embedded, initial_state=encoder_state)
    output = layers.Dense(10)(decoder_output)
    model = keras.Model([encoder_input, decoder_input], output)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit([np.random.randint(0,1000,(8,5)), np.random.randint(0,2000,(8,6))], np.random.randint(0,10,(8,)), verbose=0)
    paragraph1 = np.random.random((20, 10, 50)).astype(np.float32)
    paragraph2 = np.random.random((20, 10, 50)).astype(np.float32)
    paragraph3 = np.random.random((20, 10, 50)).astype(np.float32)
    lstm_layer = layers.LSTM(64, stateful=True)
    output = lstm_layer(paragraph1); output = lstm_layer(paragraph2); output = lstm_layer(paragraph3)
    lstm_layer.reset_states()
    existing_state = lstm_layer.states
    new_lstm_layer = layers.LSTM(64)
    new_output = new_lstm_layer(paragraph3, initial_state=existing_state)
    assert new_output.shape == (20, 64)
    model = keras.Sequential()
    model.add(keras.Input(shape=(5, 10)))
    model.add(layers.Bidirectional(layers.LSTM(64, return_sequences=True)))
    model.add(layers.Bidirectional(layers.LSTM(32))); model.add(layers.Dense(10))


def test_functional_multi_io(tmp_path):
    num_tags = 12; num_words = 10000; num_departments = 4
    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")
    title_features = layers.Embedding(num_words, 64)(title_input)
    body_features = layers.Embedding(num_words, 64)(body_input)
    title_features = layers.LSTM(128)(title_features)
    body_features = layers.LSTM(32)(body_features)
    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, name="priority")(x)
    department_pred = layers.Dense(num_departments, name="department")(x)
    model = keras.Model(inputs=[title_input, body_input, tags_input], outputs={"priority": priority_pred, "department": department_pred})
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
        loss={"priority": keras.losses.BinaryCrossentropy(from_logits=True), "department": keras.losses.CategoricalCrossentropy(from_logits=True)},
        loss_weights={"priority": 1.0, "department": 0.2})
    title_data = np.random.randint(num_words, size=(64, 10)); body_data = np.random.randint(num_words, size=(64, 100))
    tags_data = np.random.randint(2, size=(64, num_tags)).astype("float32")
    priority_targets = np.random.random(size=(64, 1)); dept_targets = np.random.randint(2, size=(64, num_departments))
    model.fit({"title": title_data, "body": body_data, "tags": tags_data}, {"priority": priority_targets, "department": dept_targets}, epochs=1, batch_size=32, verbose=0)
    keras.utils.plot_model(model, os.path.join(tmp_path, "m.png"), show_shapes=True)


@pytest.mark.slow
def test_toy_resnet(tmp_path):
    inputs = keras.Input(shape=(16, 16, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_2_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x); x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs, outputs, name="toy_resnet")
    model.summary(print_fn=lambda *a, **k: None)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["acc"])
    model.fit(np.random.random((32, 16, 16, 3)).astype("float32"), keras.utils.to_categorical(np.random.randint(0,10,32),10), batch_size=16, epochs=1, validation_split=0.2, verbose=0)


def test_feature_extraction(tmp_path):
    vgg19 = keras.applications.VGG19(weights=None, include_top=False, input_shape=(64,64,3))
    features_list = [layer.output for layer in vgg19.layers]
    feat_extraction_model = keras.Model(inputs=vgg19.input, outputs=features_list)
    img = np.random.random((1, 64, 64, 3)).astype("float32")
    extracted_features = feat_extraction_model(img)
    assert len(extracted_features) == len(vgg19.layers)


def test_custom_layer_functional(tmp_path):
    class CustomDense(layers.Layer):
        def __init__(self, units=32):
            super().__init__(); self.units = units
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)
        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b
        def get_config(self):
            return {"units": self.units}
    inputs = keras.Input((4,)); outputs = CustomDense(10)(inputs)
    model = keras.Model(inputs, outputs)
    config = model.get_config()
    new_model = keras.Model.from_config(config, custom_objects={"CustomDense": CustomDense})
    assert new_model.layers[-1].units == 10


def test_mix_and_match(tmp_path):
    units = 32; timesteps = 10; input_dim = 5
    inputs = keras.Input((None, units)); x = layers.GlobalAveragePooling1D()(inputs)
    outputs = layers.Dense(1)(x); model = keras.Model(inputs, outputs)
    class CustomRNN(layers.Layer):
        def __init__(self):
            super().__init__()
            self.units = units
            self.projection_1 = layers.Dense(units=units, activation="tanh")
            self.projection_2 = layers.Dense(units=units, activation="tanh")
            self.classifier = model
        def call(self, inputs):
            outputs = []
            state = ops.zeros(shape=(inputs.shape[0], self.units))
            for t in range(inputs.shape[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = ops.stack(outputs, axis=1)
            return self.classifier(features)
    rnn_model = CustomRNN()
    _ = rnn_model(ops.zeros((1, timesteps, input_dim)))
    batch_size = 16
    inputs = keras.Input(batch_shape=(batch_size, timesteps, input_dim))
    x = layers.Conv1D(32, 3)(inputs)
    outputs = CustomRNN()(x)
    model = keras.Model(inputs, outputs)
    _ = model(ops.zeros((1, 10, 5)))


def test_callbacks_guide(tmp_path):
    class CustomCallback(keras.callbacks.Callback):
        def __init__(self): super().__init__(); self.seen=[]
        def on_train_begin(self, logs=None): self.seen.append(("train_begin", sorted((logs or {}).keys())))
        def on_epoch_end(self, epoch, logs=None): self.seen.append(("epoch_end", sorted(logs.keys())))
        def on_train_batch_end(self, batch, logs=None): self.seen.append(("batch_end", sorted(logs.keys())))
        def on_test_batch_end(self, batch, logs=None): self.seen.append(("test_batch_end", sorted(logs.keys())))
        def on_predict_batch_end(self, batch, logs=None): self.seen.append(("predict_batch_end", sorted(logs.keys())))
    model = keras.Sequential([keras.Input((784,)), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.1), loss="mean_squared_error", metrics=["mean_absolute_error"])
    x = np.random.random((256, 784)); y = np.random.random((256,))
    cb = CustomCallback()
    model.fit(x, y, batch_size=128, epochs=1, verbose=0, validation_split=0.5, callbacks=[cb])
    model.evaluate(x, y, batch_size=128, verbose=0, callbacks=[cb])
    model.predict(x, batch_size=128, callbacks=[cb], verbose=0)
    class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
        def __init__(self, patience=0):
            super().__init__(); self.patience = patience; self.best_weights = None
        def on_train_begin(self, logs=None):
            self.wait = 0; self.stopped_epoch = 0; self.best = np.inf
        def on_epoch_end(self, epoch, logs=None):
            current = logs.get("loss")
            if np.less(current, self.best):
                self.best = current; self.wait = 0; self.best_weights = self.model.get_weights()
            else:
                self.wait += 1
                if self.wait >= self.patience:
                    self.stopped_epoch = epoch; self.model.stop_training = True
                    self.model.set_weights(self.best_weights)
    class CustomLearningRateScheduler(keras.callbacks.Callback):
        def __init__(self, schedule):
            super().__init__(); self.schedule = schedule
        def on_epoch_begin(self, epoch, logs=None):
            if not hasattr(self.model.optimizer, "learning_rate"): raise ValueError('no lr')
            lr = self.model.optimizer.learning_rate
            scheduled_lr = self.schedule(epoch, lr)
            self.model.optimizer.learning_rate = scheduled_lr
    model.fit(x, y, batch_size=64, epochs=3, verbose=0, callbacks=[EarlyStoppingAtMinLoss(), CustomLearningRateScheduler(lambda e, lr: lr * 0.5)])


@pytest.mark.slow
def test_transfer_learning(tmp_path):
    layer = keras.layers.Dense(3); layer.build((None, 4))
    assert len(layer.weights) == 2 and len(layer.trainable_weights) == 2
    layer = keras.layers.BatchNormalization(); layer.build((None, 4))
    assert len(layer.non_trainable_weights) == 2
    layer = keras.layers.Dense(3); layer.build((None, 4)); layer.trainable = False
    assert len(layer.trainable_weights) == 0
    layer1 = keras.layers.Dense(3, activation="relu"); layer2 = keras.layers.Dense(3, activation="sigmoid")
    model = keras.Sequential([keras.Input(shape=(3,)), layer1, layer2])
    layer1.trainable = False
    initial_layer1_weights_values = layer1.get_weights()
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.random((2, 3)), np.random.random((2, 3)), verbose=0)
    final = layer1.get_weights()
    np.testing.assert_allclose(initial_layer1_weights_values[0], final[0])
    inner_model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(3, activation="relu")])
    model = keras.Sequential([keras.Input(shape=(3,)), inner_model, keras.layers.Dense(3, activation="sigmoid")])
    model.trainable = False
    assert inner_model.trainable == False and inner_model.layers[0].trainable == False
    base_model = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35,
                                                include_top=False)
    base_model.trainable = False
    inputs = keras.Input(shape=(32, 32, 3))
    data_augmentation = keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)])
    x = data_augmentation(inputs)
    scale_layer = keras.layers.Rescaling(scale=1 / 127.5, offset=-1)
    x = scale_layer(x)
    x = base_model(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=[keras.metrics.BinaryAccuracy()])
    xs = np.random.random((8, 32, 32, 3)).astype("float32")*255; ys = np.random.randint(0, 2, (8, 1))
    model.fit(xs, ys, epochs=1, verbose=0)
    base_model.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=[keras.metrics.BinaryAccuracy()])
    model.fit(xs, ys, epochs=1, verbose=0)


def test_serialization_guide(tmp_path):
    def get_model():
        inputs = keras.Input(shape=(32,)); outputs = keras.layers.Dense(1)(inputs)
        model = keras.Model(inputs, outputs); model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error"); return model
    model = get_model()
    test_input = np.random.random((128, 32)); test_target = np.random.random((128, 1))
    model.fit(test_input, test_target, verbose=0)
    p = os.path.join(tmp_path, "my_model.keras"); model.save(p)
    reconstructed_model = keras.models.load_model(p)
    np.testing.assert_allclose(model.predict(test_input, verbose=0), reconstructed_model.predict(test_input, verbose=0), rtol=1e-6)
    @keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x): return x**2
    @keras.saving.register_keras_serializable(package="MyLayers")
    class CustomLayer(keras.layers.Layer):
        def __init__(self, factor):
            super().__init__(); self.factor = factor
        def call(self, x): return x * self.factor
        def get_config(self): return {"factor": self.factor}
    @keras.saving.register_keras_serializable(package="my_package", name="MyDense")
    class MyDense(keras.layers.Layer):
        def __init__(self, units, *, kernel_regularizer=None, kernel_initializer=None, nested_model=None, **kwargs):
            super().__init__(**kwargs)
            self.hidden_units = units; self.kernel_regularizer = kernel_regularizer
            self.kernel_initializer = kernel_initializer; self.nested_model = nested_model
        def get_config(self):
            config = super().get_config()
            config.update({"units": self.hidden_units, "kernel_regularizer": self.kernel_regularizer,
                           "kernel_initializer": self.kernel_initializer, "nested_model": self.nested_model})
            return config
        def build(self, input_shape):
            input_units = input_shape[-1]
            self.kernel = self.add_weight(name="kernel", shape=(input_units, self.hidden_units), regularizer=self.kernel_regularizer, initializer=self.kernel_initializer)
        def call(self, inputs): return ops.matmul(inputs, self.kernel)
    layer = MyDense(units=16, kernel_regularizer="l1", kernel_initializer="ones")
    layer3 = MyDense(units=64, nested_model=keras.Sequential([keras.Input(shape=(4,)), layer]))
    layer3.build((None, 4))
    serialized = keras.saving.serialize_keras_object(layer3)
    deser = keras.saving.deserialize_keras_object(serialized)
    assert deser.hidden_units == 64 and deser.nested_model["config"]["layers"][1]["config"]["units"] == 16
    model = keras.Sequential([keras.Input(shape=(4,)), CustomLayer(2.0), keras.layers.Activation(custom_fn)])
    model.compile(optimizer="rmsprop", loss="mean_squared_error")
    p = os.path.join(tmp_path, "custom.keras"); model.save(p)
    m2 = keras.saving.load_model(p)
    np.testing.assert_allclose(model.predict(np.ones((2, 4)), verbose=0), m2.predict(np.ones((2, 4)), verbose=0))
    model.save_weights(os.path.join(tmp_path, "w.weights.h5")); m2.load_weights(os.path.join(tmp_path, "w.weights.h5"))
    config = model.get_config(); m3 = keras.Sequential.from_config(config)
    js = model.to_json(); m4 = keras.models.model_from_json(js)
    assert [type(layer) for layer in m3.layers] == [type(layer) for layer in m4.layers]
    assert [type(layer) for layer in m3.layers] == [CustomLayer, keras.layers.Activation]
    # transfer weights
    def create_layer():
        layer = keras.layers.Dense(64, activation="relu", name="dense_2"); layer.build((None, 784)); return layer
    layer_1 = create_layer(); layer_2 = create_layer(); layer_2.set_weights(layer_1.get_weights())
    class LayerWithCustomVariable(keras.layers.Dense):
        def __init__(self, units, **kwargs):
            super().__init__(units, **kwargs)
            self.my_variable = keras.Variable(np.random.random((units,)), name="my_variable", dtype="float32")
        def get_config(self):
            config = super().get_config(); config.pop("quantization_config", None); return config
        def call(self, inputs): return super().call(inputs) + self.my_variable
    inputs = keras.Input((784,), name="digits")
    x = LayerWithCustomVariable(64, activation="relu", name="dense_1")(inputs)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    assert len(model.layers[1].weights) == 3, [w.path for w in model.layers[1].weights]


def test_sequential_guide(tmp_path):
    model = keras.Sequential([layers.Dense(2, activation="relu", name="layer1"), layers.Dense(3, activation="relu", name="layer2"), layers.Dense(4, name="layer3")])
    x = ops.ones((3, 3)); y = model(x)
    model = keras.Sequential(); model.add(layers.Dense(2, activation="relu")); model.add(layers.Dense(3)); model.pop(); assert len(model.layers) == 1
    layer = layers.Dense(3); assert layer.weights == []
    x = ops.ones((1, 4)); y = layer(x); assert len(layer.weights) == 2 and y.shape == (1, 3)
    model = keras.Sequential([layers.Dense(2, activation="relu"), layers.Dense(3, activation="relu"), layers.Dense(4)])
    try:
        model.weights; raised=False
    except ValueError: raised=True
    assert not raised and model.weights == []
    x = ops.ones((1, 4)); model(x); assert len(model.weights) == 6
    model = keras.Sequential(); model.add(keras.Input(shape=(4,))); model.add(layers.Dense(2, activation="relu"))
    assert len(model.layers) == 1
    model = keras.Sequential(); model.add(keras.Input(shape=(250, 250, 3)))
    model.add(layers.Conv2D(32, 5, strides=2, activation="relu")); model.add(layers.Conv2D(32, 3, activation="relu")); model.add(layers.MaxPooling2D(3))
    model.add(layers.Conv2D(32, 3, activation="relu")); model.add(layers.Conv2D(32, 3, activation="relu")); model.add(layers.MaxPooling2D(3))
    model.add(layers.Conv2D(32, 3, activation="relu")); model.add(layers.Conv2D(32, 3, activation="relu")); model.add(layers.MaxPooling2D(2))
    model.add(layers.GlobalMaxPooling2D()); model.add(layers.Dense(10))
    initial_model = keras.Sequential([keras.Input(shape=(250, 250, 3)), layers.Conv2D(32, 5, strides=2, activation="relu"), layers.Conv2D(32, 3, activation="relu"), layers.Conv2D(32, 3, activation="relu")])
    feature_extractor = keras.Model(inputs=initial_model.inputs, outputs=[layer.output for layer in initial_model.layers])
    x = ops.ones((1, 250, 250, 3)); features = feature_extractor(x)
    feature_extractor = keras.Model(inputs=initial_model.inputs, outputs=initial_model.get_layer(name=initial_model.layers[1].name).output)
    features = feature_extractor(x)
    assert features.shape == (1, 121, 121, 32)
