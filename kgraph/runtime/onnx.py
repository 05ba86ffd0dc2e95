"""OnnxModel: validated, batched inference on an ONNX file through ONNX Runtime, safe to share between threads."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from kgraph.ir.types import numpy_dtype

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
_ORT_TYPES = {
    "tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
    "tensor(bfloat16)": "bfloat16", "tensor(bool)": "bool", "tensor(int8)": "int8", "tensor(int16)": "int16",
    "tensor(int32)": "int32", "tensor(int64)": "int64", "tensor(uint8)": "uint8", "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32", "tensor(uint64)": "uint64",
}


def numpy_dtype_of(ort_type: str) -> np.dtype:
    """The NumPy dtype of an ONNX Runtime type string such as "tensor(float)"."""
    if ort_type not in _ORT_TYPES:
        raise TypeError(f"ONNX type {ort_type!r} is not a numeric tensor type that kgraph can feed")
    return numpy_dtype(_ORT_TYPES[ort_type])


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of the model: its name, dims (int, or a symbol name / None when dynamic) and dtype."""

    name: str
    shape: tuple
    dtype: np.dtype

    @property
    def shape_str(self) -> str:
        return "(" + ", ".join("None" if d is None or isinstance(d, str) else str(d) for d in self.shape) + ")"


def _spec(arg) -> TensorSpec:
    return TensorSpec(arg.name, tuple(arg.shape), numpy_dtype_of(arg.type))


def _select_providers(providers) -> list:
    import onnxruntime as ort  # ONNX Runtime loads only when an exported model runs

    available = ort.get_available_providers()
    if providers == "auto":
        return [p for p in GPU_PROVIDERS if p in available] + ["CPUExecutionProvider"]
    chosen = [providers] if isinstance(providers, str) else list(providers)
    missing = [p for p in chosen if (p[0] if isinstance(p, tuple) else p) not in available]
    if missing:
        raise ValueError(f"providers {missing} are not available in onnxruntime {ort.__version__}; "
                         f"available: {available}")
    return chosen


