"""Attention layers."""

from kgraph.layers.attention.additive_attention import AdditiveAttention
from kgraph.layers.attention.attention import Attention
from kgraph.layers.attention.grouped_query_attention import GroupedQueryAttention, GroupQueryAttention
from kgraph.layers.attention.multi_head_attention import MultiHeadAttention

__all__ = ["AdditiveAttention", "Attention", "GroupedQueryAttention", "GroupQueryAttention", "MultiHeadAttention"]
