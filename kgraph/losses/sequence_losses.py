"""Losses over sequences and embeddings: CTC and Circle."""

from __future__ import annotations

import jax.numpy as jnp
import optax
from jax.scipy.special import logsumexp

from kgraph import ops
from kgraph.losses.losses import _BuiltinLoss


def ctc(y_true, y_pred):
    """Connectionist temporal classification loss per sample.

    Args:
        y_true: integer labels, `(batch, max_label_length)`, padded with 0 (the blank, index 0).
        y_pred: logits, `(batch, time, num_classes)`.
    """
    labels, logits = jnp.asarray(y_true), jnp.asarray(y_pred)
    if labels.ndim != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` in "
                         f"integer format. Received: y_true.shape={labels.shape}")
    if logits.ndim != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape `(batch_size, max_length, "
                         f"num_classes)`. Received: y_pred.shape={logits.shape}")
    labels = labels.astype("int32")
    logit_paddings = jnp.zeros(logits.shape[:2], logits.dtype)
    label_paddings = (labels == 0).astype(logits.dtype)
    return optax.ctc_loss(logits, logit_paddings, labels, label_paddings, blank_id=0)


def _pos_neg_masks(query_labels, key_labels, remove_diagonal: bool):
    positive = jnp.equal(query_labels.reshape(-1, 1), key_labels.reshape(-1, 1).T)
    negative = jnp.logical_not(positive)
    if remove_diagonal:
        positive = jnp.logical_and(positive, ~jnp.eye(query_labels.size, key_labels.size, dtype=bool))
    return positive, negative


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal: bool = True, gamma: float = 80,
           margin: float = 0.4):
    """Circle loss (Sun et al., 2020) for L2-normalized embeddings `y_pred` with integer class labels `y_true`:
    pulls same-class pairs together and pushes other pairs apart, each pair weighted by how far it is from
    its optimum."""
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true).astype("int32")
    ref_embeddings = y_pred if ref_embeddings is None else jnp.asarray(ref_embeddings)
    ref_labels = y_true if ref_labels is None else jnp.asarray(ref_labels).astype("int32")
    distances = jnp.maximum(1 - y_pred @ ref_embeddings.T, 0.0)
    positive, negative = _pos_neg_masks(y_true, ref_labels, remove_diagonal)
    pos_weights = jnp.maximum((margin + distances) * positive, 0.0)
    neg_weights = jnp.maximum((1 + margin - distances) * negative, 0.0)
    pos = -1 * gamma * pos_weights * (margin - distances)
    neg = gamma * neg_weights * (1 - margin - distances)
    p_loss = logsumexp(jnp.where(positive, pos, -jnp.inf), axis=1)
    n_loss = logsumexp(jnp.where(negative, neg, -jnp.inf), axis=1)
    return ops.softplus(p_loss + n_loss)


class CTC(_BuiltinLoss):
    """CTC loss for unsegmented sequence labelling (speech, handwriting).

    Args:
        reduction, name, dtype: see `Loss`.
    """

    def __init__(self, reduction="sum_over_batch_size", name: str = "ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)


class Circle(_BuiltinLoss):
    """Circle loss for metric learning; only pairs with a positive loss count in the average, as in Keras.

    Args:
        gamma: the scale factor.
        margin: the relaxation margin.
        remove_diagonal: leave each sample's pair with itself out of the positives.
        reduction, name, dtype: see `Loss`.
    """

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction="sum_over_batch_size", name: str = "circle", dtype=None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, remove_diagonal

    def _loss_mask(self, y_true, y_pred):
        return ops.greater(self.call(y_true, y_pred), 0.0)
