"""Runs named passes over a Graph, verifying between them in debug mode and dumping IR on request."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any, Callable, Sequence

from kgraph.ir.graph import Graph

Pass = Callable[..., Graph]
_PASSES: dict[str, Pass] = {}


def register_pass(name: str) -> Callable[[Pass], Pass]:
    """Decorator: makes a graph → graph function available to pipelines under `name`.

    A pass may take keyword-only options after the graph (`def fold(graph, *, param_values=None)`); the
    PassManager hands it those of its options it names, so every pass stays callable as `fn(graph)`.
    """

    def wrap(fn: Pass) -> Pass:
        if name in _PASSES:
            raise ValueError(f"pass {name!r} is already registered")
        _PASSES[name] = fn
        fn.pass_name = name
        return fn

    return wrap


def get_pass(name: str) -> Pass:
    try:
        return _PASSES[name]
    except KeyError:
        raise ValueError(f"unknown pass {name!r}; known passes: {', '.join(sorted(_PASSES))}") from None


def all_passes() -> dict[str, Pass]:
    """Every registered pass by name."""
    return dict(_PASSES)


def _option_names(fn: Pass) -> set[str]:
    return {p.name for p in inspect.signature(fn).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY}


class PassManager:
    """An ordered pipeline of named passes.

    Args:
        passes: pass names, run in order (a name may appear more than once).
        verify: run the IR verifier after each pass (default: on when `KGRAPH_DEBUG` is set).
        dump_dir: write the IR after each pass to this folder (default: `KGRAPH_DUMP_IR`).
        **options: keyword options handed to the passes that take them, such as `param_values` (parameter
            name → array, letting inference passes fold weights) or `batch_size`.
    """

    def __init__(self, passes: Sequence[str], verify: bool | None = None, dump_dir: str | None = None,
                 **options: Any):
        self.passes = [(name, get_pass(name)) for name in passes]
        self.verify = bool(os.environ.get("KGRAPH_DEBUG")) if verify is None else verify
        self.dump_dir = dump_dir if dump_dir is not None else os.environ.get("KGRAPH_DUMP_IR")
        self.options = options

    def run(self, graph: Graph, trace: list[tuple[str, Graph]] | None = None) -> Graph:
        """Returns the transformed graph; `trace`, if given, receives (pass name, graph after it)."""
        self._dump(graph, 0, "input")
        for i, (name, fn) in enumerate(self.passes, start=1):
            options = {k: v for k, v in self.options.items() if k in _option_names(fn)}
            graph = fn(graph, **options)
            if self.verify:
                graph.verify()
            self._dump(graph, i, name)
            if trace is not None:
                trace.append((name, graph))
        return graph

    def _dump(self, graph: Graph, index: int, name: str) -> None:
        if not self.dump_dir:
            return
        folder = Path(self.dump_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{graph.name}.{index:02d}.{name}.txt").write_text(str(graph) + "\n")
