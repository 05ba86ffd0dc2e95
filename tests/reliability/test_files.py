"""Corrupt, truncated and foreign files given to every reader kgraph has: a clear error naming the file."""

from __future__ import annotations

import numpy as np
import pytest

import kgraph
from kgraph.runtime.onnx import OnnxModel


def _tiny_model():
    inputs = kgraph.Input((3,))
    model = kgraph.Model(inputs, kgraph.layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.mark.parametrize("content", [b"", b"not an onnx file", bytes(range(256)) * 4])
def test_onnx_model_refuses_a_file_that_is_not_onnx(tmp_path, content):
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"model\.onnx' is not a valid ONNX model file \(expected a serialized"):
        OnnxModel(path)


def test_onnx_model_refuses_a_truncated_export(tmp_path):
    path = tmp_path / "model.onnx"
    _tiny_model().export(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="is not a valid ONNX model file"):
        OnnxModel(path)


def test_onnx_model_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.onnx' does not exist"):
        OnnxModel(tmp_path / "missing.onnx")


@pytest.mark.parametrize("content", [b"corrupted", b"PK\x03\x04" + b"\x00" * 40])
def test_backup_and_restore_names_an_unreadable_backup(tmp_path, content):
    backup = tmp_path / "backup"
    model = _tiny_model()
    x, y = np.ones((8, 3), "float32"), np.ones((8, 2), "float32")
    model.fit(x, y, epochs=1, verbose=0, callbacks=[kgraph.callbacks.BackupAndRestore(str(backup), delete_checkpoint=False)])
    assert (backup / "training_state.npz").exists()
    (backup / "training_state.npz").write_bytes(content)
    with pytest.raises(ValueError, match=r"BackupAndRestore cannot read the backup .*training_state\.npz.* `backup_dir`"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[kgraph.callbacks.BackupAndRestore(str(backup))])
