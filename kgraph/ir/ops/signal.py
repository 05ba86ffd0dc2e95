"""Discrete Fourier transforms on (real, imaginary) pairs of float tensors, as Keras represents complex values."""

from __future__ import annotations

from kgraph.ir.registry import ShapeError, register
from kgraph.ir.types import TensorType, is_float


def _fft(types, rank, inverse):
    real, imag = types
    if real != imag or not is_float(real.dtype):
        raise ShapeError(f"fft needs real and imaginary parts of one float type, got {real} and {imag}")
    if rank not in (1, 2) or real.rank < rank:
        raise ShapeError(f"fft over {rank} axes needs a tensor of rank >= {rank}, got shape {real.shape}")
    return [real, imag]


def _rfft(types, fft_length):
    (x,) = types
    if not is_float(x.dtype) or x.rank < 1:
        raise ShapeError(f"rfft needs a float tensor of rank >= 1, got {x}")
    n = fft_length if fft_length is not None else x.shape[-1]
    bins = n // 2 + 1 if isinstance(n, int) else f"{n}//2+1"
    return [TensorType(x.dtype, x.shape[:-1] + (bins,))] * 2


def _irfft(types, fft_length):
    real, imag = types
    if real != imag or not is_float(real.dtype) or real.rank < 1:
        raise ShapeError(f"irfft needs real and imaginary parts of one float type, got {real} and {imag}")
    bins = real.shape[-1]
    n = fft_length if fft_length is not None else (2 * (bins - 1) if isinstance(bins, int) else f"2*({bins}-1)")
    return [TensorType(real.dtype, real.shape[:-1] + (n,))]


register("fft", _fft, attrs={"rank": 1, "inverse": False}, num_inputs=2,
         doc="complex FFT (or its inverse) over the last `rank` axes of (real, imag)")
register("rfft", _rfft, attrs={"fft_length": None}, num_inputs=1, doc="FFT of a real signal over the last axis")
register("irfft", _irfft, attrs={"fft_length": None}, num_inputs=2, doc="inverse of rfft: a real signal")
