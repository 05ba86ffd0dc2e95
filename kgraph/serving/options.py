"""The settings of a served model (batching, queue, sessions, threads) and of the server around it."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ModelOptions:
    """How one model is run.

    Args:
        max_batch_size: most rows in one ONNX Runtime call; 1 turns dynamic batching off.
        max_queue_delay_ms: how long the first queued request waits for others to join its batch.
        max_queue: most requests waiting per model; past it requests are answered 503.
        instances: ONNX Runtime sessions per model, each running one batch at a time.
        providers: "auto", "cpu", "cuda" or "tensorrt".
        intra_op_threads: threads per session (0: ONNX Runtime's default, one per core).
        request_timeout_ms: a request still queued after this long is dropped and answered 504 (0: no deadline).
    """

    max_batch_size: int = 64
    max_queue_delay_ms: float = 0.0
    max_queue: int = 1024
    instances: int = 1
    providers: str = "auto"
    intra_op_threads: int = 0
    request_timeout_ms: float = 10_000.0

    def __post_init__(self):
        _positive("max_batch_size", self.max_batch_size)
        _positive("max_queue", self.max_queue)
        _positive("instances", self.instances)
        for name in ("max_queue_delay_ms", "intra_op_threads", "request_timeout_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.providers not in PROVIDERS:
            raise ValueError(f"providers must be one of {', '.join(PROVIDERS)}, got {self.providers!r}")

    def updated(self, **changes) -> "ModelOptions":
        """A copy with the given fields changed; fields given as None keep their value."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


PROVIDERS = {
    "auto": "auto",
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def _positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
