"""Core layers: Input, Dense, and the layers that are a single op or a lookup."""

from kgraph.layers.core.dense import Dense
from kgraph.layers.core.einsum_dense import EinsumDense
from kgraph.layers.core.embedding import Embedding
from kgraph.layers.core.identity import Identity
from kgraph.layers.core.input_layer import Input, InputLayer
from kgraph.layers.core.jax_layer import FlaxLayer, JaxLayer
from kgraph.layers.core.lambda_layer import Lambda
from kgraph.layers.core.masking import Masking
from kgraph.layers.core.reversible_embedding import ReversibleEmbedding

__all__ = ["Dense", "EinsumDense", "Embedding", "FlaxLayer", "Identity", "Input", "InputLayer", "JaxLayer", "Lambda",
           "Masking", "ReversibleEmbedding"]
