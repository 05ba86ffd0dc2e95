"""`kgraph.layers`: Keras' layers, one package per family, each layer a small class whose `call` is a few ops."""

from kgraph.layers.activations import *  # noqa: F401,F403
from kgraph.layers.attention import *  # noqa: F401,F403
from kgraph.layers.audio import *  # noqa: F401,F403
from kgraph.layers.convolutional import *  # noqa: F401,F403
from kgraph.layers.core import *  # noqa: F401,F403
from kgraph.layers.input_spec import InputSpec
from kgraph.layers.layer import Layer
from kgraph.layers import op_layer as _op_layer  # noqa: F401  (ops applied to KerasTensors become OpLayer nodes)
from kgraph.layers.merging import *  # noqa: F401,F403
from kgraph.layers.normalization import *  # noqa: F401,F403
from kgraph.layers.pooling import *  # noqa: F401,F403
from kgraph.layers.preprocessing import *  # noqa: F401,F403
from kgraph.layers.regularization import *  # noqa: F401,F403
from kgraph.layers.reshaping import *  # noqa: F401,F403
from kgraph.layers.rnn import *  # noqa: F401,F403
from kgraph.layers.serialization import deserialize, serialize  # noqa: E402,F401
from kgraph.layers.wrappers import *  # noqa: F401,F403
