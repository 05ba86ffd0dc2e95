"""`Distiller`: a model that trains a student on the true labels and on a frozen teacher's outputs or features."""

from __future__ import annotations

from kgraph import metrics, ops, tree
from kgraph.distillation.distillation_loss import DistillationLoss, _loss_function
from kgraph.models import Model, Sequential
from kgraph.saving.serialization import deserialize_keras_object, serialize_keras_object

__all__ = ["Distiller"]


def _check_shapes(teacher_shape, student_shape, what: str) -> None:
    if len(teacher_shape) != len(student_shape):
        raise ValueError(f"Teacher and student {what} shapes have different dimensions. Teacher: {teacher_shape}, "
                         f"Student: {student_shape}.")
    if any(a is not None and b is not None and a != b for a, b in zip(teacher_shape, student_shape)):
        raise ValueError(f"Teacher and student {what} shapes are incompatible. Teacher: {teacher_shape}, Student: "
                         f"{student_shape}. All dimensions must match.")


def _check_dtypes(teacher_dtype, student_dtype, what: str) -> None:
    if teacher_dtype != student_dtype:
        raise ValueError(f"Teacher and student {what} dtypes must match. Teacher: {teacher_dtype}, Student: "
                         f"{student_dtype}.")


def _check_models(teacher, student) -> None:
    for role, model in (("Teacher", teacher), ("Student", student)):
        if not isinstance(model, Model):
            raise ValueError(f"{role} must be a kgraph.Model, got {type(model)}")
    for what in ("inputs", "outputs"):
        theirs, ours = getattr(teacher, what, None), getattr(student, what, None)
        if theirs is None or ours is None:
            continue
        tree.map_structure(lambda t, s: _check_shapes(t.shape, s.shape, what[:-1]), theirs, ours)
        tree.map_structure(lambda t, s: _check_dtypes(t.dtype, s.dtype, what[:-1]), theirs, ours)


def _feature_extractor(model, layer_names: list[str]):
    """A model returning `model`'s final output and the named layers' outputs, by name; None without names."""
    if not layer_names:
        return None
    if getattr(model, "inputs", None) is None:
        raise ValueError(f"Cannot create feature extractor for {model.name}. The model has no symbolic inputs "
                         "attribute.")
    final = model.layers[-1].output if isinstance(model, Sequential) else model.output
    outputs = {"final_output": final, **{name: model.get_layer(name=name).output for name in layer_names}}
    return Model(inputs=model.inputs, outputs=outputs, name=f"{model.name}_multi_feature_extractor")


