"""Runs named passes over a Graph to a fixed point, verifying between them in debug mode and dumping IR on request.

A pass is `fn(graph, *, options…) -> PassResult`: the graph it makes (never mutating its input) and whether that
differs from its input. The manager repeats its pipeline until a whole round modifies nothing, so a pipeline lists
each pass once and a pass that opens work for an earlier one (layout leaving transposes for folding) gets it done.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from kgraph.ir.graph import Graph


@dataclass(frozen=True)
class PassResult:
    """What a pass returns: the new graph, and whether it differs from the pass's input."""

    graph: Graph
    modified: bool


Pass = Callable[..., PassResult]
_PASSES: dict[str, Pass] = {}

MAX_ROUNDS = 4
"""How many times a PassManager runs its pipeline at most before it stops looking for a fixed point."""


def register_pass(name: str) -> Callable[[Pass], Pass]:
    """Decorator: makes a graph → PassResult function available to pipelines under `name`.

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
    """An ordered pipeline of named passes, run round after round until a round modifies nothing.

    Args:
        passes: pass names, run in order.
        verify: run the IR verifier after each pass (default: on when `KGRAPH_DEBUG` is set).
        dump_dir: write the IR after each pass to this folder (default: `KGRAPH_DUMP_IR`).
        max_rounds: the most rounds to run; 1 runs the pipeline once.
        **options: keyword options handed to the passes that take them, such as `param_values` (parameter
            name → array, letting inference passes fold weights) or `batch_size`.
    """

    def __init__(self, passes: Sequence[str], verify: bool | None = None, dump_dir: str | None = None,
                 max_rounds: int = MAX_ROUNDS, **options: Any):
        if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
            raise ValueError(f"max_rounds must be a positive integer, got {max_rounds!r}")
        self.passes = [(name, get_pass(name)) for name in passes]
        self.verify = bool(os.environ.get("KGRAPH_DEBUG")) if verify is None else verify
        self.dump_dir = dump_dir if dump_dir is not None else os.environ.get("KGRAPH_DUMP_IR")
        self.max_rounds = max_rounds
        self.options = options

    def run(self, graph: Graph, trace: list[tuple[str, Graph]] | None = None) -> Graph:
        """Returns the transformed graph; `trace`, if given, receives (pass name, graph after it) for each pass run."""
        self._dump(graph, 0, "input")
        step = 0
        for _ in range(self.max_rounds):
            modified = False
            for name, fn in self.passes:
                options = {k: v for k, v in self.options.items() if k in _option_names(fn)}
                result = fn(graph, **options)
                graph, modified = result.graph, modified or result.modified
                if self.verify:
                    graph.verify()
                step += 1
                self._dump(graph, step, name)
                if trace is not None:
                    trace.append((name, graph))
            if not modified:
                break
        return graph

    def _dump(self, graph: Graph, index: int, name: str) -> None:
        if not self.dump_dir:
            return
        folder = Path(self.dump_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{graph.name}.{index:02d}.{name}.txt").write_text(str(graph) + "\n")
