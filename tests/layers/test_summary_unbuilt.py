"""`summary()` shows "0 (unbuilt)" for a sublayer that was never built, as Keras 3 does."""

import contextlib
import io

import keras
import numpy as np

import kgraph


def _model(lib):
    class TwoHeads(lib.Model):
        def __init__(self):
            super().__init__(name="two_heads")
            self.used = lib.layers.Dense(3, name="used")
            self.spare = lib.layers.Dense(2, name="spare")

        def call(self, x):
            return self.used(x)

    model = TwoHeads()
    model(np.ones((1, 4), "float32"))
    return model


def test_unbuilt_sublayers_show_zero_unbuilt_params_like_keras():
    ours = io.StringIO()
    _model(kgraph).summary(print_fn=lambda line: ours.write(line + "\n"))
    theirs = io.StringIO()
    with contextlib.redirect_stdout(theirs):
        _model(keras).summary()
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in ours.getvalue().splitlines()
            if line.startswith("│")]
    expected = [[cell.strip() for cell in line.split("│")[1:-1]] for line in theirs.getvalue().splitlines()
                if line.startswith("│")]
    assert [r[0::2] for r in rows] == [r[0::2] for r in expected]
    assert ["spare (Dense)", "0 (unbuilt)"] in [r[0::2] for r in rows]
