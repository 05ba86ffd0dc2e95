"""`kgraph.ops.nn` and `kgraph.ops.numpy` spell the ops as Keras' sub-namespaces do, bound to kgraph.ops' functions."""

import keras
import numpy as np
import pytest

import kgraph.ops as kops


@pytest.mark.parametrize("family", ["nn", "numpy", "image", "linalg"])
def test_family_names_are_kgraph_ops(family):
    module = getattr(kops, family)
    names = [n for n in dir(getattr(keras.ops, family)) if not n.startswith("_") and hasattr(module, n)]
    assert names
    for name in names:
        assert getattr(module, name) is getattr(kops, name, getattr(module, name)), name


def test_family_functions_run_as_keras():
    x = np.linspace(-2.0, 2.0, 12, dtype="float32").reshape(3, 4)
    np.testing.assert_allclose(kops.nn.sparse_plus(x), keras.ops.nn.sparse_plus(x), atol=1e-6)
    np.testing.assert_allclose(kops.numpy.vstack([x, x]), keras.ops.numpy.vstack([x, x]))
    np.testing.assert_allclose(kops.linalg.norm(x), keras.ops.linalg.norm(x), rtol=1e-6)
