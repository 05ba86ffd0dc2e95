"""The guide's tf.data, PyDataset and torch DataLoader sections, block by block, on kgraph."""

import numpy as np
import pytest
import tensorflow as tf
import torch

import kgraph as keras
from tests.guide.conftest import get_compiled_model


class CountBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.per_epoch = []

    def on_epoch_begin(self, epoch, logs=None):
        self.per_epoch.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.per_epoch[-1] += 1


def test_tf_data_fit_evaluate(mnist_split):
    x_train, y_train, _, _, x_test, y_test = mnist_split
    model = get_compiled_model()
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(buffer_size=1024).batch(64)
    test_dataset = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(64)
    history = model.fit(train_dataset, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3 and history.history["loss"][2] < history.history["loss"][0]
    result = model.evaluate(test_dataset, verbose=0)
    logs = dict(zip(model.metrics_names, result))
    assert set(logs) == {"loss", "sparse_categorical_accuracy"} and logs["sparse_categorical_accuracy"] > 0.85
    arrays = model.evaluate(x_test, y_test, verbose=0)
    np.testing.assert_allclose(result, arrays, rtol=1e-5)


def test_tf_data_steps_per_epoch_runs_100_steps(mnist_split):
    x_train, y_train = mnist_split[:2]
    model = get_compiled_model()
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(buffer_size=1024).batch(64)
    counter = CountBatches()
    model.fit(train_dataset.repeat(), epochs=3, steps_per_epoch=30, verbose=0, callbacks=[counter])
    assert counter.per_epoch == [30, 30, 30]
    counter = CountBatches()
    model.fit(train_dataset, epochs=1, steps_per_epoch=50, verbose=0, callbacks=[counter])
    assert counter.per_epoch == [50]


def test_tf_data_validation_data_and_validation_steps(mnist_split):
    x_train, y_train, x_val, y_val = mnist_split[:4]
    model = get_compiled_model()
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(buffer_size=1024).batch(64)
    val_dataset = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(64)
    history = model.fit(train_dataset, epochs=1, validation_data=val_dataset, verbose=0)
    assert sorted(history.history) == ["loss", "sparse_categorical_accuracy", "val_loss", "val_sparse_categorical_accuracy"]
    history = model.fit(train_dataset, epochs=1, validation_data=val_dataset, validation_steps=10, verbose=0)
    first_ten = model.evaluate(x_val[:640], y_val[:640], return_dict=True, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(first_ten["loss"], rel=1e-5)
    assert model.evaluate(val_dataset, steps=10, return_dict=True, verbose=0)["loss"] == pytest.approx(first_ten["loss"], rel=1e-5)


class ExamplePyDataset(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x = x
        self.y = y
        self.batch_size = batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / float(self.batch_size)))

    def __getitem__(self, idx):
        batch_x = self.x[idx * self.batch_size : (idx + 1) * self.batch_size]
        batch_y = self.y[idx * self.batch_size : (idx + 1) * self.batch_size]
        return batch_x, batch_y


@pytest.mark.parametrize("workers", [1, 4])
def test_py_dataset_fit_evaluate(mnist_split, workers):
    x_train, y_train, x_val, y_val = mnist_split[:4]
    train_py_dataset = ExamplePyDataset(x_train, y_train, batch_size=32, workers=workers)
    val_py_dataset = ExamplePyDataset(x_val, y_val, batch_size=32, workers=workers)
    model = get_compiled_model()
    counter = CountBatches()
    history = model.fit(train_py_dataset, batch_size=64, validation_data=val_py_dataset, epochs=1, verbose=0,
                        callbacks=[counter])
    assert counter.per_epoch == [len(train_py_dataset)] == [188]
    result = model.evaluate(val_py_dataset, verbose=0)
    assert result[0] == pytest.approx(history.history["val_loss"][0], rel=1e-5)


def test_py_dataset_without_shuffle_equals_arrays(mnist_split):
    x_train, y_train = mnist_split[:2]
    a, b = get_compiled_model(), get_compiled_model()
    b.set_weights(a.get_weights())
    a.fit(ExamplePyDataset(x_train, y_train, batch_size=32), epochs=1, shuffle=False, verbose=0)
    b.fit(x_train, y_train, batch_size=32, epochs=1, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


class ExampleTorchDataset(torch.utils.data.Dataset):
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


def test_torch_dataloader_fit_evaluate_predict(mnist_split):
    x_train, y_train, x_val, y_val = mnist_split[:4]
    train_dataloader = torch.utils.data.DataLoader(ExampleTorchDataset(x_train, y_train), batch_size=32, shuffle=True)
    val_dataloader = torch.utils.data.DataLoader(ExampleTorchDataset(x_val, y_val), batch_size=32, shuffle=True)
    model = get_compiled_model()
    history = model.fit(train_dataloader, batch_size=64, validation_data=val_dataloader, epochs=1, verbose=0)
    assert history.history["val_sparse_categorical_accuracy"][0] > 0.8
    loss, acc = model.evaluate(val_dataloader, verbose=0)
    np.testing.assert_allclose([loss, acc], model.evaluate(x_val, y_val, verbose=0), rtol=1e-5)
    ordered = torch.utils.data.DataLoader(ExampleTorchDataset(x_val, y_val), batch_size=64)
    np.testing.assert_allclose(model.predict(ordered, verbose=0), model.predict(x_val, verbose=0), rtol=1e-5, atol=1e-6)


def test_generator_needs_and_respects_steps_per_epoch(mnist_split):
    x_train, y_train = mnist_split[:2]

    def batches():
        while True:
            for i in range(0, len(x_train), 64):
                yield x_train[i:i + 64], y_train[i:i + 64]

    model = get_compiled_model()
    counter = CountBatches()
    model.fit(batches(), steps_per_epoch=20, epochs=2, verbose=0, callbacks=[counter])
    assert counter.per_epoch == [20, 20]


def test_bad_sources_are_named(mnist_split):
    x_train, y_train = mnist_split[:2]
    model = get_compiled_model()
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(ExamplePyDataset(x_train, y_train, 32), validation_split=0.2, verbose=0)

    class Broken(ExamplePyDataset):
        def __getitem__(self, idx):
            if idx == 3:
                raise KeyError("bad index 3")
            return super().__getitem__(idx)

    with pytest.raises(KeyError, match="bad index 3"):
        model.fit(Broken(x_train, y_train, 32), epochs=1, verbose=0)

    def changing():
        yield x_train[:32], y_train[:32]
        yield x_train[:32, :700], y_train[:32]

    with pytest.raises(ValueError, match="batch 1"):
        model.fit(changing(), epochs=1, verbose=0)
