"""The HTTP/REST body of the Open Inference Protocol: a JSON request or response, optionally followed by tensors in
binary (the binary tensor data extension, with an `Inference-Header-Content-Length` header)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import orjson

from kgraph.serving.datatypes import datatype_of
from kgraph.serving.errors import InvalidRequest
from kgraph.serving.tensors import WireTensor

HEADER_LENGTH = "inference-header-content-length"


@dataclass
class InferRequest:
    """A decoded request: its id, input tensors, requested outputs (name -> binary or not) and parameters."""

    id: str | None
    inputs: list[WireTensor]
    outputs: dict[str, bool] | None
    binary_output: bool
    parameters: dict = field(default_factory=dict)


def _header_length(value: str | None, body_length: int) -> int | None:
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        raise InvalidRequest(f"header Inference-Header-Content-Length must be an integer, got {value!r}") from None
    if not 0 <= length <= body_length:
        raise InvalidRequest(f"header Inference-Header-Content-Length is {length}, but the body has {body_length} "
                             "bytes")
    return length


def _object(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _parameters(entry: dict, what: str) -> dict:
    return _object(entry.get("parameters", {}), f"{what} 'parameters'")


def decode_request(body: bytes, header_length: str | None) -> InferRequest:
    """Parses an infer request body; InvalidRequest naming what is malformed.

    Args:
        body: the whole body.
        header_length: the `Inference-Header-Content-Length` header, when binary tensors follow the JSON.
    """
    length = _header_length(header_length, len(body))
    head = body if length is None else body[:length]
    try:
        request = orjson.loads(head)
    except orjson.JSONDecodeError as e:
        raise InvalidRequest(f"the body is not valid JSON: {e}") from None
    request = _object(request, "the request")
    if "inputs" not in request:
        raise InvalidRequest("the request has no 'inputs'")
    if not isinstance(request["inputs"], list) or not request["inputs"]:
        raise InvalidRequest("'inputs' must be a non-empty list of tensors")
    binary = memoryview(body)[length:] if length is not None else memoryview(b"")
    offset = 0
    inputs = []
    for i, entry in enumerate(request["inputs"]):
        entry = _object(entry, f"inputs[{i}]")
        for key in ("name", "datatype", "shape"):
            if key not in entry:
                raise InvalidRequest(f"inputs[{i}] has no {key!r}")
        if not isinstance(entry["name"], str):
            raise InvalidRequest(f"inputs[{i}]: 'name' must be a string")
        size = _parameters(entry, f"input {entry['name']!r}").get("binary_data_size")
        if size is None:
            inputs.append(WireTensor(entry["name"], entry["datatype"], entry["shape"], data=entry.get("data")))
            continue
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidRequest(f"input {entry['name']!r}: binary_data_size must be a non-negative integer")
        if offset + size > len(binary):
            raise InvalidRequest(f"input {entry['name']!r}: binary_data_size {size} runs past the end of the body "
                                 f"({len(binary) - offset} bytes left)")
        inputs.append(WireTensor(entry["name"], entry["datatype"], entry["shape"], raw=binary[offset:offset + size]))
        offset += size
    if offset != len(binary):
        raise InvalidRequest(f"the body has {len(binary) - offset} bytes of binary data that no input claims")
    parameters = _parameters(request, "the request")
    binary_output = parameters.get("binary_data_output") is True
    outputs = None
    if "outputs" in request:
        if not isinstance(request["outputs"], list):
            raise InvalidRequest("'outputs' must be a list")
        outputs = {}
        for i, entry in enumerate(request["outputs"]):
            entry = _object(entry, f"outputs[{i}]")
            if not isinstance(entry.get("name"), str):
                raise InvalidRequest(f"outputs[{i}] has no 'name' string")
            outputs[entry["name"]] = _parameters(entry, f"output {entry['name']!r}").get("binary_data", binary_output)
    request_id = request.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidRequest("'id' must be a string")
    return InferRequest(request_id, inputs, outputs, binary_output, parameters)


def select_outputs(model, requested: dict[str, bool] | None, binary_output: bool) -> list[tuple[int, bool]]:
    """(index in the model's outputs, binary or not) for each output to answer; InvalidRequest for an unknown one."""
    names = [s.name for s in model.outputs]
    if requested is None:
        return [(i, binary_output) for i in range(len(names))]
    unknown = [n for n in requested if n not in names]
    if unknown:
        raise InvalidRequest(f"unknown outputs {unknown}; model {model.name!r} has outputs {names}")
    return [(names.index(n), bool(b)) for n, b in requested.items()]


def encode_response(model, request_id: str | None, arrays: list[np.ndarray],
                    chosen: list[tuple[int, bool]]) -> tuple[bytes, int | None]:
    """The response body, and the length of its JSON part when binary tensors follow it (else None)."""
    outputs, blobs = [], []
    for index, binary in chosen:
        array = np.ascontiguousarray(arrays[index])
        tensor = {"name": model.outputs[index].name, "datatype": datatype_of(array.dtype), "shape": list(array.shape)}
        if binary:
            blob = array.tobytes()
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            tensor["data"] = array.ravel().tolist()
        outputs.append(tensor)
    response = {"model_name": model.name, "model_version": model.version, "outputs": outputs}
    if request_id is not None:
        response["id"] = request_id
    head = orjson.dumps(response)
    if not blobs:
        return head, None
    return b"".join([head, *blobs]), len(head)
