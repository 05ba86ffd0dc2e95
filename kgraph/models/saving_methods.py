"""The saving half of Model: `save`, `save_weights`, `load_weights`, `to_json`, and the config hooks
(`get_config`/`from_config`, compile and build configs) that `kgraph.saving` reads and writes."""

from __future__ import annotations

import inspect
import warnings
import weakref

from kgraph.layers.layer import Layer
from kgraph.models import functional_config
from kgraph.models.trainer import Trainer
from kgraph.saving import json_io, saving_lib, weights_io
from kgraph.saving.object_registration import CustomObjectScope
from kgraph.saving.serialization import deserialize_keras_object, serialize_keras_object


def _is_functional_like(cls) -> bool:
    """Whether `cls(inputs=..., outputs=..., name=...)` builds the model (Keras' `functional_like_constructor`)."""
    spec = inspect.getfullargspec(cls.__init__)
    if spec.args[1:] == ["inputs", "outputs", "name"]:
        return True
    return spec.varargs is not None and spec.varkw is not None


class SavingMethods:
    """Mixin of Model: whole-model and weights-only saving, JSON, and Keras-format configs."""

    # --- files ---------------------------------------------------------------------------------------------------
    def save(self, filepath, overwrite: bool = True, zipped: bool = True, **kwargs) -> None:
        """Saves architecture, compile config, weights and optimizer state (a `.keras` zip; `.h5` is legacy HDF5).

        Args:
            filepath: where to write; ends in `.keras` (or `.h5`).
            overwrite: replace an existing file; otherwise raise FileExistsError.
            zipped: False writes a folder with the three members instead of a zip.
        """
        if kwargs:
            raise TypeError(f"save() got unexpected keyword arguments {sorted(kwargs)}")
        saving_lib.save_model(self, filepath, overwrite=overwrite, zipped=zipped)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        """Saves the weights (and the optimizer state, when compiled) to a `.weights.h5` file."""
        weights_io.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch: bool = False, by_name: bool = False, **kwargs) -> None:
        """Loads weights from a `.weights.h5`, `.keras` or legacy `.h5` file; nothing changes if they do not fit.

        Args:
            filepath: the file to read.
            skip_mismatch: warn about layers whose saved weights do not fit and leave them as they are.
            by_name: match layers by name (for a different architecture sharing some layers).
        """
        if kwargs:
            raise TypeError(f"load_weights() got unexpected keyword arguments {sorted(kwargs)}")
        weights_io.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)

    def to_json(self, **kwargs) -> str:
        """The architecture (and compile config) as Keras-format JSON; `kwargs` go to `json.dumps`."""
        return json_io.to_json(self, **kwargs)

    # --- configs ---------------------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        """Functional and Sequential models give Keras' graph configs; subclassed models their Layer config."""
        if self._obj_type() == "Sequential":
            return functional_config.get_sequential_config(self)
        if self._obj_type() == "Functional" and _is_functional_like(type(self)):
            return functional_config.get_functional_config(self)
        return Layer.get_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool | None = None):
        """The model a config describes (Functional, Sequential, or this class built from its own config)."""
        from kgraph.models.functional import Functional  # the models that mix this class in
        from kgraph.models.model import Model  # these subclass the mixin: defined after it
        from kgraph.models.sequential import Sequential  # (as above)

        with CustomObjectScope(custom_objects):
            if issubclass(cls, Sequential):
                return functional_config.sequential_from_config(cls, config, custom_objects, safe_mode)
            if isinstance(config, dict) and {"layers", "input_layers", "output_layers"} <= set(config):
                target = Functional if cls is Model else cls
                if issubclass(target, Functional) or _is_functional_like(target):
                    return functional_config.functional_from_config(target, dict(config), custom_objects, safe_mode)
            try:
                return cls(**config)
            except TypeError as e:
                raise TypeError(f"Unable to revive model {cls.__name__} from its config: {e}. A subclassed model "
                                "must implement `get_config()` and `from_config()` to be saved and loaded.") from e

    def get_compile_config(self) -> dict | None:
        """What `compile()` was called with, serialized as Keras does (None when not compiled)."""
        args = getattr(self, "_compile_args", None)
        if not getattr(self, "compiled", False) or args is None:
            return None
        optimizer = self.optimizer.inner_optimizer if getattr(self, "_auto_scaled_loss", False) else self.optimizer
        return {"optimizer": serialize_keras_object(optimizer), "loss": serialize_keras_object(args["loss"]),
                "loss_weights": serialize_keras_object(args["loss_weights"]),
                "metrics": serialize_keras_object(args["metrics"]),
                "weighted_metrics": serialize_keras_object(args["weighted_metrics"]),
                "run_eagerly": getattr(self, "run_eagerly", False),
                "steps_per_execution": getattr(self, "steps_per_execution", 1),
                "jit_compile": getattr(self, "jit_compile", "auto")}

    def compile_from_config(self, config: dict) -> None:
        """Compiles the model from `get_compile_config()`'s output (or Keras')."""
        if type(self).compile is not Trainer.compile:
            warnings.warn(f"`compile()` was not called as part of loading model {self.name!r} because its "
                          "`compile()` method is custom. Call `compile()` yourself, or override "
                          "`compile_from_config()`.", stacklevel=2)
            return
        config = deserialize_keras_object(config)
        parameters = inspect.signature(self.compile).parameters
        self.compile(**{key: value for key, value in config.items() if key in parameters})

    def get_build_config(self) -> dict | None:
        """The input shape that builds the model: None for Functional models (built by their graph)."""
        if self._obj_type() == "Functional":
            return None
        if self._obj_type() == "Sequential":
            return {"input_shape": self._input_layer.batch_shape} if self._functional is not None else None
        config = Layer.get_build_config(self)
        if config is not None:
            return config
        for program in getattr(self, "_programs", {}).values():
            shapes = [tuple(value.type.keras_shape()) for value in program.graph.inputs]
            return {"input_shape": shapes[0] if len(shapes) == 1 else shapes}
        return None

    def build_from_config(self, config: dict) -> None:
        """Creates the weights for the input shape of `get_build_config()` (Functional models need none)."""
        if self._obj_type() != "Functional":
            Layer.build_from_config(self, config)

    # --- what the saving walk asks -------------------------------------------------------------------------------
    @property
    def _saved_layers(self) -> list:
        """The layers Keras' `model.layers` lists (a graph model's op nodes are not layers in Keras)."""
        return self.layers

    @property
    def optimizer(self):
        """The optimizer `compile()` set (None before): saved under `optimizer` with its state."""
        return self.__dict__.get("_optimizer")

    @optimizer.setter
    def optimizer(self, value) -> None:
        if value is not None:
            model = weakref.ref(self)
            value._variables_for_state = lambda: m._optimizer_variables() if (m := model()) is not None else None
        self.__dict__["_optimizer"] = value

    def _optimizer_variables(self) -> list:
        """The variables the optimizer's state is for: the trainable weights the model trains, in Keras' order."""
        if getattr(self, "_trainable_snapshot", None) is None:
            self._trainable_snapshot = list(self.trainable_weights)
        return self._partition()[0]
