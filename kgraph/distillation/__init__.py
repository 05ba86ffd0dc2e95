"""Knowledge distillation, as Keras 3's `keras.distillation`: a `Distiller` trains a student model on the true
labels and on what a frozen teacher model outputs (`LogitsDistillation`) or computes inside (`FeatureDistillation`).
"""

from kgraph.distillation.distillation_loss import DistillationLoss, FeatureDistillation, LogitsDistillation
from kgraph.distillation.distiller import Distiller

__all__ = ["DistillationLoss", "Distiller", "FeatureDistillation", "LogitsDistillation"]
