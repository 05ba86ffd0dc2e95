"""Recurrent ops: RNN/LSTM/GRU scans."""

__all__: list[str] = []