class OnnxModel:
    """An ONNX model ready to predict: inputs are checked against the file's names, ranks, dims and dtypes.

    Args:
        path: the .onnx file (an external-data file beside it is found by ONNX Runtime).
        providers: "auto" (TensorRT/CUDA when onnxruntime-gpu reports them available, else CPU), or
            ONNX Runtime provider names in order of preference.
        session_options: an `onnxruntime.SessionOptions` (threads, optimization level).

    `predict` may be called from several threads at once: ONNX Runtime's `run` is thread-safe and an
    OnnxModel holds no state that a call changes.
    """

    def __init__(self, path: str | os.PathLike, providers: str | Sequence = "auto", session_options=None):
        import onnxruntime as ort  # ONNX Runtime loads only when an exported model runs

        self._path = os.fspath(path)
        if not os.path.isfile(self._path):
            raise FileNotFoundError(f"ONNX file {self._path!r} does not exist")
        chosen = _select_providers(providers)
        try:
            session = ort.InferenceSession(self._path, sess_options=session_options, providers=chosen)
        except (ort.capi.onnxruntime_pybind11_state.InvalidProtobuf, ort.capi.onnxruntime_pybind11_state.InvalidGraph,
                ort.capi.onnxruntime_pybind11_state.InvalidArgument) as e:
            raise ValueError(f"{self._path!r} is not a valid ONNX model file (expected a serialized ONNX "
                             f"ModelProto): {str(e).splitlines()[0]}") from None
        except Exception as e:
            if providers != "auto" or chosen == ["CPUExecutionProvider"]:
                raise
            warnings.warn(f"onnxruntime could not start {chosen[:-1]} ({str(e).splitlines()[0]}); using the CPU",
                          RuntimeWarning, stacklevel=2)
            session = ort.InferenceSession(self._path, sess_options=session_options, providers=["CPUExecutionProvider"])
        self._session = session
        self._inputs = tuple(_spec(a) for a in session.get_inputs())
        self._outputs = tuple(_spec(a) for a in session.get_outputs())
        self._batched = bool(self._inputs) and all(len(s.shape) >= 1 for s in self._inputs)
        fixed = {s.shape[0] for s in self._inputs if self._batched and isinstance(s.shape[0], int)}
        if len(fixed) > 1:
            raise ValueError(f"ONNX file {self._path!r}: inputs have different fixed batch sizes {sorted(fixed)}")
        self._fixed_batch = fixed.pop() if fixed else None

    @property
    def path(self) -> str:
        return self._path

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self._inputs]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self._outputs]

    @property
    def inputs(self) -> list[TensorSpec]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[TensorSpec]:
        return list(self._outputs)

    @property
    def providers(self) -> list[str]:
        """The execution providers the session runs on, in order of preference."""
        return list(self._session.get_providers())

    @property
    def fixed_batch_size(self) -> int | None:
        """The batch size baked into the file, or None when the batch dim is dynamic."""
        return self._fixed_batch

    def __repr__(self) -> str:
        inputs = ", ".join(f"{s.name}: {s.dtype}{s.shape_str}" for s in self._inputs)
        return f"OnnxModel({self._path!r}, inputs=[{inputs}], providers={self.providers})"

    def _arrange(self, x) -> list:
        names = self.input_names
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            unknown = sorted(set(x) - set(names))
            if missing or unknown:
                raise ValueError(f"input dict keys must be the model's input names {names}; "
                                 f"missing {missing}, unknown {unknown}")
            return [x[n] for n in names]
        if len(names) == 1:
            if isinstance(x, (list, tuple)) and len(x) == 1 and hasattr(x[0], "shape"):
                return [x[0]]
            return [x]
        if not isinstance(x, (list, tuple)):
            raise ValueError(f"the model takes {len(names)} inputs {names}: pass a list in that order or a dict "
                             f"by name, got a single {type(x).__name__}")
        if len(x) != len(names):
            raise ValueError(f"the model takes {len(names)} inputs {names}, got a list of {len(x)}")
        return list(x)

    def _validate(self, spec: TensorSpec, value: Any) -> np.ndarray:
        array = np.asarray(value)
        if array.dtype.kind not in "biufc":
            raise TypeError(f"input {spec.name!r}: expected a numeric array of {spec.dtype}, got dtype {array.dtype}")
        if array.dtype != spec.dtype:
            if not np.can_cast(array.dtype, spec.dtype, casting="same_kind"):
                raise TypeError(f"input {spec.name!r}: expected dtype {spec.dtype}, got {array.dtype}, "
                                f"which does not cast safely to it")
            array = array.astype(spec.dtype)
        if array.ndim != len(spec.shape):
            raise ValueError(f"input {spec.name!r}: expected rank {len(spec.shape)} (shape {spec.shape_str}), "
                             f"got shape {array.shape}")
        for i, (want, got) in enumerate(zip(spec.shape, array.shape)):
            if isinstance(want, int) and want != got and not (i == 0 and self._batched):
                raise ValueError(f"input {spec.name!r}: expected shape {spec.shape_str}, got {array.shape} "
                                 f"(dim {i} must be {want})")
        return array

    def _run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        return self._session.run(None, dict(zip(self.input_names, arrays)))

    def predict(self, x, batch_size: int | None = None) -> np.ndarray | list[np.ndarray]:
        """Runs the model on `x`, in batches of `batch_size` rows (default: all at once, or the file's fixed size).

        Args:
            x: an array for a one-input model; a list in input order, or a dict by input name, otherwise.
            batch_size: rows per ONNX Runtime call; must be None or the fixed size for a fixed-batch file.

        Returns:
            One array, or a list of arrays in output order for a model with several outputs.
        """
        arrays = [self._validate(s, v) for s, v in zip(self._inputs, self._arrange(x))]
        step = self._step(arrays, batch_size)
        if step is None:
            outputs = self._run(arrays)
        else:
            outputs = self._run_batched(arrays, step)
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def _step(self, arrays: list[np.ndarray], batch_size: int | None) -> int | None:
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                       or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        if not self._batched:
            if batch_size is not None:
                raise ValueError("the model has a scalar input, so it cannot be run in batches; use batch_size=None")
            return None
        rows = {s.name: a.shape[0] for s, a in zip(self._inputs, arrays)}
        if len(set(rows.values())) > 1:
            raise ValueError(f"inputs must have the same number of rows (batch dim), got {rows}")
        if self._fixed_batch is not None:
            if batch_size not in (None, self._fixed_batch):
                raise ValueError(f"the ONNX file has a fixed batch size {self._fixed_batch}; "
                                 f"batch_size must be None or {self._fixed_batch}, got {batch_size}")
            return self._fixed_batch
        n = next(iter(rows.values()))
        return None if batch_size is None or batch_size >= n else int(batch_size)

    def _run_batched(self, arrays: list[np.ndarray], step: int) -> list[np.ndarray]:
        for spec in self._outputs:
            if not spec.shape or (isinstance(spec.shape[0], int) and spec.shape[0] != self._fixed_batch):
                raise ValueError(f"output {spec.name!r} of shape {spec.shape_str} has no batch dim, so the model "
                                 "cannot be run in batches")
        n = arrays[0].shape[0]
        parts: list[list[np.ndarray]] = [[] for _ in self._outputs]
        for start in range(0, max(n, 1), step):
            chunk = [a[start:start + step] for a in arrays]
            rows = chunk[0].shape[0]
            if self._fixed_batch is not None and rows < step:
                chunk = [np.concatenate([c, np.zeros((step - rows,) + c.shape[1:], c.dtype)]) for c in chunk]
            for part, out in zip(parts, self._run(chunk)):
                part.append(out[:rows])
        return [np.concatenate(p) for p in parts]
