"""TensorBoard: writes losses, metrics, the learning rate, weight histograms and the model's graph for TensorBoard."""

from __future__ import annotations

import os
import time

import numpy as np

from kgraph.callbacks import tb_events
from kgraph.callbacks.batch_hooks import keep_fused
from kgraph.callbacks.callback import Callback


class TensorBoard(Callback):
    """Logs training to event files that `tensorboard --logdir=log_dir` shows; no TensorFlow is needed.

    Training values go to `log_dir/train`, validation values to `log_dir/validation`, as in Keras:
    `epoch_<name>` at each epoch end (step = epoch, the learning rate as `epoch_learning_rate`),
    `batch_<name>` every `update_freq` batches (step = batches seen), and
    `evaluation_<name>_vs_iterations` after each evaluation (step = optimizer iterations).

    Args:
        log_dir: Directory of the event files.
        histogram_freq: Every how many epochs to log a histogram of each weight (0: never).
        write_graph: Log the model's traced IR graph (the training graph; nodes are named
            `<layer>/<op>`, so TensorBoard groups them by layer).
        write_images: Not supported (weights are logged as histograms); must be False.
        write_steps_per_second: Also log the training steps per second.
        update_freq: "epoch", "batch" (every batch) or an integer N (every N batches). Anything but
            "epoch" makes fit report single batches to callbacks rather than fusing them.
        profile_batch: Not supported (use `jax.profiler`); must be 0.
        embeddings_freq: Not supported; must be 0.
        embeddings_metadata: Ignored (embeddings are not logged).
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        if not isinstance(histogram_freq, int) or isinstance(histogram_freq, bool) or histogram_freq < 0:
            raise ValueError(f"`histogram_freq` must be a non-negative integer. Received: histogram_freq={histogram_freq!r}")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (not isinstance(update_freq, int) or isinstance(update_freq, bool)
                                       or update_freq < 1):
            raise ValueError(f"`update_freq` must be 'epoch', 'batch' or a positive integer. "
                             f"Received: update_freq={update_freq!r}")
        for name, value, default in (("write_images", write_images, False), ("profile_batch", profile_batch, 0),
                                     ("embeddings_freq", embeddings_freq, 0)):
            if value != default:
                raise ValueError(f"kgraph's TensorBoard callback does not support `{name}`; it must stay {default!r}. "
                                 f"Received: {name}={value!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers: dict[str, tb_events.EventFileWriter] = {}
        self._global_train_batch = 0
        self._last_batch_written = 0
        self._epoch_batches = 0
        self._last_batch_seen = -1
        self._graph_written = False
        if update_freq == "epoch":
            keep_fused(self, TensorBoard)

    # --- writers ---------------------------------------------------------------------------------------
    def _writer(self, name: str) -> tb_events.EventFileWriter:
        writer = self._writers.get(name)
        if writer is None or writer.closed:
            writer = self._writers[name] = tb_events.EventFileWriter(os.path.join(self.log_dir, name))
        return writer

    def set_model(self, model) -> None:
        super().set_model(model)
        self._close_writers()
        self._writers = {}
        self._graph_written = False

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()

    # --- hooks ----------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._last_batch_written = 0
        self._last_batch_seen = -1
        if self.write_graph and not self._graph_written:
            graph = training_graph(self.model)
            if graph is not None:
                self._writer("train").add_graph(ir_graph_def(graph))
                self._writer("train").flush()
            self._graph_written = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start_time = time.time()
        self._epoch_start_iterations = self._iterations()

    def on_train_batch_begin(self, batch, logs=None):
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the last of the batches fit just ran (several with steps_per_execution)
        added = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._last_batch_seen = batch
        self._global_train_batch += added
        if self._global_train_batch - self._last_batch_written < self.update_freq:
            return
        self._last_batch_written = self._global_train_batch
        writer = self._writer("train")
        for name, value in (logs or {}).items():
            writer.add_scalar(f"batch_{name}", float(np.asarray(value)), self._global_train_batch)
        if self.write_steps_per_second:
            seconds = max(time.time() - self._batch_start_time, 1e-9)
            writer.add_scalar("batch_steps_per_second", added / seconds, self._global_train_batch)

    def on_epoch_end(self, epoch, logs=None):
        self._last_batch_seen = -1
        logs = logs or {}
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train_logs["learning_rate"] = float(optimizer.learning_rate)
        if self.write_steps_per_second:
            seconds = max(time.time() - self._epoch_start_time, 1e-9)
            train_logs["steps_per_second"] = (self._iterations() - self._epoch_start_iterations) / seconds
        writer = self._writer("train")
        for name, value in train_logs.items():
            writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if val_logs:
            val_writer = self._writer("validation")
            for name, value in val_logs.items():
                val_writer.add_scalar(f"epoch_{name}", float(value), epoch)
            val_writer.flush()
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for weight in self.model.weights:
                writer.add_histogram(f"{weight.path.replace(':', '_')}/histogram", np.asarray(weight.numpy()), epoch)
        writer.flush()

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not logs:
            return
        writer = self._writer("validation")
        for name, value in logs.items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), self._iterations())
        writer.flush()

    def on_train_end(self, logs=None):
        self._close_writers()

    def _iterations(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        return int(optimizer.iterations) if optimizer is not None else 0


# --- the graph ------------------------------------------------------------------------------------------------
def training_graph(model):
    """The IR graph `fit` traced for training (None if the model has not been traced)."""
    for key, program in getattr(model, "_programs", {}).items():
        if isinstance(key, tuple) and key and key[0] is True:
            return program.graph
    return None


def ir_graph_def(graph) -> bytes:
    """The IR graph as a serialized `GraphDef`: inputs (Placeholder), parameters (Variable), one node per IR
    node (named `<layer>/<op>`, op = the IR op, its attributes as strings) and an Identity per output."""
    nodes, names, taken = [], {}, set()

    def unique(name: str) -> str:
        candidate, i = name, 0
        while candidate in taken:
            i += 1
            candidate = f"{name}_{i}"
        taken.add(candidate)
        return candidate

    def source(value) -> str:
        if id(value) not in names:  # a value no node produces (a constant): give it a node of its own
            names[id(value)] = unique(value.name or "const")
            nodes.append(tb_events.node_def(names[id(value)], "Const", attrs={"type": value.type}))
        return names[id(value)]

    for value in graph.inputs + ([graph.rng] if graph.rng is not None else []):
        names[id(value)] = unique(value.name or "input")
        nodes.append(tb_events.node_def(names[id(value)], "Placeholder", attrs={"type": value.type}))
    for value in graph.params:
        names[id(value)] = unique(value.name)
        nodes.append(tb_events.node_def(names[id(value)], "Variable", attrs={"type": value.type}))
    for node in graph.nodes:
        name = unique(f"{node.name}/{node.op}" if node.name else node.op)
        for i, out in enumerate(node.outputs):
            names[id(out)] = name if i == 0 else f"{name}:{i}"
        attrs = {key: value for key, value in node.attrs.items()}
        if node.outputs:
            attrs["type"] = node.outputs[0].type
        inputs = [source(v) for v in node.inputs]
        nodes.append(tb_events.node_def(name, node.op, inputs, attrs))
    for i, value in enumerate(graph.outputs):
        nodes.append(tb_events.node_def(unique(f"output_{i}"), "Identity", [source(value)]))
    return tb_events.graph_def(nodes)
