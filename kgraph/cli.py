"""The `kgraph` command line (click): list ops, inspect a model's inference graph, export it to ONNX."""

from __future__ import annotations

import importlib
import os
import sys

import click

from kgraph.serving.command import serve_command
from kgraph.version import __version__
from kgraph.models import Model
from kgraph.saving import load_model as load_keras_file
from kgraph.ir import all_ops
from kgraph.export import export_onnx
from kgraph.lowering.onnx import check_opset
from kgraph.serving.triton import model_file
from kgraph.serving.triton import write_config
import numpy as np
from kgraph.export import optimize_for_export, trace_inference
from kgraph.lowering.onnx import DEFAULT_OPSET, check_opset

# Errors a user can cause and fix; each becomes one `Error: …` line instead of a traceback.
_USER_ERRORS = (ValueError, TypeError, NotImplementedError, FileNotFoundError, IsADirectoryError, RuntimeError)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def load_model(spec: str):
    """Loads a `.keras` file, or imports `package.module:attr` (the current directory first on sys.path) and
    returns the kgraph Model it names, calling it first when it is a zero-argument function.

    Args:
        spec: a path ending in ".keras", or "package.module:attr" where attr may be dotted ("module:Class.factory").
    """
    if spec.endswith(".keras"):
        if not os.path.isfile(spec):
            raise click.ClickException(f"no such .keras file: {spec}")
        try:
            return load_keras_file(spec, compile=False)
        except (ValueError, OSError) as e:
            raise click.ClickException(f"cannot load {spec}: {e}") from None
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise click.ClickException(f"MODEL must look like package.module:attr, got {spec!r}")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise click.ClickException(f"module {module_name!r} not found (from {spec!r})") from None
        raise click.ClickException(f"importing {module_name!r} failed: {_one_line(e)}") from None
    except Exception as e:
        raise click.ClickException(f"importing {module_name!r} failed: {type(e).__name__}: {_one_line(e)}") from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise click.ClickException(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not isinstance(obj, Model) and callable(obj):
        try:
            obj = obj()
        except Exception as e:
            raise click.ClickException(f"calling {spec!r} failed: {type(e).__name__}: {_one_line(e)}") from None
    if not isinstance(obj, Model):
        raise click.ClickException(f"{spec!r} is not a kgraph Model or a zero-argument function returning one "
                                   f"(got {type(obj).__name__})")
    return obj


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="kgraph")
def main() -> None:
    """kgraph: compile Keras-style models to XLA for training and ONNX for inference."""


@main.command("ops")
def list_ops() -> None:
    """List the IR's registered ops with their attributes."""
    for name, op in sorted(all_ops().items()):
        attrs = ", ".join(sorted(op.attrs))
        click.echo(f"{name}({attrs})" if attrs else name)


@main.command("export")
@click.argument("model_spec", metavar="MODEL")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False),
              help="The .onnx file to write (its folder must exist).")
@click.option("--triton-repository", type=click.Path(file_okay=False),
              help="Instead of -o: write DIR/<model name>/1/model.onnx and a Triton config.pbtxt beside it.")
@click.option("--opset", type=int, default=None,
              help="ONNX opset, 13 to the newest the onnx package knows (default 17).")
@click.option("--batch-size", type=int, default=None, help="Fix the batch dim to this size (default: dynamic).")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Compare ONNX Runtime with XLA on random inputs before writing.")
@click.option("--dtype", type=click.Choice(["float32", "float16"]), default="float32", show_default=True,
              help="The float dtype the graph computes in; mixed-precision models are widened to float32 unless "
                   "float16 is asked (then verified to 1e-2).")
def export_command(model_spec: str, output: str | None, triton_repository: str | None, opset: int | None,
                   batch_size: int | None, verify: bool, dtype: str) -> None:
    """Export MODEL (a .keras file, or package.module:attr naming a model or a function returning one) to ONNX."""
    try:
        if (output is None) == (triton_repository is None):
            raise ValueError("give exactly one of -o/--output FILE and --triton-repository DIR")
        if opset is not None:
            check_opset(opset)
        if output is not None and not os.path.isdir(os.path.dirname(os.path.abspath(output))):
            raise FileNotFoundError(f"output directory {os.path.dirname(output) or '.'!r} does not exist")
        model = load_model(model_spec)
        if triton_repository is not None:
            output = str(model_file(triton_repository, model.name))
        tolerance = {"rtol": 1e-5, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-2, "atol": 1e-2}
        result = export_onnx(model, output, opset=opset, batch_size=batch_size, verify=verify, dtype=dtype,
                             **tolerance)
        config = None
        if triton_repository is not None:
            config = write_config(triton_repository, model.name)
    except _USER_ERRORS as e:
        raise click.ClickException(_one_line(e)) from None
    click.echo(f"Exported {model.name!r} to {result.path}: opset {result.opset}, {result.num_nodes} ONNX nodes, "
               f"{result.num_params:,} parameters")
    if result.verification is not None:
        click.echo(f"Verified against XLA: {result.verification}")
    if config is not None:
        click.echo(f"Wrote the Triton model configuration {config}")


@main.command("inspect")
@click.argument("model_spec", metavar="MODEL")
@click.option("--passes", "show_passes", is_flag=True,
              help="Run the export pass pipeline: print the optimized IR and each pass's node counts before and "
                   "after it.")
@click.option("--opset", type=int, default=None, help="With --passes: the ONNX opset to optimize for (default 17).")
@click.option("--batch-size", type=int, default=None, help="With --passes: a fixed batch size to specialize for.")
def inspect_command(model_spec: str, show_passes: bool, opset: int | None, batch_size: int | None) -> None:
    """Print MODEL's inference IR, its node count per op and its parameter count."""
    try:
        model = load_model(model_spec)
        program = trace_inference(model)
        graph = traced = program.graph
        trace: list = []
        if show_passes:
            params = {name: variable.numpy() for name, variable in program.variables.items()}
            opset = check_opset(DEFAULT_OPSET if opset is None else opset)
            graph = optimize_for_export(traced, params, batch_size, opset, trace=trace)
    except _USER_ERRORS as e:
        raise click.ClickException(_one_line(e)) from None
    click.echo(str(graph))
    click.echo("")
    if show_passes:
        click.echo(f"Export pipeline ({len(traced.nodes)} nodes traced):")
        click.echo(f"  {'pass':<22}{'before':>8}{'after':>8}")
        before = len(traced.nodes)
        for name, after in trace:
            click.echo(f"  {name:<22}{before:>8}{len(after.nodes):>8}")
            before = len(after.nodes)
        click.echo("")
    click.echo(f"Nodes per op ({len(graph.nodes)} in all):")
    for op, count in graph.op_counts().items():
        click.echo(f"  {op:<16}{count}")
    params = int(sum(np.prod(p.type.shape, dtype=np.int64) for p in traced.params))
    click.echo(f"Parameters: {params:,}")


main.add_command(serve_command)

if __name__ == "__main__":
    main()
