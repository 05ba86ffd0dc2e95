"""Reads a `torch.utils.data.DataLoader`, one pass per epoch, as NumPy batches (no torch op runs in kgraph)."""

from __future__ import annotations

from kgraph.runtime.data_adapters.base import StreamAdapter


def is_torch_dataloader(x) -> bool:
    """True for a `torch.utils.data.DataLoader` (or subclass), found without importing torch."""
    return any(c.__name__ == "DataLoader" and c.__module__.startswith("torch.utils.data") for c in type(x).__mro__)


def is_torch_dataset(x) -> bool:
    return any(c.__name__ in ("Dataset", "IterableDataset") and c.__module__.startswith("torch.utils.data")
               for c in type(x).__mro__)


class TorchDataLoaderAdapter(StreamAdapter):
    """Batches from `iter(loader)`; tensors become NumPy arrays with `.detach().cpu().numpy()`.

    The loader does its own batching, shuffling and worker processes; `len(loader)` batches per epoch
    (unknown for an iterable-style dataset without `__len__`).

    Args:
        loader: a `torch.utils.data.DataLoader`.
        steps: batches per epoch, or None for one pass.
        class_weight: `{class_index: weight}` applied to each batch.
    """

    source_name = "torch DataLoader"

    def __init__(self, loader, steps=None, class_weight=None):
        try:
            length = len(loader)
        except TypeError:
            length = None
        super().__init__(length, steps, class_weight)
        self.loader = loader

    def _open(self):
        return iter(self.loader)
