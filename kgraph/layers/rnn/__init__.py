"""Recurrent layers and cells: RNN over any cell, SimpleRNN, LSTM and GRU as fused scans, StackedRNNCells,
ConvLSTM1D/2D/3D, and Bidirectional."""

from kgraph.layers.rnn.bidirectional import Bidirectional
from kgraph.layers.rnn.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from kgraph.layers.rnn.gru import GRU, GRUCell
from kgraph.layers.rnn.lstm import LSTM, LSTMCell
from kgraph.layers.rnn.rnn import RNN
from kgraph.layers.rnn.simple_rnn import SimpleRNN, SimpleRNNCell
from kgraph.layers.rnn.stacked_rnn_cells import StackedRNNCells

__all__ = ["Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN",
           "SimpleRNN", "SimpleRNNCell", "StackedRNNCells"]
