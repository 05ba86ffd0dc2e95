"""The failures a request can meet, each with the HTTP status and gRPC status code the protocol answers it with."""

from __future__ import annotations


class ServingError(Exception):
    """A request that cannot be answered; `status` is its HTTP status, `grpc_code` its gRPC StatusCode name."""

    status = 500
    grpc_code = "INTERNAL"
    outcome = "error"

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class InvalidRequest(ServingError):
    """The client's mistake: malformed body, unknown input, wrong datatype or shape."""

    status = 400
    grpc_code = "INVALID_ARGUMENT"
    outcome = "invalid"


class ModelNotFound(ServingError):
    """No served model or version has that name."""

    status = 404
    grpc_code = "NOT_FOUND"
    outcome = "not_found"


class RequestTooLarge(ServingError):
    """The body is larger than `--max-request-bytes`."""

    status = 413
    grpc_code = "RESOURCE_EXHAUSTED"
    outcome = "too_large"


class Overloaded(ServingError):
    """The model's queue is full; the client should retry later."""

    status = 503
    grpc_code = "UNAVAILABLE"
    outcome = "overloaded"


class DeadlineExceeded(ServingError):
    """The request waited in the queue past its deadline and was dropped before it ran."""

    status = 504
    grpc_code = "DEADLINE_EXCEEDED"
    outcome = "timeout"


class InferenceFailed(ServingError):
    """ONNX Runtime failed on a batch."""

    status = 500
    grpc_code = "INTERNAL"
    outcome = "error"
