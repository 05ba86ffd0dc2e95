"""The protocol's gRPC front end: `inference.GRPCInferenceService` on grpc.aio, with the generated messages and
servicer base that tritonclient ships (`tritonclient.grpc.service_pb2`, `service_pb2_grpc`)."""

from __future__ import annotations

import time

import grpc
import numpy as np
from tritonclient.grpc import service_pb2, service_pb2_grpc

from kgraph.serving.datatypes import datatype_of
from kgraph.serving.errors import InvalidRequest, ServingError
from kgraph.serving.service import InferenceService, outcome_of
from kgraph.serving.tensors import WireTensor

_CONTENTS = {"BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents", "INT32": "int_contents",
             "INT64": "int64_contents", "UINT8": "uint_contents", "UINT16": "uint_contents",
             "UINT32": "uint_contents", "UINT64": "uint64_contents", "FP32": "fp32_contents",
             "FP64": "fp64_contents"}


def _tensors(request) -> list[WireTensor]:
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise InvalidRequest(f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs")
    tensors = []
    for i, tensor in enumerate(request.inputs):
        if raw:
            tensors.append(WireTensor(tensor.name, tensor.datatype, list(tensor.shape), raw=raw[i]))
            continue
        field = _CONTENTS.get(tensor.datatype)
        values = list(getattr(tensor.contents, field)) if field else None
        tensors.append(WireTensor(tensor.name, tensor.datatype, list(tensor.shape), data=values))
    return tensors


def _tensor_metadata(entries: list[dict]) -> list:
    return [service_pb2.ModelMetadataResponse.TensorMetadata(name=t["name"], datatype=t["datatype"],
                                                             shape=t["shape"]) for t in entries]


class InferenceServicer(service_pb2_grpc.GRPCInferenceServiceServicer):
    """Answers liveness, readiness, metadata and ModelInfer for `service`'s models."""

    def __init__(self, service: InferenceService):
        self.service = service

    async def _abort(self, context, error: ServingError):
        await context.abort(getattr(grpc.StatusCode, error.grpc_code), error.message)

    async def ServerLive(self, request, context):
        return service_pb2.ServerLiveResponse(live=True)

    async def ServerReady(self, request, context):
        return service_pb2.ServerReadyResponse(ready=self.service.ready)

    async def ModelReady(self, request, context):
        try:
            self.service.model(request.name, request.version)
        except ServingError:
            return service_pb2.ModelReadyResponse(ready=False)
        return service_pb2.ModelReadyResponse(ready=self.service.ready)

    async def ServerMetadata(self, request, context):
        return service_pb2.ServerMetadataResponse(**self.service.server_metadata())

    async def ModelMetadata(self, request, context):
        try:
            metadata = self.service.model(request.name, request.version).metadata()
        except ServingError as e:
            await self._abort(context, e)
        return service_pb2.ModelMetadataResponse(
            name=metadata["name"], versions=metadata["versions"], platform=metadata["platform"],
            inputs=_tensor_metadata(metadata["inputs"]), outputs=_tensor_metadata(metadata["outputs"]))

    async def ModelInfer(self, request, context):
        start = time.perf_counter()
        name = ""
        try:
            batcher = self.service.batcher(request.model_name, request.model_version)
            model = batcher.model
            name = model.name
            names = [s.name for s in model.outputs]
            wanted = [o.name for o in request.outputs] or names
            unknown = [n for n in wanted if n not in names]
            if unknown:
                raise InvalidRequest(f"unknown outputs {unknown}; model {name!r} has outputs {names}")
            arrays = await self.service.infer(batcher, _tensors(request))
        except ServingError as e:
            self.service.count(name, outcome_of(e), start)
            await self._abort(context, e)
        response = service_pb2.ModelInferResponse(model_name=model.name, model_version=model.version, id=request.id)
        for output in wanted:
            array = np.ascontiguousarray(arrays[names.index(output)])
            response.outputs.add(name=output, datatype=datatype_of(array.dtype), shape=list(array.shape))
            response.raw_output_contents.append(array.tobytes())
        self.service.count(name, "success", start)
        return response


def create_server(service: InferenceService, address: str, max_request_bytes: int) -> tuple[grpc.aio.Server, int]:
    """A grpc.aio server for `service` bound to `address` ("host:port"), and the port it got."""
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", max_request_bytes),
                                      ("grpc.max_send_message_length", -1)])
    service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(InferenceServicer(service), server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"gRPC cannot listen on {address}")
    return server, port
