"""Triton's model repository layout: `<repository>/<name>/<version>/model.onnx` with a `config.pbtxt` that Triton
Inference Server (and KServe's Triton runtime) loads as it is, and that `kgraph serve` reads back."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx

from kgraph.runtime.onnx import TensorSpec
from kgraph.serving.datatypes import datatype_of, triton_type_of
from kgraph.serving.options import ModelOptions

MODEL_FILE = "model.onnx"
CONFIG_FILE = "config.pbtxt"
_KINDS = {"auto": "KIND_AUTO", "cpu": "KIND_CPU", "cuda": "KIND_GPU", "tensorrt": "KIND_GPU"}


def onnx_specs(path: str | os.PathLike) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """The inputs and outputs of an ONNX file (dims as ints, or None when dynamic), read without its weights."""
    proto = onnx.load(os.fspath(path), load_external_data=False)
    initializers = {t.name for t in proto.graph.initializer}

    def spec(value) -> TensorSpec:
        tensor = value.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)
        return TensorSpec(value.name, dims, np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)))

    inputs = [spec(v) for v in proto.graph.input if v.name not in initializers]
    return inputs, [spec(v) for v in proto.graph.output]


def batch_dim_free(inputs: list[TensorSpec], outputs: list[TensorSpec]) -> bool:
    """Whether every input and output has a first dim of free size, so that requests can be stacked along it."""
    return bool(inputs) and all(len(s.shape) >= 1 and not isinstance(s.shape[0], int) for s in inputs + outputs)


def _tensor_block(spec: TensorSpec, batched: bool) -> str:
    dims = [d if isinstance(d, int) else -1 for d in (spec.shape[1:] if batched else spec.shape)]
    return (f"  {{\n    name: \"{spec.name}\"\n    data_type: {triton_type_of(datatype_of(spec.dtype))}\n"
            f"    dims: [ {', '.join(str(d) for d in dims)} ]\n  }}")


def config_text(name: str, inputs: list[TensorSpec], outputs: list[TensorSpec], options: ModelOptions) -> str:
    """The `config.pbtxt` of an ONNX model for Triton's onnxruntime backend."""
    batched = batch_dim_free(inputs, outputs)
    lines = [f"name: \"{name}\"", "platform: \"onnxruntime_onnx\"",
             f"max_batch_size: {options.max_batch_size if batched else 0}",
             "input [\n" + ",\n".join(_tensor_block(s, batched) for s in inputs) + "\n]",
             "output [\n" + ",\n".join(_tensor_block(s, batched) for s in outputs) + "\n]"]
    if batched:
        lines.append("dynamic_batching {\n"
                     f"  max_queue_delay_microseconds: {int(round(options.max_queue_delay_ms * 1000))}\n"
                     f"  default_queue_policy {{\n    max_queue_size: {options.max_queue}\n  }}\n}}")
    lines.append(f"instance_group [\n  {{\n    count: {options.instances}\n    kind: {_KINDS[options.providers]}\n"
                 "  }\n]")
    return "\n".join(lines) + "\n"


def model_file(repository: str | os.PathLike, name: str, version: int = 1) -> Path:
    """`<repository>/<name>/<version>/model.onnx`, its folders created."""
    folder = Path(repository) / name / str(version)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / MODEL_FILE


def write_config(repository: str | os.PathLike, name: str, options: ModelOptions = ModelOptions(),
                 version: int = 1) -> Path:
    """Writes `<repository>/<name>/config.pbtxt` for the ONNX file already at `model_file(repository, name)`.

    Args:
        repository: the model repository folder.
        name: the model's name, its folder in the repository.
        options: batch size, queue delay, queue size, instance count and kind written into the file.
        version: the version folder holding the model file.
    """
    inputs, outputs = onnx_specs(Path(repository) / name / str(version) / MODEL_FILE)
    path = Path(repository) / name / CONFIG_FILE
    staged = path.with_name(f".{CONFIG_FILE}.tmp")
    staged.write_text(config_text(name, inputs, outputs, options))
    os.replace(staged, path)
    return path


def read_config(path: str | os.PathLike) -> dict:
    """The ModelOptions fields a Triton `config.pbtxt` sets (max_batch_size, queue delay and size, instances)."""
    from google.protobuf import text_format  # optional: the [serve] extra
    from tritonclient.grpc import model_config_pb2  # optional: the [serve] extra

    try:
        config = text_format.Parse(Path(path).read_text(), model_config_pb2.ModelConfig())
    except text_format.ParseError as e:
        raise ValueError(f"{path}: not a Triton model configuration: {e}") from None
    fields: dict = {"max_batch_size": max(config.max_batch_size, 1)}
    if config.HasField("dynamic_batching"):
        batching = config.dynamic_batching
        fields["max_queue_delay_ms"] = batching.max_queue_delay_microseconds / 1000
        if batching.default_queue_policy.max_queue_size > 0:
            fields["max_queue"] = batching.default_queue_policy.max_queue_size
    else:
        fields["max_batch_size"] = 1
    counts = [group.count for group in config.instance_group if group.count > 0]
    if counts:
        fields["instances"] = sum(counts)
    return fields
