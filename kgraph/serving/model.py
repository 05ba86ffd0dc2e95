"""ServedModel: one version of one model, its ONNX Runtime sessions and its protocol metadata; and the loading of
the MODEL arguments of `kgraph serve` (.onnx files, .keras files, Triton model repositories)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from kgraph.runtime.onnx import OnnxModel
from kgraph.serving.datatypes import datatype_of
from kgraph.serving.options import PROVIDERS, ModelOptions
from kgraph.serving.triton import CONFIG_FILE, MODEL_FILE, batch_dim_free, read_config
from kgraph.export import export_onnx
from kgraph.saving import load_model


def _session_options(threads: int):
    import onnxruntime as ort  # ONNX Runtime loads only when a model is served

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle ONNX Runtime threads spin by default, taking the cores that the event loop needs to parse requests.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class ServedModel:
    """One version of a model: `instances` ONNX Runtime sessions over one file, and what the protocol says of it.

    Args:
        path: the .onnx file.
        name: the model's name in URLs.
        version: its version string.
        options: how it is batched and run.
    """

    platform = "onnxruntime_onnx"

    def __init__(self, path: str | os.PathLike, name: str, version: str = "1", options: ModelOptions = ModelOptions()):
        self.path = os.fspath(path)
        self.name = name
        self.version = version
        self.options = options
        self.sessions = [OnnxModel(self.path, providers=PROVIDERS[options.providers],
                                   session_options=_session_options(options.intra_op_threads))
                         for _ in range(options.instances)]
        first = self.sessions[0]
        self.inputs = first.inputs
        self.outputs = first.outputs
        batchable = batch_dim_free(self.inputs, self.outputs)
        self.max_batch_size = options.max_batch_size if batchable else 0

    def _shape(self, spec) -> list[int]:
        dims = [d if isinstance(d, int) else -1 for d in spec.shape]
        if self.max_batch_size > 0:
            dims[0] = -1
        return dims

    def metadata(self) -> dict:
        """The protocol's model metadata: name, versions, platform, inputs and outputs (-1 for dynamic dims)."""
        def tensors(specs):
            return [{"name": s.name, "datatype": datatype_of(s.dtype), "shape": self._shape(s)} for s in specs]

        return {"name": self.name, "versions": [self.version], "platform": self.platform,
                "inputs": tensors(self.inputs), "outputs": tensors(self.outputs)}

    def describe(self) -> str:
        """One line: the model, its inputs and outputs with datatypes and shapes."""
        def tensors(specs):
            return ", ".join(f"{s.name} {datatype_of(s.dtype)}{self._shape(s)}" for s in specs)

        batching = f"batches of up to {self.max_batch_size} rows" if self.max_batch_size > 1 else "no batching"
        return (f"model {self.name!r} version {self.version}: inputs [{tensors(self.inputs)}] -> "
                f"outputs [{tensors(self.outputs)}]; {batching}, {len(self.sessions)} session(s) on "
                f"{self.sessions[0].providers[0]}")

    def run(self, session: int, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """The outputs, in output order, of running `arrays` (in input order) on session number `session`."""
        outputs = self.sessions[session].predict(list(arrays) if len(arrays) > 1 else arrays[0])
        return outputs if isinstance(outputs, list) else [outputs]


def _versions(folder: Path) -> list[Path]:
    return sorted((d for d in folder.iterdir() if d.is_dir() and d.name.isdigit() and (d / MODEL_FILE).is_file()),
                  key=lambda d: int(d.name))


def _from_repository_model(folder: Path, options: ModelOptions, overrides: dict) -> list[ServedModel]:
    versions = _versions(folder)
    if not versions:
        raise FileNotFoundError(f"model folder {str(folder)!r} has no <version>/{MODEL_FILE}")
    config = folder / CONFIG_FILE
    settings = options.updated(**read_config(config)) if config.is_file() else options
    settings = settings.updated(**overrides)
    return [ServedModel(v / MODEL_FILE, folder.name, v.name, settings) for v in versions]


def _from_folder(folder: Path, options: ModelOptions, overrides: dict) -> list[ServedModel]:
    if _versions(folder):
        return _from_repository_model(folder, options, overrides)
    models = [d for d in sorted(folder.iterdir()) if d.is_dir() and _versions(d)]
    if not models:
        raise FileNotFoundError(f"{str(folder)!r} is not a model repository: expected <name>/<version>/{MODEL_FILE}")
    return [m for d in models for m in _from_repository_model(d, options, overrides)]


def _from_keras_file(path: Path, options: ModelOptions) -> ServedModel:
    """Exports a .keras file to ONNX, verified against XLA, in a temporary folder that is gone once the sessions
    hold the model."""
    model = load_model(str(path), compile=False)
    with tempfile.TemporaryDirectory(prefix="kgraph-serve-") as folder:
        onnx_path = Path(folder) / f"{path.stem}.onnx"
        export_onnx(model, onnx_path, verify=True)
        return ServedModel(onnx_path, path.stem, "1", options)


def load_models(specs: Sequence[str | os.PathLike], options: ModelOptions = ModelOptions(),
                **overrides) -> list[ServedModel]:
    """The models named by `kgraph serve`'s MODEL arguments, each version a ServedModel.

    Args:
        specs: .onnx files, .keras files (exported and verified first) or Triton model repository folders.
        options: the settings of every model.
        **overrides: ModelOptions fields that win over a repository's config.pbtxt (None: not given).
    """
    models: list[ServedModel] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            models += _from_folder(path, options, overrides)
        elif not path.is_file():
            raise FileNotFoundError(f"MODEL {str(spec)!r} does not exist")
        elif path.suffix == ".onnx":
            models.append(ServedModel(path, path.stem, "1", options.updated(**overrides)))
        elif path.suffix == ".keras":
            models.append(_from_keras_file(path, options.updated(**overrides)))
        else:
            raise ValueError(f"MODEL {str(spec)!r}: expected a .onnx file, a .keras file or a model repository folder")
    seen: set = set()
    for model in models:
        if (model.name, model.version) in seen:
            raise ValueError(f"two MODEL arguments are named {model.name!r} (version {model.version}); "
                             "rename one file")
        seen.add((model.name, model.version))
    return models
