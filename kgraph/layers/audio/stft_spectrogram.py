"""STFTSpectrogram: a short-time Fourier transform computed as a strided convolution with DFT-basis kernels."""

from __future__ import annotations

import math
import warnings

from kgraph import config, initializers, ops
from kgraph.layers.layer import Layer
from kgraph.ops.convolution import normalize_data_format

MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


class STFTSpectrogram(Layer):
    """The spectrogram of each channel of a (batch, time, channels) signal, as Keras' layer computes it: windowed
    DFT-basis kernels (`real_kernel`, `imag_kernel`, trainable like any weight) convolved over time.

    Args:
        mode: "log" (log magnitude), "magnitude", "psd" (power spectral density), "real", "imag", "angle" or
            "stft" (real and imaginary parts concatenated along frequency).
        frame_length: the window length in samples.
        frame_step: the hop between frames (default `frame_length // 2`).
        fft_length: the DFT size (default the next power of two of `frame_length`); at least `frame_length`.
        window: a scipy window name, an array of length `frame_length`, or None (rectangular).
        periodic: use a periodic window (for spectral analysis) instead of a symmetric one.
        scaling: "density", "spectrum" or None: how the window normalizes the kernels.
        padding: "valid" or "same".
        expand_dims: keep channels and frequencies on separate axes instead of merging them.
        data_format: "channels_last" (batch, time, channels) or "channels_first" (batch, channels, time).
    """

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None, window="hann", periodic=False,
                 scaling="density", padding="valid", expand_dims=False, data_format=None, **kwargs):
        if frame_step is not None and (frame_step > frame_length or frame_step < 1):
            raise ValueError("`frame_step` should be a positive integer not greater than `frame_length`. Received "
                             f"frame_step={frame_step}, frame_length={frame_length}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError("`fft_length` should be not less than `frame_length`. Received "
                             f"fft_length={fft_length}, frame_length={frame_length}")
        if fft_length is not None and (fft_length & -fft_length) != fft_length:
            warnings.warn(f"`fft_length` is recommended to be a power of two. Received fft_length={fft_length}")
        if mode not in MODES:
            raise ValueError(f"Output mode is invalid, it must be one of {', '.join(MODES)}. Received: mode={mode}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(f"Scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                             f"Received scaling={scaling}")
        if padding not in ("valid", "same"):
            raise ValueError(f"Padding is invalid, it should be 'valid', 'same'. Received: padding={padding}")
        super().__init__(**kwargs)
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self._frame_step = frame_step or frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window = window
        self.periodic = periodic
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = expand_dims
        self.data_format = normalize_data_format(data_format)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"Layer {self.name!r} (STFTSpectrogram) takes signals of rank 3 (batch, time, channels) "
                             f"or (batch, channels, time), got input shape {tuple(input_shape)}")
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(name="real_kernel", shape=shape, initializer=initializers.STFT(
                "real", self.window, self.scaling, self.periodic))
        if self.mode != "real":
            self.imag_kernel = self.add_weight(name="imag_kernel", shape=shape, initializer=initializers.STFT(
                "imag", self.window, self.scaling, self.periodic))
        self.built = True

    def _apply_conv(self, signals, kernel):
        """(batch, channels, time, 1) signals → (batch, channels, frames, bins): a 2-D convolution whose kernel spans
        one channel and `frame_length` samples, so neither batch nor time needs a static size."""
        kernel = ops.reshape(ops.cast(kernel, signals.dtype), (1,) + tuple(kernel.shape))
        return ops.conv(signals, kernel, strides=(1, self._frame_step), padding=self.padding,
                        data_format="channels_last")

    def _adjust_shapes(self, outputs):
        """(batch, channels, frames, bins) → Keras' output layout for `data_format` and `expand_dims`."""
        channels, bins = outputs.shape[1], outputs.shape[3]
        if self.data_format == "channels_last":
            if self.expand_dims:
                return ops.transpose(outputs, (0, 2, 3, 1))
            return ops.reshape(ops.transpose(outputs, (0, 2, 1, 3)), (None, None, channels * bins))
        if self.expand_dims:
            return outputs
        return ops.reshape(ops.transpose(outputs, (0, 1, 3, 2)), (None, channels * bins, -1))

    def call(self, inputs):
        if str(inputs.dtype) not in ("float16", "float32", "float64"):
            raise TypeError(f"Invalid input type. Expected `float16`, `float32` or `float64`. "
                            f"Received: input type={inputs.dtype}")
        signals = inputs if self.data_format == "channels_first" else ops.transpose(inputs, (0, 2, 1))
        signals = ops.expand_dims(signals, -1)
        real = self._apply_conv(signals, self.real_kernel) if self.mode != "imag" else None
        imag = self._apply_conv(signals, self.imag_kernel) if self.mode != "real" else None
        if self.mode == "real":
            return self._adjust_shapes(real)
        if self.mode == "imag":
            return self._adjust_shapes(imag)
        if self.mode == "angle":
            return self._adjust_shapes(ops.arctan2(imag, real))
        if self.mode == "stft":
            return self._adjust_shapes(ops.concatenate([real, imag], axis=-1))
        power = ops.add(ops.square(real), ops.square(imag))
        if self.mode == "psd":
            return self._adjust_shapes(ops.add(power, ops.pad(power[..., 1:-1], [(0, 0), (0, 0), (0, 0), (1, 1)])))
        magnitude = self._adjust_shapes(ops.sqrt(ops.maximum(power, config.epsilon())))
        if self.mode == "magnitude":
            return magnitude
        return ops.log(ops.maximum(magnitude, config.epsilon()))

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length, "window": self.window,
                "periodic": self.periodic, "scaling": self.scaling, "padding": self.padding,
                "data_format": self.data_format, "expand_dims": self.expand_dims}
