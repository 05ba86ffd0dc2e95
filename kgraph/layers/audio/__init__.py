"""Audio front ends: STFTSpectrogram and MelSpectrogram."""

from kgraph.layers.audio.mel_spectrogram import MelSpectrogram
from kgraph.layers.audio.stft_spectrogram import STFTSpectrogram

__all__ = ["MelSpectrogram", "STFTSpectrogram"]
