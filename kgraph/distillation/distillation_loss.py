"""The distillation losses: how far a student's outputs or features are from a teacher's."""

from __future__ import annotations

import inspect

from kgraph import losses, ops, tree
from kgraph.saving.serialization import serialize_keras_object

__all__ = ["DistillationLoss", "FeatureDistillation", "LogitsDistillation"]


def _loss_function(loss_item):
    """A loss from a string identifier, a loss instance or function, or None (skip that output). A string that
    names a loss function ("kl_divergence", "mse") gives the function, as Keras' `losses.get` does."""
    if loss_item is None:
        return None
    if isinstance(loss_item, str):
        function = getattr(losses, loss_item, None)
        if inspect.isfunction(function):
            return function
        loss_fn = losses.get(loss_item)
        if loss_fn is None:
            raise ValueError(f"Unknown loss function: '{loss_item}'.")
        return loss_fn
    return loss_item


def _sum_of(values) -> object:
    return ops.sum(ops.stack([ops.convert_to_tensor(v, "float32") for v in tree.flatten(values)]))


class DistillationLoss:
    """Base class of distillation losses: subclass it and override `compute_loss`."""

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The scalar distillation loss between teacher and student outputs (tensors or structures of them)."""
        raise NotImplementedError("Subclasses must implement compute_loss")

    def validate_outputs(self, teacher_outputs, student_outputs) -> None:
        """Raises ValueError unless teacher and student outputs have the same structure."""
        tree.assert_same_structure(teacher_outputs, student_outputs)

    def validate_model_compatibility(self, teacher, student) -> None:
        """Raises ValueError if the models cannot be distilled with this loss; accepts any by default."""


class FeatureDistillation(DistillationLoss):
    """Matches the student's features to the teacher's: those of the named layers, or the final outputs.

    Args:
        loss: A loss identifier or instance, or a structure of them matching the features (`None` skips one);
            defaults to "mse".
        teacher_layer_name: The teacher layer whose output is matched; `None` for the model's output.
        student_layer_name: The student layer whose output is matched; `None` for the model's output.
    """

    def __init__(self, loss="mse", teacher_layer_name: str | None = None, student_layer_name: str | None = None):
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self.loss = tree.map_structure(_loss_function, loss)
        if all(l is None for l in tree.flatten(self.loss)):
            raise ValueError("The `loss` argument in `FeatureDistillation` must contain at least one non-`None` "
                             "value.")

    def validate_model_compatibility(self, teacher, student) -> None:
        if self.teacher_layer_name is not None or self.student_layer_name is not None:
            subclassed = [role for role, model in (("teacher", teacher), ("student", student))
                          if getattr(model, "inputs", None) is None]
            if subclassed:
                raise ValueError(f"FeatureDistillation with specific layer names requires Functional or Sequential "
                                 f"models. The {' and '.join(subclassed)} model(s) appear to be subclassed (no "
                                 "symbolic inputs/outputs). Either use Functional/Sequential models, or use "
                                 "FeatureDistillation without layer names (to distill final outputs only), or use "
                                 "LogitsDistillation instead.")
        for role, model, name in (("teacher", teacher, self.teacher_layer_name),
                                  ("student", student, self.student_layer_name)):
            if name is not None:
                try:
                    model.get_layer(name=name)
                except ValueError as error:
                    raise ValueError(f"In {role} model: {error}") from None

    def validate_outputs(self, teacher_outputs, student_outputs) -> None:
        super().validate_outputs(teacher_outputs, student_outputs)
        try:
            tree.assert_same_structure(self.loss, teacher_outputs)
        except (TypeError, ValueError) as error:
            raise ValueError(f"Loss structure mismatch. Loss structure: {self.loss}, output structure: "
                             f"{teacher_outputs}. Error: {error}") from None

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        def apply_loss(loss_fn, teacher_features, student_features):
            return 0.0 if loss_fn is None else ops.mean(loss_fn(teacher_features, student_features))

        return _sum_of(tree.map_structure(apply_loss, self.loss, teacher_outputs, student_outputs))

    def get_config(self) -> dict:
        return {"loss": losses.serialize(self.loss), "teacher_layer_name": self.teacher_layer_name,
                "student_layer_name": self.student_layer_name}

    @classmethod
    def from_config(cls, config: dict) -> "FeatureDistillation":
        return cls(**{**config, "loss": losses.deserialize(config["loss"])})


class LogitsDistillation(DistillationLoss):
    """Matches the student's temperature-softened logits to the teacher's (Hinton et al.'s distillation).

    Args:
        temperature: What logits are divided by; higher values give softer distributions. Defaults to 3.0.
        loss: A loss identifier or instance, or a structure of them matching the outputs (`None` skips one);
            defaults to "kl_divergence", which compares the softmax probabilities and is scaled by temperature².
    """

    def __init__(self, temperature: float = 3.0, loss="kl_divergence"):
        self.temperature = temperature
        self.loss = tree.map_structure(_loss_function, loss)
        if all(l is None for l in tree.flatten(self.loss)):
            raise ValueError("At least one loss must be non-`None`.")
        if not isinstance(self.temperature, (int, float)):
            raise ValueError(f"temperature must be a number, got {type(self.temperature)}")
        if self.temperature <= 0.0:
            raise ValueError("temperature must be positive.")

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        teacher_scaled = tree.map_structure(lambda x: ops.divide(x, self.temperature), teacher_outputs)
        student_scaled = tree.map_structure(lambda x: ops.divide(x, self.temperature), student_outputs)

        def apply_loss(loss_fn, teacher_logits, student_logits):
            if loss_fn is None:
                return 0.0
            if isinstance(loss_fn, losses.KLDivergence):
                loss = ops.mean(loss_fn(ops.softmax(teacher_logits, axis=-1), ops.softmax(student_logits, axis=-1)))
                return loss * (self.temperature ** 2)
            return ops.mean(loss_fn(teacher_logits, student_logits))

        return _sum_of(tree.map_structure(apply_loss, self.loss, teacher_scaled, student_scaled))

    def get_config(self) -> dict:
        return {"temperature": self.temperature, "loss": serialize_keras_object(self.loss)}

    @classmethod
    def from_config(cls, config: dict) -> "LogitsDistillation":
        return cls(**{**config, "loss": losses.deserialize(config["loss"])})
