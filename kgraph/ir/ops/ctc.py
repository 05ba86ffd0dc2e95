"""Connectionist temporal classification: the CTC loss over batches of logit sequences."""

from __future__ import annotations

from kgraph.ir.registry import ShapeError, register
from kgraph.ir.types import TensorType, is_float, is_int


def _ctc_loss(types, mask_index):
    target, output, target_length, output_length = types
    if output.rank != 3 or target.rank != 2 or not is_float(output.dtype) or not is_int(target.dtype):
        raise ShapeError(f"ctc_loss needs float logits (batch, time, classes) and int targets (batch, label_length), "
                         f"got {output} and {target}")
    return [TensorType(output.dtype, output.shape[:1])]


register("ctc_loss", _ctc_loss, attrs={"mask_index": 0}, num_inputs=4,
         doc="CTC negative log-likelihood per batch entry, blank class `mask_index`")
