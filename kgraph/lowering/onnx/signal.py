"""ONNX rules for Fourier transforms: refused (ONNX's DFT works on a trailing complex axis kgraph does not lower)."""

from kgraph.lowering.onnx.refusal import refusing
from kgraph.lowering.onnx.registry import onnx_rule

onnx_rule("fft", "rfft", "irfft")(refusing("kgraph does not lower Fourier transforms to ONNX's DFT"))
