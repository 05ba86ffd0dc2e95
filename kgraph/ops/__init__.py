"""`kgraph.ops`: NumPy-shaped tensor ops that record IR on symbolic tensors and run eagerly on arrays."""

from kgraph.ops.nn import (
    erf, gelu, log_softmax, one_hot, relu, relu6, sigmoid, silu, softmax, softplus, softsign, swish,
)
from kgraph.ops.numpy import (
    abs, absolute, add, amax, amin, argmax, argmin, cast, ceil, clip, concatenate, convert_to_numpy,
    convert_to_tensor, cos, divide, divide_no_nan, dot, equal, exp, expand_dims, expm1, floor, floor_divide,
    full_like, greater, greater_equal, less, less_equal, log, log1p, logical_and, logical_not, logical_or,
    logsumexp, matmul, max, maximum, mean, min, minimum, mod, multiply, ndim, negative, not_equal,
    ones_like, power, prod, reciprocal, reshape, round, rsqrt, sign, sin, size, sqrt, square,
    squeeze, std, stop_gradient, subtract, sum, tanh, transpose, true_divide, var, where, zeros_like,
)
from kgraph.ops.numpy import traced_shape as shape  # noqa: E402
from kgraph.ops.array import *  # noqa: F401,F403,E402
from kgraph.ops.attention import *  # noqa: F401,F403,E402
from kgraph.ops.control_flow import *  # noqa: F401,F403,E402
from kgraph.ops.convolution import *  # noqa: F401,F403,E402
from kgraph.ops.image import *  # noqa: F401,F403,E402
from kgraph.ops.normalization import *  # noqa: F401,F403,E402
from kgraph.ops.recurrent import *  # noqa: F401,F403,E402
from kgraph.ops.creation import *  # noqa: F401,F403,E402
from kgraph.ops.numpy_extra import *  # noqa: F401,F403,E402
from kgraph.ops.nn_extra import *  # noqa: F401,F403,E402
from kgraph.ops.math_extra import *  # noqa: F401,F403,E402
from kgraph.ops.core_extra import *  # noqa: F401,F403,E402
from kgraph.ops.linalg import *  # noqa: F401,F403,E402
from kgraph.ops import linalg  # noqa: F401,E402

from kgraph import operators as _operators  # noqa: E402

# The tensor types (KerasTensor, SymbolicTensor, Variable) get their Python operators from these ops.
_operators.bind(**{name: globals()[name] for name in _operators.BINARY + _operators.UNARY + ("get_item",)})

from kgraph.ops import families as _families  # noqa: E402
from kgraph.ops import nn, numpy  # noqa: F401,E402

# `kgraph.ops.nn.relu` and `kgraph.ops.numpy.stack` spell the ops as Keras' sub-namespaces do.
for _module, _names in ((nn, _families.NN), (numpy, _families.NUMPY)):
    for _name in _names:
        setattr(_module, _name, globals()[_name])
    _module.__all__ = list(_names)
del _module, _names, _name
