"""ONNX rules for Fourier transforms: rfft as ONNX's DFT (opset 17 on); fft and irfft are refused (their complex
inputs would need ONNX's trailing complex axis, which kgraph does not lower)."""

import numpy as np

from kgraph.lowering.onnx.refusal import refuse, refusing
from kgraph.lowering.onnx.registry import onnx_rule

onnx_rule("fft", "irfft")(refusing("kgraph does not lower complex Fourier transforms to ONNX's DFT"))


@onnx_rule("rfft")
def _rfft(ctx, x, fft_length):
    """A one-sided DFT over the last axis of a real signal, given ONNX's trailing axis of size 1 (and a batch axis
    for a 1-D signal); the (real, imaginary) halves of its trailing axis of size 2 are the two outputs."""
    if ctx.opset < 17:
        refuse(ctx, "ONNX's DFT needs opset 17 or later")
    rank = len(ctx.in_types[0].shape)
    signal = ctx.unsqueeze(x, [0, 2] if rank == 1 else [rank])
    axis = 1 if rank == 1 else rank - 1
    length = ctx.const(np.int64(fft_length or ctx.in_types[0].shape[-1]))
    if ctx.opset >= 20:
        spectrum = ctx.op("DFT", signal, length, ctx.const(np.int64(axis)), onesided=1)
    else:
        spectrum = ctx.op("DFT", signal, length, axis=axis, onesided=1)
    parts = [ctx.op("Gather", spectrum, ctx.const(np.int64(i)), axis=-1) for i in (0, 1)]
    return [ctx.squeeze(part, [0]) for part in parts] if rank == 1 else parts
