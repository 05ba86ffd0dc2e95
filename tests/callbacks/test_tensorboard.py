"""TensorBoard event files, written without TensorFlow, read back with TensorBoard's own EventAccumulator."""

import os
import struct
import sys
import types

import numpy as np
import pytest

import kgraph
from kgraph.callbacks import tb_events

pytest.importorskip("tensorboard")
if "tensorflow" not in sys.modules:
    # TensorBoard's marker for "no TensorFlow here": its reader then uses its own stub rather than importing
    # TensorFlow (8 s); what is read here needs nothing more.
    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def accumulate(path):
    accumulator = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    return accumulator


def scalars(accumulator, tag):
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


def test_crc32c_and_record_framing():
    assert tb_events.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert tb_events.crc32c(b"") == 0
    record = tb_events.tfrecord(b"abc")
    assert struct.unpack("<Q", record[:8])[0] == 3 and record[12:15] == b"abc" and len(record) == 19


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("logs")
    kgraph.utils.set_random_seed(0)
    inputs = kgraph.Input(shape=(8,), name="features")
    x = kgraph.layers.Dense(16, activation="relu", name="hidden")(inputs)
    x = kgraph.layers.Dropout(0.2, name="drop")(x)
    outputs = kgraph.layers.Dense(3, activation="softmax", name="scores")(x)
    model = kgraph.Model(inputs, outputs)
    model.compile(optimizer=kgraph.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x_data, y_data = rng.random((100, 8)).astype("float32"), rng.integers(0, 3, 100)
    callback = kgraph.callbacks.TensorBoard(log_dir=str(log_dir), histogram_freq=2, update_freq=3)
    history = model.fit(x_data, y_data, batch_size=16, epochs=3, validation_split=0.2, verbose=0,
                        callbacks=[callback, kgraph.callbacks.LearningRateScheduler(lambda e, lr: 0.01 / (e + 1))])
    return log_dir, model, history.history


def test_epoch_scalars_go_to_train_and_validation(logged):
    log_dir, model, history = logged
    assert sorted(os.listdir(log_dir)) == ["train", "validation"]
    train, validation = accumulate(log_dir / "train"), accumulate(log_dir / "validation")
    for name in ("loss", "accuracy"):
        assert scalars(train, f"epoch_{name}") == [(i, pytest.approx(v)) for i, v in enumerate(history[name])]
        assert scalars(validation, f"epoch_{name}") == [(i, pytest.approx(v)) for i, v in enumerate(history[f"val_{name}"])]
    assert scalars(train, "epoch_learning_rate") == [(0, pytest.approx(0.01)), (1, pytest.approx(0.005)),
                                                     (2, pytest.approx(0.01 / 3))]
    # after each evaluation, at the optimizer's step: 5 batches per epoch
    assert [step for step, _ in scalars(validation, "evaluation_loss_vs_iterations")] == [5, 10, 15]
    assert "epoch_learning_rate" not in validation.Tags()["scalars"]


def test_batch_scalars_every_update_freq_batches(logged):
    log_dir, model, history = logged
    train = accumulate(log_dir / "train")
    steps = [step for step, _ in scalars(train, "batch_loss")]
    assert steps == [3, 6, 9, 12, 15]  # 15 batches in all, counted across epochs
    assert scalars(train, "batch_loss")[-1][1] == pytest.approx(history["loss"][-1])  # the epoch's running mean


def test_weight_histograms_every_histogram_freq_epochs(logged):
    log_dir, model, _ = logged
    train = accumulate(log_dir / "train")
    assert sorted(train.Tags()["histograms"]) == sorted(f"{w.path}/histogram" for w in model.weights)
    events = train.Histograms("hidden/kernel/histogram")
    assert [e.step for e in events] == [0, 2]
    final = events[-1].histogram_value
    kernel = model.get_layer("hidden").kernel.numpy()
    assert final.num == kernel.size
    assert final.min == pytest.approx(kernel.min()) and final.max == pytest.approx(kernel.max())
    assert final.sum == pytest.approx(kernel.sum(), rel=1e-5) and sum(final.bucket) == kernel.size


def test_graph_is_the_traced_ir(logged):
    log_dir, model, _ = logged
    graph = accumulate(log_dir / "train").Graph()
    nodes = {node.name: node for node in graph.node}
    assert nodes["features"].op == "Placeholder" and nodes["hidden/kernel"].op == "Variable"
    assert list(nodes["hidden/matmul"].input) == ["features", "hidden/kernel"]
    assert nodes["drop/dropout"].op == "dropout" and list(nodes["scores/softmax"].input) == ["scores/add"]
    assert list(nodes["output_0"].input) == ["scores/softmax"]
    assert nodes["scores/softmax"].attr["axis"].s == b"-1"


def test_torn_last_record_is_ignored(tmp_path):
    writer = tb_events.EventFileWriter(str(tmp_path))
    writer.add_scalar("epoch_loss", 1.5, 0)
    writer.add_scalar("epoch_loss", 0.5, 1)
    writer.close()
    with open(writer.path, "r+b") as f:  # a process killed mid-record
        f.truncate(os.path.getsize(writer.path) - 3)
    assert scalars(accumulate(tmp_path), "epoch_loss") == [(0, 1.5)]


def test_unsupported_options_are_refused(tmp_path):
    for kwargs in (dict(write_images=True), dict(profile_batch=2), dict(embeddings_freq=1), dict(update_freq=0),
                   dict(histogram_freq=-1)):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            kgraph.callbacks.TensorBoard(str(tmp_path), **kwargs)
