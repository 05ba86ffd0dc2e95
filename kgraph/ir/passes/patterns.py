"""Pattern lowering for export, a pattern table: IR patterns that one native ONNX operator computes become that
fused op.

- `add(matmul(a, b), c)` with 2-D a and b → `gemm(a, b, c)` (ONNX Gemm);
- `add(conv(x, k), bias)` with a per-channel constant bias → `conv_bias(x, k, bias)` (Conv with its B input);
- chains of `repeat` (UpSampling) → `upsample_nearest` (one Resize instead of Unsqueeze/Expand/Reshape per axis);
- from opset 23, multi-head scaled dot-product attention (`dot_product_attention`'s transposes, matmuls, scale
  and softmax, without mask or bias) → `attention` on (batch, length, heads * dim) views: one ONNX Attention, which
  ONNX Runtime runs as one kernel, in place of a dozen nodes;
- `layer_normalization(add(a, b))` of 3-D a and b → the normalization of a 4-D view: ONNX Runtime fuses a 3-D
  Add + LayerNormalization into SkipLayerNormalization, whose CPU kernel runs about 4× slower than the two ops
  (ONNX Runtime 1.31); normalizing a (batch, time, 1, features) view, two Reshapes that copy nothing, keeps
  them apart.

Only for the export pipeline: XLA fuses these itself, and `fit` keeps the graph the layers traced. LayerNormalization,
GroupNormalization (opset 21), LSTM/GRU/SimpleRNN and Gelu (opset 20) already lower to their ONNX operators.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from kgraph.ir.graph import Graph, Node, Value
from kgraph.ir.ops.convolution import split_layout
from kgraph.ir.passes.manager import PassResult, register_pass
from kgraph.ir.passes.pattern import PatternTable, Rule, apply_patterns
from kgraph.ir.passes.rewrite import GraphRewriter, same_shape, users
from kgraph.ir.shapes import broadcast_shapes

_GEMM_DTYPES = ("float32", "float64")
_ATTENTION_SINCE = 23
_HEADS_FIRST = (0, 2, 1, 3)


class _Patterns:
    def __init__(self, graph: Graph, param_values, opset: int | None):
        self.rw = GraphRewriter(graph, param_values)
        self.uses = users(graph)
        self.opset = opset

    def copy(self, node: Node) -> list[Value]:
        return self.rw.copy(node)

    def only_user(self, value: Value) -> Node | None:
        """The producer of `value` when `value` is read exactly once (so the producer may be fused away)."""
        return value.producer if value.producer is not None and self.uses.get(value, 0) == 1 else None

    def gemm(self, node: Node) -> Value | None:
        out = node.outputs[0].type
        if out.rank != 2 or out.dtype not in _GEMM_DTYPES:
            return None
        for product, c in (node.inputs, node.inputs[::-1]):
            matmul = self.only_user(product)
            if matmul is None or matmul.op != "matmul" or not same_shape(product.type, out):
                continue
            a, b = matmul.inputs
            if a.type.rank != 2 or b.type.rank != 2 or c.type.rank > 2 or c.dtype != out.dtype:
                continue
            if broadcast_shapes(out.shape, c.type.shape) != out.shape:
                continue
            return self.rw.emit1("gemm", [self.rw.get(a), self.rw.get(b), self.rw.get(c)], {}, matmul.name)
        return None

    def conv_bias(self, node: Node) -> Value | None:
        out = node.outputs[0].type
        for product, bias in (node.inputs, node.inputs[::-1]):
            conv = self.only_user(product)
            if conv is None or conv.op != "conv" or not same_shape(product.type, out):
                continue
            value = self.rw.constant(self.rw.get(bias))
            channels = split_layout(out.shape, conv.attrs["data_format"])[2]
            axis = 1 if conv.attrs["data_format"] == "channels_first" else out.rank - 1
            if value is None or value.ndim > out.rank or value.size != channels:
                continue
            padded = (1,) * (out.rank - value.ndim) + value.shape
            if any(d != 1 for i, d in enumerate(padded) if i != axis):
                continue
            flat = self.rw.literal(np.ascontiguousarray(value.reshape(-1)), node.name)
            x, kernel = (self.rw.get(v) for v in conv.inputs)
            return self.rw.emit1("conv_bias", [x, kernel, flat], conv.attrs, conv.name)
        return None

    def upsample(self, node: Node) -> Value | None:
        """A repeat as upsample_nearest, merged with the upsample_nearest it reads if it is that one's only user."""
        x = node.inputs[0]
        if x.dtype != "float32":
            return None
        scales = [1] * x.type.rank
        scales[node.attrs["axis"] % x.type.rank] = node.attrs["repeats"]
        source = self.rw.get(x)
        inner = source.producer
        if inner is not None and inner.op == "upsample_nearest" and self.uses.get(x, 0) == 1:
            scales = [a * b for a, b in zip(scales, inner.attrs["scales"])]
            source = inner.inputs[0]
        return self.rw.emit1("upsample_nearest", [source], {"scales": tuple(scales)}, node.name)

    def layer_norm_view(self, node: Node) -> Value | None:
        x = node.inputs[0]
        add = x.producer
        shape = x.type.shape
        if (x.type.rank != 3 or add is None or add.op != "add" or add.inputs[0].type.shape != shape or
                add.inputs[1].type.shape != shape or tuple(node.attrs["axis"]) not in ((2,), (-1,))):
            return None
        view = self.rw.emit1("reshape", [self.rw.get(x)], {"shape": (0, 0, 1, shape[2])}, node.name)
        scale, offset = (self.rw.get(v) for v in node.inputs[1:])
        normalized = self.rw.emit1("layer_normalization", [view, scale, offset], {**node.attrs, "axis": (3,)},
                                   node.name)
        return self.rw.emit1("reshape", [normalized], {"shape": (0, 0, shape[2])}, node.name)

    def _producer(self, value: Value, op: str, perm: tuple | None = None) -> Node | None:
        node = self.only_user(value)
        if node is None or node.op != op or (perm is not None and tuple(node.attrs["perm"]) != perm):
            return None
        return node

    def attention(self, node: Node) -> Value | None:
        """`transpose(softmax(q_h · k_hᵀ · scale) · v_h, heads back)` with q_h, k_hᵀ, v_h transposes of (batch,
        length, heads, dim) q, k and v: the attention of their (batch, length, heads * dim) views."""
        if self.opset is None or self.opset < _ATTENTION_SINCE or tuple(node.attrs["perm"]) != _HEADS_FIRST:
            return None
        product = self._producer(node.inputs[0], "matmul")
        if product is None:
            return None
        softmax = self._producer(product.inputs[0], "softmax")
        if softmax is None or softmax.attrs["axis"] not in (-1, 3):
            return None
        logits, scale = softmax.inputs[0], 1.0
        scaled = self._producer(logits, "multiply")
        if scaled is not None:
            for candidate, factor in (scaled.inputs, scaled.inputs[::-1]):
                value = self.rw.constant(self.rw.get(factor))
                if value is not None and value.size == 1 and candidate.producer is not None:
                    logits, scale = candidate, float(value.reshape(()))
                    break
            else:
                return None
        scores = self._producer(logits, "matmul")
        if scores is None:
            return None
        q_t = self._producer(scores.inputs[0], "transpose", _HEADS_FIRST)
        k_t = self._producer(scores.inputs[1], "transpose", (0, 2, 3, 1))
        v_t = self._producer(product.inputs[1], "transpose", _HEADS_FIRST)
        if q_t is None or k_t is None or v_t is None:
            return None
        q, k, v = q_t.inputs[0], k_t.inputs[0], v_t.inputs[0]
        heads = q.type.shape[2]
        if q.type.rank != 4 or not all(isinstance(t.shape[2], int) and isinstance(t.shape[3], int) and
                                       t.shape[2] == heads for t in (q.type, k.type, v.type)):
            return None
        name = softmax.name
        views = [self.rw.emit1("reshape", [self.rw.get(x)], {"shape": (0, 0, heads * x.type.shape[3])}, name)
                 for x in (q, k, v)]
        out = self.rw.emit1("attention", views, {"num_heads": heads, "scale": scale}, name)
        return self.rw.emit1("reshape", [out], {"shape": (0, 0, heads, v.type.shape[3])}, name)


RULES = PatternTable([
    Rule(_Patterns.attention, ("transpose",)),
    Rule(_Patterns.layer_norm_view, ("layer_normalization",)),
    Rule(_Patterns.gemm, ("add",)),
    Rule(_Patterns.conv_bias, ("add",)),
    Rule(_Patterns.upsample, ("repeat",)),
])


@register_pass("patterns")
def pattern_lowering(graph: Graph, *, param_values: Mapping[str, Any] | None = None, opset: int | None = None
                     ) -> PassResult:
    return apply_patterns(RULES, _Patterns(graph, param_values, opset), graph)
