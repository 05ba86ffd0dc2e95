"""The server's Prometheus metrics, in a registry of its own so that two servers in one process do not mix."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    """Requests by model and outcome, request latency, batch size, queue depth and inference time."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self._children: dict[tuple[str, str], tuple] = {}
        self.requests = Counter("kgraph_requests", "Inference requests by model and outcome.",
                                ["model", "outcome"], registry=self.registry)
        self.latency = Histogram("kgraph_request_duration_seconds", "Time from a request's arrival to its answer.",
                                 ["model"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("kgraph_batch_size", "Rows in each ONNX Runtime call.", ["model"],
                                    buckets=_BATCH_BUCKETS, registry=self.registry)
        self.queue_depth = Gauge("kgraph_queue_depth", "Requests waiting for a batch.", ["model"],
                                 registry=self.registry)
        self.inference = Histogram("kgraph_inference_duration_seconds", "Time of each ONNX Runtime call.", ["model"],
                                   buckets=_LATENCY_BUCKETS, registry=self.registry)

    def count(self, model: str, outcome: str, seconds: float) -> None:
        """Counts one answered request; a successful one's latency goes into the histogram."""
        key = (model, outcome)
        if key not in self._children:
            self._children[key] = (self.requests.labels(model, outcome), self.latency.labels(model))
        requests, latency = self._children[key]
        requests.inc()
        if outcome == "success":
            latency.observe(seconds)

    def render(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
