"""MelSpectrogram: the power spectrogram of an audio signal on the mel scale, in decibels by default."""

from __future__ import annotations

import numpy as np

from kgraph import ops
from kgraph.layers.layer import Layer

_MEL_BREAK_FREQUENCY_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def _hertz_to_mel(frequencies):
    return _MEL_HIGH_FREQUENCY_Q * np.log(1.0 + frequencies / _MEL_BREAK_FREQUENCY_HERTZ)


def linear_to_mel_weight_matrix(num_mel_bins: int, num_spectrogram_bins: int, sampling_rate: float,
                                lower_edge_hertz: float, upper_edge_hertz: float) -> np.ndarray:
    """(num_spectrogram_bins, num_mel_bins) triangular filters that map linear-frequency bins to mel bins, as
    Keras (and TensorFlow) build them; the DC bin maps to nothing."""
    linear = np.linspace(0.0, sampling_rate / 2.0, num_spectrogram_bins, dtype="float32")[1:]
    bins_mel = _hertz_to_mel(linear)[:, None]
    edges = np.linspace(_hertz_to_mel(np.float32(lower_edge_hertz)), _hertz_to_mel(np.float32(upper_edge_hertz)),
                        num_mel_bins + 2, dtype="float32")
    lower, center, upper = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
    lower_slopes = (bins_mel - lower) / (center - lower)
    upper_slopes = (upper - bins_mel) / (upper - center)
    weights = np.maximum(np.float32(0.0), np.minimum(lower_slopes, upper_slopes))
    return np.pad(weights, [(1, 0), (0, 0)]).astype("float32")


class MelSpectrogram(Layer):
    """Mel-scaled spectrogram of (batch, samples) or (samples,) audio, shaped (batch, num_mel_bins, frames).

    The magnitude STFT (centred frames, reflect padding) is raised to `mag_exp`, mapped onto `num_mel_bins`
    triangular mel filters between `min_freq` and `max_freq`, and, with `power_to_db`, converted to decibels
    relative to `ref_power` and clipped `top_db` below the batch's maximum, as in Keras.

    Args:
        fft_length: the DFT size.
        sequence_stride: the hop between frames, in samples.
        sequence_length: the window length (default `fft_length`); at most `fft_length`.
        window: "hann", "hamming" or None.
        sampling_rate: the signal's sample rate in Hz.
        num_mel_bins: the number of mel bands.
        min_freq, max_freq: the band edges in Hz (`max_freq` defaults to half the sampling rate).
        power_to_db: convert the mel power to decibels.
        top_db: the dynamic range kept below the maximum, in dB.
        mag_exp: the exponent on the magnitude (2 for power).
        min_power: the floor before taking logarithms.
        ref_power: the power that maps to 0 dB.
    """

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None, window="hann", sampling_rate=16000,
                 num_mel_bins=128, min_freq=20.0, max_freq=None, power_to_db=True, top_db=80.0, mag_exp=2.0,
                 min_power=1e-10, ref_power=1.0, **kwargs):
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError("`fft_length` must be greater than or equal to `sequence_length`. Received: "
                             f"`sequence_length`={self.sequence_length}, `fft_length`={self.fft_length}.")
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power
        super().__init__(**kwargs)

    def call(self, inputs):
        dtype = self.compute_dtype if self.compute_dtype in ("float32", "float64") else "float32"
        signal = ops.cast(inputs, dtype)
        real, imag = ops.stft(signal, self.sequence_length, self.sequence_stride, self.fft_length, window=self.window,
                              center=True)
        spectrum = ops.power(ops.sqrt(ops.add(ops.square(real), ops.square(imag))), self.mag_exp)
        matrix = linear_to_mel_weight_matrix(self.num_mel_bins, self.fft_length // 2 + 1, self.sampling_rate,
                                             self.min_freq, self.max_freq)
        outputs = ops.tensordot(spectrum, matrix.astype(dtype), axes=1)
        if self.power_to_db:
            outputs = self._dbscale(outputs)
        return ops.cast(ops.swapaxes(outputs, -1, -2), self.compute_dtype)

    def _dbscale(self, power):
        log_spec = ops.multiply(10.0, ops.log10(ops.maximum(power, self.min_power)))
        reference = 10.0 * np.log10(np.maximum(np.abs(np.float32(self.ref_power)), np.float32(self.min_power)))
        log_spec = ops.subtract(log_spec, np.asarray(reference, dtype=str(log_spec.dtype)))
        return ops.maximum(log_spec, ops.subtract(ops.max(log_spec), self.top_db))

    def compute_output_shape(self, input_shape):
        frames = input_shape[-1]
        frames = None if frames is None else (frames + self.sequence_stride + 1) // self.sequence_stride
        return tuple(input_shape[:-1]) + (self.num_mel_bins, frames)

    def get_config(self) -> dict:
        return {**super().get_config(), "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": self.window, "sampling_rate": self.sampling_rate,
                "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq, "max_freq": self.max_freq,
                "power_to_db": self.power_to_db, "top_db": self.top_db, "mag_exp": self.mag_exp,
                "min_power": self.min_power, "ref_power": self.ref_power}
