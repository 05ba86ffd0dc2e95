"""ONNX export of kgraph models: trace the inference graph, optimize and lower it, gate it, verify it, write it
atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import jax
import numpy as np
import onnx

from kgraph.dtype_policies import autocast
from kgraph.ir import Graph
from kgraph.layers import Layer
from kgraph.ir.passes import run_pipeline
from kgraph.ir.types import is_int
from kgraph.lowering.onnx import DEFAULT_OPSET, check_opset, lower_to_onnx
from kgraph.lowering.onnx.cleanup import clean_up
from kgraph.runtime.onnx import numpy_dtype_of
from kgraph.version import __version__
from kgraph.program import InputSpec, Program, input_specs_from_model, trace_model
from kgraph.saving.file_io import fsync_dir, fsync_file, make_temp_dir

SUPPORTED_FORMATS = ("onnx",)
# A ModelProto serializes to at most 2 GiB; weights beyond this margin below it go to an external data file.
EXTERNAL_DATA_THRESHOLD = 2**31 - 2**26
VERIFY_BATCH_SIZES = (1, 7)


@dataclass(frozen=True)
class VerificationReport:
    """How far ONNX Runtime's outputs are from XLA's on the same random inputs."""

    max_abs_error: float
    max_rel_error: float
    batch_sizes: tuple[int, ...]
    rtol: float
    atol: float

    def __str__(self) -> str:
        sizes = ", ".join(str(b) for b in self.batch_sizes)
        return (f"max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g} "
                f"(batch sizes {sizes}; rtol={self.rtol:g}, atol={self.atol:g})")


@dataclass(frozen=True)
class ExportResult:
    """What `export_onnx` wrote: the file, its opset, its ONNX node count, the parameter count of the model's
    inference graph (before folding), and the verification."""

    path: Path
    opset: int
    num_nodes: int
    num_params: int
    verification: VerificationReport | None


EXPORT_DTYPES = ("float32", "float16")


def _check_model(model) -> None:
    if not isinstance(model, Layer):
        raise TypeError(f"expected a kgraph Model, got {model!r} of type {type(model).__name__}")


def trace_inference(model, input_signature: Sequence | None = None, dtype: str = "float32") -> Program:
    """The model's inference (training=False) Program: its graph, JAX function and parameter variables.

    Args:
        model: a kgraph Model.
        input_signature: `kgraph.Input(...)` tensors describing the inputs, for models built without Inputs.
        dtype: the float dtype the graph computes in: "float32" widens mixed-precision (float16/bfloat16)
            layers to float32; "float16" or "bfloat16" makes every floating layer compute in it.
    """
    _check_model(model)
    if input_signature is not None:
        specs = [InputSpec(t.name or (f"input_{i}" if len(input_signature) > 1 else "input"), t.ir_type())
                 for i, t in enumerate(input_signature)]
    else:
        specs = input_specs_from_model(model)
    if not specs:
        raise ValueError(f"model {model.name!r} has no known inputs: build it from kgraph.Input(...) or pass "
                         "input_signature=[kgraph.Input(shape=..., dtype=..., name=...)]")
    structure = [s.name for s in specs] if len(specs) > 1 else None
    with autocast.compute_dtype_scope(dtype):
        return trace_model(model, specs, training=False, call_structure=structure)


def output_names(model, count: int) -> list[str]:
    """The ONNX output names: the model's output layer names (dict keys for dict outputs), else output_i.

    Args:
        model: a kgraph Model.
        count: how many outputs its inference graph has.
    """
    structure = getattr(model, "_output_structure", None)
    if isinstance(structure, dict) and len(structure) == count:
        return sorted(structure)
    names = list(getattr(model, "output_names", None) or [])
    if len(names) == count:
        return names
    return ["output"] if count == 1 else [f"output_{i}" for i in range(count)]


def _resolve_opset(opset: int | None) -> int:
    return check_opset(DEFAULT_OPSET if opset is None else opset)


def optimize_for_export(graph: Graph, params: Mapping[str, np.ndarray], batch_size: int | None = None,
                        opset: int = DEFAULT_OPSET, trace: list[tuple[str, Graph]] | None = None) -> Graph:
    """The inference `graph` after the export pipeline (`kgraph.ir.passes.EXPORT_PIPELINE`), weights frozen.

    Args:
        graph: an inference graph, as `trace_inference` gives it.
        params: an array for each of its parameters, by name; the passes fold them (BatchNormalization, layouts).
        batch_size: a fixed batch size to specialize the shapes for; None keeps the batch dim symbolic.
        opset: the ONNX opset the graph is for (native operators such as Attention need a recent one).
        trace: if given, receives (pass name, graph after it) for each pass.
    """
    return run_pipeline("export", graph, trace, param_values=params, batch_size=batch_size, opset=opset)


def _lower(model, opset: int, batch_size: int | None, input_signature, optimize: bool = True,
           dtype: str = "float32") -> tuple[onnx.ModelProto, Program]:
    if dtype not in EXPORT_DTYPES:
        raise ValueError(f"`dtype` must be one of {', '.join(map(repr, EXPORT_DTYPES))} (ONNX Runtime has few "
                         f"bfloat16 kernels). Received: dtype={dtype!r}")
    program = trace_inference(model, input_signature, dtype)
    params = {name: variable.numpy() for name, variable in program.variables.items()}
    graph = optimize_for_export(program.graph, params, batch_size, opset) if optimize else program.graph
    doc = f"Model {model.name!r} ({type(model).__name__}) exported by kgraph {__version__} from its inference graph."
    proto = lower_to_onnx(graph, params, opset=opset, batch_size=batch_size,
                          output_names=output_names(model, len(graph.outputs)), doc_string=doc,
                          producer_version=__version__)
    return (clean_up(proto) if optimize else proto), program


def _initializer_bytes(proto: onnx.ModelProto) -> int:
    return sum(len(t.raw_data) for t in proto.graph.initializer)


def _check_path(path: Path) -> None:
    onnx.checker.check_model(str(path), full_check=True)
    inferred = path.with_name(path.name + ".inferred")
    try:
        onnx.shape_inference.infer_shapes_path(str(path), str(inferred), strict_mode=True)
    finally:
        inferred.unlink(missing_ok=True)


def check_onnx(model: onnx.ModelProto | str | os.PathLike) -> None:
    """The gates every export passes: the full ONNX checker and strict shape inference.

    Args:
        model: a ModelProto, or the path of an ONNX file (needed past 2 GiB, where weights are external).
    """
    if not isinstance(model, onnx.ModelProto):
        _check_path(Path(model))
        return
    if _initializer_bytes(model) <= EXTERNAL_DATA_THRESHOLD:
        onnx.checker.check_model(model, full_check=True)
        onnx.shape_inference.infer_shapes(model, strict_mode=True)
        return
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    with tempfile.TemporaryDirectory(prefix="kgraph-check-") as tmp:
        path = Path(tmp) / "model.onnx"
        onnx.save_model(copy, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx.data", size_threshold=1024)
        _check_path(path)


def to_onnx(model, opset: int | None = None, batch_size: int | None = None,
            input_signature: Sequence | None = None, optimize: bool = True, dtype: str = "float32") -> onnx.ModelProto:
    """Lowers the model's inference graph to an ONNX ModelProto that has passed `check_onnx`.

    Args:
        model: a kgraph Model.
        opset: ONNX default-domain opset, 13 to `onnx.defs.onnx_opset_version()` (default 17).
        batch_size: a fixed batch size; None keeps the batch dim dynamic (dim_param "batch").
        input_signature: `kgraph.Input(...)` tensors, for models that were not built from Inputs.
        optimize: run the export pipeline (BatchNormalization folding, layout, Gemm, …); False lowers the traced
            inference graph as it is.
        dtype: the float dtype the graph computes in (see `trace_inference`): "float32" by default, also for
            mixed-precision models; "float16" for a half-precision graph.
    """
    proto, _ = _lower(model, _resolve_opset(opset), batch_size, input_signature, optimize, dtype)
    check_onnx(proto)
    return proto


def _random_inputs(session, batch: int, rng: np.random.Generator, int_range: tuple[int, int]) -> dict:
    sizes: dict[str, int] = {}
    feeds = {}
    for arg in session.get_inputs():
        dims = []
        for i, d in enumerate(arg.shape):
            if isinstance(d, int):
                dims.append(d)
            else:
                dims.append(sizes.setdefault(d or f"{arg.name}:{i}", batch if i == 0 else 3))
        dtype = numpy_dtype_of(arg.type)
        if dtype == np.bool_:
            feeds[arg.name] = rng.random(dims) < 0.5
        elif is_int(dtype.name):
            low = max(int_range[0], 0) if dtype.kind == "u" else int_range[0]
            feeds[arg.name] = rng.integers(low, int_range[1], size=dims).astype(dtype)
        else:
            feeds[arg.name] = rng.standard_normal(dims).astype(dtype)
    return feeds


def _session(onnx_model):
    import onnxruntime as ort  # ONNX Runtime loads only when a file is verified

    source = onnx_model.SerializeToString() if isinstance(onnx_model, onnx.ModelProto) else str(onnx_model)
    try:
        return ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    except Exception as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RuntimeError(f"onnxruntime {ort.__version__} cannot load the ONNX model: {first_line}") from None


def _errors(got: np.ndarray, expected: np.ndarray) -> tuple[float, float, bool]:
    got64, expected64 = got.astype(np.float64), expected.astype(np.float64)
    nan_mismatch = bool(np.any(np.isnan(got64) != np.isnan(expected64)))
    both = ~(np.isnan(got64) | np.isnan(expected64))
    same_inf = np.isinf(expected64) & (got64 == expected64)
    diff = np.where(same_inf | ~both, 0.0, np.abs(got64 - expected64))
    scale = np.abs(expected64)
    rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    max_abs = float(diff.max(initial=0.0)) if not nan_mismatch else float("nan")
    return max_abs, float(rel.max(initial=0.0)), nan_mismatch


def verify_onnx(model, onnx_model: onnx.ModelProto | str | os.PathLike, batch_sizes: Sequence[int] | None = None,
                rtol: float = 1e-5, atol: float = 1e-6, seed: int = 0, int_range: tuple[int, int] = (0, 10),
                input_signature: Sequence | None = None, dtype: str = "float32") -> VerificationReport:
    """Runs the ONNX model in ONNX Runtime and the model's inference graph through XLA on the same random inputs.

    Raises ValueError, with the errors, when an output differs beyond `atol + rtol * |xla|`.

    Args:
        model: the kgraph Model the ONNX model was exported from.
        onnx_model: the exported ModelProto or the path of the ONNX file.
        batch_sizes: batch sizes to try (default 1 and 7; a fixed batch dim uses its own size).
        rtol: relative tolerance.
        atol: absolute tolerance.
        seed: seed of the random inputs.
        int_range: [low, high) of random integer inputs (indices must be valid for the model).
        input_signature: as for `to_onnx`, for models not built from Inputs.
        dtype: the compute dtype the ONNX model was exported with (see `trace_inference`).
    """
    program = trace_inference(model, input_signature, dtype)
    params = {name: variable.numpy() for name, variable in program.variables.items()}
    reference = jax.jit(lambda p, xs: program.fn(p, xs)[0])
    session = _session(onnx_model)
    first_dims = [a.shape[0] for a in session.get_inputs() if a.shape]
    fixed = first_dims[0] if first_dims and isinstance(first_dims[0], int) else None
    sizes = (fixed,) if fixed is not None else tuple(batch_sizes or VERIFY_BATCH_SIZES)
    names = [o.name for o in session.get_outputs()]
    rng = np.random.default_rng(seed)
    max_abs = max_rel = 0.0
    for batch in sizes:
        feeds = _random_inputs(session, batch, rng, int_range)
        got = session.run(None, feeds)
        inputs = [feeds[v.name] for v in program.graph.inputs]
        expected = [np.asarray(e) for e in reference(params, inputs)]
        for name, g, e in zip(names, got, expected):
            if g.shape != e.shape:
                raise ValueError(f"ONNX output {name!r} has shape {g.shape}, XLA's has {e.shape} (batch size {batch})")
            abs_err, rel_err, nan_mismatch = _errors(g, e)
            max_abs, max_rel = max(max_abs, abs_err), max(max_rel, rel_err)
            close = np.allclose(g.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True)
            if nan_mismatch or not close:
                raise ValueError(f"ONNX Runtime and XLA disagree on output {name!r} of model {model.name!r} at batch "
                                 f"size {batch}: max abs error {abs_err:.3g}, max rel error {rel_err:.3g} "
                                 f"(rtol={rtol:g}, atol={atol:g})")
    return VerificationReport(max_abs, max_rel, sizes, rtol, atol)


def export_onnx(model, filepath: str | os.PathLike, format: str = "onnx", opset: int | None = None,
                batch_size: int | None = None, verify: bool = False, rtol: float = 1e-5, atol: float = 1e-6,
                input_signature: Sequence | None = None, external_data: bool | None = None,
                optimize: bool = True, dtype: str = "float32") -> ExportResult:
    """Writes the model's inference graph to `filepath` as ONNX, atomically, after the checker gates pass.

    The file appears only complete and checked (and verified, with `verify=True`): it is written to a temporary
    folder beside the target, fsynced, then moved into place.

    Args:
        model: a kgraph Model.
        filepath: the .onnx file to write; its folder must exist.
        format: "onnx", the only format supported.
        opset: ONNX opset, 13 to `onnx.defs.onnx_opset_version()` (default 17).
        batch_size: a fixed batch size; None keeps the batch dim dynamic.
        verify: compare ONNX Runtime with XLA on random inputs before writing; ValueError beyond the tolerances.
        rtol: relative tolerance of the verification.
        atol: absolute tolerance of the verification.
        input_signature: `kgraph.Input(...)` tensors, for models that were not built from Inputs.
        external_data: store weights in `<filepath>.data`; None does so only past the 2 GiB protobuf limit.
        optimize: run the export pipeline over the inference graph first (see `to_onnx`).
        dtype: the float dtype the exported graph computes in: "float32" (default; mixed-precision layers are
            widened to it) or "float16" (every floating layer computes in it; weights are stored in it).
    """
    if format not in SUPPORTED_FORMATS:
        raise ValueError(f"export format {format!r} is not supported; "
                         f"supported formats: {', '.join(SUPPORTED_FORMATS)}")
    opset = _resolve_opset(opset)
    path = Path(os.fspath(filepath)).expanduser()
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(f"output directory {str(directory)!r} does not exist; create it first")
    if path.is_dir():
        raise IsADirectoryError(f"export path {str(path)!r} is a directory; give a file name such as model.onnx")
    proto, program = _lower(model, opset, batch_size, input_signature, optimize, dtype)
    if external_data is None:
        external_data = _initializer_bytes(proto) > EXTERNAL_DATA_THRESHOLD
    num_nodes = len(proto.graph.node)
    num_params = int(sum(np.prod(p.type.shape, dtype=np.int64) for p in program.graph.params))
    staging = Path(make_temp_dir(directory, path))
    try:
        staged = staging / path.name
        data_name = f"{path.name}.data"
        if external_data:
            onnx.save_model(proto, str(staged), save_as_external_data=True, all_tensors_to_one_file=True,
                            location=data_name, size_threshold=1024)
            fsync_file(staging / data_name)
        else:
            staged.write_bytes(proto.SerializeToString())
        fsync_file(staged)
        del proto
        check_onnx(staged)
        report = None
        if verify:
            report = verify_onnx(model, staged, rtol=rtol, atol=atol, input_signature=input_signature, dtype=dtype)
        if external_data:
            os.replace(staging / data_name, directory / data_name)
        os.replace(staged, path)
        fsync_dir(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(path, opset, num_nodes, num_params, report)
