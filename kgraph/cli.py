"""The `kgraph` command line (click). The ONNX issue adds `export` and `inspect`."""

from __future__ import annotations

import click

from kgraph.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="kgraph")
def main() -> None:
    """kgraph: compile Keras-style models to XLA for training and ONNX for inference."""


@main.command("ops")
def list_ops() -> None:
    """List the IR's registered ops with their attributes."""
    from kgraph.ir import all_ops

    for name, op in sorted(all_ops().items()):
        attrs = ", ".join(sorted(op.attrs))
        click.echo(f"{name}({attrs})" if attrs else name)
