"""The state of Muon, ScheduleFreeAdamW and an optimizer with `use_ema` crosses `.keras` files to Keras and back."""

import keras
import numpy as np
import pytest

import kgraph


@pytest.mark.parametrize("make", [
    lambda m: m.optimizers.Muon(0.01),
    lambda m: m.optimizers.ScheduleFreeAdamW(0.01),
    lambda m: m.optimizers.Adam(0.01, use_ema=True, ema_overwrite_frequency=3),
], ids=["muon", "schedule_free", "adam_ema"])
def test_state_crosses_to_keras_and_back(tmp_path, make):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")
    model = kgraph.Sequential([kgraph.Input((3,)), kgraph.layers.Dense(4), kgraph.layers.Dense(1)])
    model.compile(make(kgraph), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    trained = [np.asarray(v) for v in model.optimizer.variables]
    model.save(tmp_path / "ours.keras")
    theirs = keras.saving.load_model(tmp_path / "ours.keras")
    assert [tuple(v.shape) for v in theirs.optimizer.variables] == [a.shape for a in trained]
    for ref, mine in zip(theirs.optimizer.variables, trained):
        np.testing.assert_allclose(np.asarray(ref), mine)
    theirs.save(tmp_path / "theirs.keras")
    again = kgraph.saving.load_model(tmp_path / "theirs.keras")
    for value, mine in zip(again.optimizer.variables, trained):
        np.testing.assert_allclose(np.asarray(value), mine)