class Distiller(Model):
    """Trains `student` to match `teacher` (frozen) through distillation losses, and the labels through the loss
    given to `compile`: total = `student_loss_weight` × student loss + (1 − `student_loss_weight`) × the
    weighted sum of the distillation losses. Logs `student_loss`, `distillation_loss` and `total_loss`.

    Args:
        teacher: A trained `kgraph.Model`; its weights are frozen.
        student: The `kgraph.Model` to train, with the teacher's input and output shapes and dtypes.
        distillation_losses: A `DistillationLoss` or a list of them.
        distillation_loss_weights: One weight per distillation loss (default 1.0 each).
        student_loss_weight: The weight of the labels' loss, in [0, 1]. Defaults to 0.5.
        name: The model's name.
    """

    def __init__(self, teacher, student, distillation_losses, distillation_loss_weights=None,
                 student_loss_weight: float = 0.5, name: str = "distiller", **kwargs):
        super().__init__(name=name, **kwargs)
        _check_models(teacher, student)
        self.teacher = teacher
        self.student = student
        if not isinstance(student_loss_weight, (int, float)):
            raise ValueError(f"student_loss_weight must be a number, got {type(student_loss_weight)}")
        if not 0.0 <= student_loss_weight <= 1.0:
            raise ValueError(f"student_loss_weight must be between 0.0 and 1.0, got {student_loss_weight}")
        self.student_loss_weight = student_loss_weight
        if distillation_losses is None:
            raise ValueError("'distillation_losses' cannot be `None`. Provide a distillation loss (e.g., "
                             "LogitsDistillation or FeatureDistillation) or a list of distillation losses.")
        if not isinstance(distillation_losses, (list, tuple)):
            distillation_losses, distillation_loss_weights = [distillation_losses], [1.0]
        if distillation_loss_weights is None:
            distillation_loss_weights = [1.0] * len(distillation_losses)
        if len(distillation_loss_weights) != len(distillation_losses):
            raise ValueError(f"Number of distillation_loss_weights ({len(distillation_loss_weights)}) must match "
                             f"number of distillation_losses ({len(distillation_losses)})")
        self.distillation_losses = list(distillation_losses)
        self.distillation_loss_weights = list(distillation_loss_weights)
        for distillation_loss in self.distillation_losses:
            distillation_loss.validate_model_compatibility(teacher, student)
        self._teacher_feature_extractor = _feature_extractor(teacher, self._layer_names("teacher_layer_name"))
        self._student_feature_extractor = _feature_extractor(student, self._layer_names("student_layer_name"))
        self.teacher.trainable = False
        self.student_loss_tracker = metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = metrics.Mean(name="distillation_loss")
        self.total_loss_tracker = metrics.Mean(name="total_loss")

    def _layer_names(self, attribute: str) -> list[str]:
        names = []
        for distillation_loss in self.distillation_losses:
            name = getattr(distillation_loss, attribute, None)
            if name and name not in names:
                names.append(name)
        return names

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """As `Model.compile`; `loss` (required) is the student's loss against the labels."""
        if loss is None:
            raise ValueError("'loss' cannot be `None`.")
        self._student_loss = tree.map_structure(_loss_function, loss)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"metrics must be a list or tuple, got {type(metrics)}")
        super().compile(optimizer=optimizer, loss=None, metrics=metrics, **kwargs)

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def _features(self, distillation_loss: DistillationLoss, features: dict, role: str):
        name = getattr(distillation_loss, f"{role}_layer_name", None) or "final_output"
        if name not in features:
            raise ValueError(f"Layer '{name}' not found in extracted features. Available: {list(features)}")
        return features[name]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The weighted sum of the student's loss against `y` and the distillation losses (Keras' formula)."""
        if y_pred is None:
            y_pred = self(x, training=training)
        student_loss = 0.0
        if self.student_loss_weight > 0.0 and y is not None:
            flat = tree.flatten(tree.map_structure(lambda loss, target, pred: loss(target, pred),
                                                   self._student_loss, y, y_pred))
            student_loss = ops.sum(ops.stack(flat)) if len(flat) > 1 else flat[0]
            if len(getattr(student_loss, "shape", ())) > 0:
                student_loss = ops.mean(student_loss)
        distillation_loss = 0.0
        if self.student_loss_weight < 1.0:
            distillation_loss = self._distillation_loss(x, y_pred)
        total_loss = ops.add(ops.multiply(self.student_loss_weight, student_loss),
                             ops.multiply(ops.subtract(1.0, self.student_loss_weight), distillation_loss))
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation_loss)
        self.total_loss_tracker.update_state(total_loss)
        return total_loss

    def _distillation_loss(self, x, y_pred):
        if self._teacher_feature_extractor is not None:
            teacher_features = self._teacher_feature_extractor(x, training=False)
        else:
            teacher_features = {"final_output": self.teacher(x, training=False)}
        if self._student_feature_extractor is not None:
            student_features = self._student_feature_extractor(x, training=True)
        else:
            student_features = {"final_output": y_pred}
        total = 0.0
        for loss_fn, weight in zip(self.distillation_losses, self.distillation_loss_weights):
            if getattr(loss_fn, "teacher_layer_name", None) is not None:
                teacher_out = self._features(loss_fn, teacher_features, "teacher")
                student_out = self._features(loss_fn, student_features, "student")
            else:
                teacher_out, student_out = teacher_features["final_output"], y_pred
            loss_fn.validate_outputs(teacher_out, student_out)
            value = loss_fn.compute_loss(teacher_out, student_out)
            if len(getattr(value, "shape", ())) > 0:
                raise ValueError(f"Distillation loss {type(loss_fn).__name__} returned a non-scalar loss with shape "
                                 f"{value.shape}. The compute_loss method must return a scalar tensor.")
            total = ops.add(total, ops.multiply(weight, value))
        return total

    def reset_metrics(self) -> None:
        super().reset_metrics()
        for tracker in (self.student_loss_tracker, self.distillation_loss_tracker, self.total_loss_tracker):
            tracker.reset_state()

    def get_config(self) -> dict:
        return {**super().get_config(), "teacher": serialize_keras_object(self.teacher),
                "student": serialize_keras_object(self.student),
                "distillation_losses": [serialize_keras_object(loss) for loss in self.distillation_losses],
                "distillation_loss_weights": self.distillation_loss_weights,
                "student_loss_weight": self.student_loss_weight}

    @classmethod
    def from_config(cls, config: dict) -> "Distiller":
        config = dict(config)
        for key in ("teacher", "student"):
            config[key] = deserialize_keras_object(config[key])
        config["distillation_losses"] = [deserialize_keras_object(loss) for loss in config["distillation_losses"]]
        return cls(**config)
