"""Data adapters for every kind of input: one `batches()` interface over arrays, PyDataset, generators,
torch DataLoaders and tf.data, plus the device prefetcher that feeds compiled steps."""

from kgraph.runtime.data_adapters.base import DataAdapter, StreamAdapter, unpack_x_y_sample_weight
from kgraph.runtime.data_adapters.generator_adapter import GeneratorDataAdapter
from kgraph.runtime.data_adapters.prefetch import DevicePrefetcher
from kgraph.runtime.data_adapters.py_dataset_adapter import PyDatasetAdapter
from kgraph.runtime.data_adapters.select import ArrayAdapter, get_data_adapter, is_array_data
from kgraph.runtime.data_adapters.tf_dataset_adapter import TFDatasetAdapter
from kgraph.runtime.data_adapters.torch_adapter import TorchDataLoaderAdapter

__all__ = [
    "ArrayAdapter",
    "DataAdapter",
    "DevicePrefetcher",
    "GeneratorDataAdapter",
    "PyDatasetAdapter",
    "StreamAdapter",
    "TFDatasetAdapter",
    "TorchDataLoaderAdapter",
    "get_data_adapter",
    "is_array_data",
    "unpack_x_y_sample_weight",
]
