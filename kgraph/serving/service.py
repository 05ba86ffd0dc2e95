"""InferenceService: the served models and their batchers, looked up by name and version, shared by the HTTP and
gRPC front ends; it counts each request's outcome and latency."""

from __future__ import annotations

import asyncio
import time
from typing import Sequence

import numpy as np

from kgraph.serving.batcher import Batcher
from kgraph.serving.errors import ModelNotFound, ServingError
from kgraph.serving.metrics import Metrics
from kgraph.serving.model import ServedModel
from kgraph.serving.tensors import WireTensor, to_arrays
from kgraph.version import __version__

EXTENSIONS = ["binary_tensor_data", "model_repository(read)"]


class InferenceService:
    """The models a server answers for; an unversioned name means its highest version.

    Args:
        models: the ServedModels (several versions of one name are allowed).
    """

    def __init__(self, models: Sequence[ServedModel]):
        if not models:
            raise ValueError("models: serve at least one model")
        self.metrics = Metrics()
        self.batchers = {(m.name, m.version): Batcher(m, self.metrics) for m in models}
        self.latest: dict[str, str] = {}
        for m in models:
            if m.name not in self.latest or int(m.version) > int(self.latest[m.name]):
                self.latest[m.name] = m.version
        self.ready = True

    @property
    def models(self) -> list[ServedModel]:
        return [b.model for b in self.batchers.values()]

    def server_metadata(self) -> dict:
        return {"name": "kgraph", "version": __version__, "extensions": EXTENSIONS}

    def batcher(self, name: str, version: str | None = None) -> Batcher:
        """The batcher of model `name` at `version` (None or "": the highest); ModelNotFound otherwise."""
        if name not in self.latest:
            raise ModelNotFound(f"unknown model {name!r}; serving {sorted(self.latest)}")
        key = (name, version or self.latest[name])
        if key not in self.batchers:
            versions = sorted(v for n, v in self.batchers if n == name)
            raise ModelNotFound(f"model {name!r} has no version {version!r}; versions: {versions}")
        return self.batchers[key]

    def model(self, name: str, version: str | None = None) -> ServedModel:
        return self.batcher(name, version).model

    def count(self, model: str, outcome: str, start: float) -> None:
        """Records one answered request to `model` (its name, or "" when unknown) with its outcome and latency."""
        self.metrics.count(model, outcome, time.perf_counter() - start)

    async def infer(self, batcher: Batcher, tensors: list[WireTensor]) -> list[np.ndarray]:
        """The model's outputs for the request's tensors, through its dynamic batcher."""
        return await batcher.infer(to_arrays(tensors, batcher.model))

    async def close(self) -> None:
        """Refuses readiness, then lets every queued request finish."""
        self.ready = False
        await asyncio.gather(*[b.close() for b in self.batchers.values()])


def outcome_of(error: BaseException) -> str:
    return error.outcome if isinstance(error, ServingError) else "error"
