"""The protocol's HTTP/REST front end as a Starlette ASGI app: health, metadata, readiness, infer, /metrics."""

from __future__ import annotations

import os
import socket
import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kgraph.serving.codec import HEADER_LENGTH, decode_request, encode_response, select_outputs
from kgraph.serving.errors import RequestTooLarge, ServingError
from kgraph.serving.metrics import CONTENT_TYPE
from kgraph.serving.service import InferenceService, outcome_of

INSTANCE_HEADER = "x-kgraph-instance"
DEFAULT_MAX_REQUEST_BYTES = 64 * 2**20


def _error(status: int, message: str, headers: dict | None = None) -> Response:
    return JSONResponse({"error": " ".join(message.split())}, status_code=status, headers=headers)


def _serving_error(error: ServingError) -> Response:
    headers = {"Retry-After": "1"} if error.status == 503 else None
    return _error(error.status, error.message, headers)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"the body has {declared} bytes, more than the server's limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"the body is larger than the server's limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(service: InferenceService, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> Starlette:
    """The ASGI app that answers the Open Inference Protocol's HTTP/REST routes for `service`'s models.

    Args:
        service: the models and their batchers.
        max_request_bytes: bodies larger than this are refused with 413.
    """
    instance = f"{socket.gethostname()}:{os.getpid()}"

    async def live(request: Request) -> Response:
        return JSONResponse({"live": True})

    async def ready(request: Request) -> Response:
        return JSONResponse({"ready": service.ready}, status_code=200 if service.ready else 503)

    async def server_metadata(request: Request) -> Response:
        return JSONResponse(service.server_metadata())

    async def model_metadata(request: Request) -> Response:
        params = request.path_params
        try:
            return JSONResponse(service.model(params["model"], params.get("version")).metadata())
        except ServingError as e:
            return _serving_error(e)

    async def model_ready(request: Request) -> Response:
        params = request.path_params
        try:
            model = service.model(params["model"], params.get("version"))
        except ServingError as e:
            return _serving_error(e)
        return JSONResponse({"name": model.name, "version": model.version, "ready": service.ready},
                            status_code=200 if service.ready else 503)

    async def infer(request: Request) -> Response:
        start = time.perf_counter()
        params = request.path_params
        name = ""
        try:
            batcher = service.batcher(params["model"], params.get("version"))
            name = batcher.model.name
            body = await _read_body(request, max_request_bytes)
            decoded = decode_request(body, request.headers.get(HEADER_LENGTH))
            chosen = select_outputs(batcher.model, decoded.outputs, decoded.binary_output)
            outputs = await service.infer(batcher, decoded.inputs)
            content, header_length = encode_response(batcher.model, decoded.id, outputs, chosen)
        except ServingError as e:
            service.count(name, outcome_of(e), start)
            return _serving_error(e)
        service.count(name, "success", start)
        headers = {INSTANCE_HEADER: instance}
        if header_length is None:
            return Response(content, media_type="application/json", headers=headers)
        headers["Inference-Header-Content-Length"] = str(header_length)
        return Response(content, media_type="application/octet-stream", headers=headers)

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            return _error(405, f"method {request.method} is not allowed on {request.url.path}", exc.headers)
        if exc.status_code == 404:
            return _error(404, f"no route {request.url.path}")
        return _error(exc.status_code, str(exc.detail))

    versioned = "/v2/models/{model}/versions/{version}"
    routes = [
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2", server_metadata, methods=["GET"]),
        Route("/v2/models/{model}", model_metadata, methods=["GET"]),
        Route(versioned, model_metadata, methods=["GET"]),
        Route("/v2/models/{model}/ready", model_ready, methods=["GET"]),
        Route(versioned + "/ready", model_ready, methods=["GET"]),
        Route("/v2/models/{model}/infer", infer, methods=["POST"]),
        Route(versioned + "/infer", infer, methods=["POST"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
