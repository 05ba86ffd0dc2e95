"""IoU and Complete IoU between sets of boxes, as `keras.utils.bounding_boxes` computes them."""

from __future__ import annotations

import math

from kgraph import config, ops
from kgraph.utils.bounding_boxes.converters import convert_format


def _area(boxes):
    y_min, x_min, y_max, x_max = ops.split(boxes[..., :4], 4, axis=-1)
    return ops.squeeze((y_max - y_min) * (x_max - x_min), axis=-1)


def _intersection(boxes1, boxes2):
    """Pairwise intersection areas of yxyx boxes: `[N, M]` or `[batch, N, M]`."""
    y_min1, x_min1, y_max1, x_max1 = ops.split(boxes1[..., :4], 4, axis=-1)
    y_min2, x_min2, y_max2, x_max2 = ops.split(boxes2[..., :4], 4, axis=-1)
    perm = [1, 0] if len(boxes2.shape) == 2 else [0, 2, 1]
    height = ops.minimum(y_max1, ops.transpose(y_max2, perm)) - ops.maximum(y_min1, ops.transpose(y_min2, perm))
    width = ops.minimum(x_max1, ops.transpose(x_max2, perm)) - ops.maximum(x_min1, ops.transpose(x_min2, perm))
    zero = ops.cast(0, height.dtype)
    return ops.maximum(zero, height) * ops.maximum(zero, width)


def _check_rank(name: str, rank1: int, rank2: int, rank: int) -> None:
    if rank not in (2, 3):
        raise ValueError(f"compute_iou() expects {name} to be batched, or to be unbatched. Received "
                         f"len(boxes1.shape)={rank1}, len(boxes2.shape)={rank2}. Expected either "
                         f"len({name}.shape)=2 AND or len({name}.shape)=3.")


def compute_iou(boxes1, boxes2, bounding_box_format: str, use_masking: bool = False, mask_val=-1, image_shape=None):
    """Pairwise IoU of `boxes1` `([batch,] M, 4)` and `boxes2` `([batch,] N, 4)`: `([batch,] M, N)`.

    Args:
        bounding_box_format: the boxes' format (e.g. "xyxy", "rel_yxyx").
        use_masking: give `mask_val` to pairs where either box has all coordinates below 0.
        mask_val: the value of masked pairs.
        image_shape: `(height, width, channels)`, required for relative formats.
    """
    rank1, rank2 = len(ops.shape(boxes1)), len(ops.shape(boxes2))
    _check_rank("boxes1", rank1, rank2, rank1)
    _check_rank("boxes2", rank1, rank2, rank2)
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument "
                         f"must be provided.Received `image_shape`: {image_shape}")
    height, width = (None, None) if image_shape is None else tuple(image_shape[:2])
    boxes1 = convert_format(boxes1, source=bounding_box_format, target="yxyx", height=height, width=width)
    boxes2 = convert_format(boxes2, source=bounding_box_format, target="yxyx", height=height, width=width)
    intersection = _intersection(boxes1, boxes2)
    area1 = ops.expand_dims(_area(boxes1), axis=-1)
    area2 = _area(boxes2)
    area2 = ops.expand_dims(area2, axis=1 if len(area2.shape) == 2 else 0)
    result = ops.divide(intersection, area1 + area2 - intersection + config.epsilon())
    if not use_masking:
        return result
    perm = [1, 0] if rank1 == 2 else [0, 2, 1]
    background = ops.logical_or(ops.less(ops.max(boxes1, axis=-1, keepdims=True), 0.0),
                                ops.transpose(ops.less(ops.max(boxes2, axis=-1, keepdims=True), 0.0), perm))
    return ops.where(background, ops.cast(mask_val, result.dtype) * ops.ones_like(result), result)


def compute_ciou(boxes1, boxes2, bounding_box_format: str, image_shape=None):
    """Complete IoU of matching boxes (shape `(..., 4)` each): IoU minus center-distance and aspect-ratio terms.

    Args:
        bounding_box_format: the boxes' format; relative formats are refused, as in Keras.
        image_shape: `(height, width, channels)`.
    """
    if "rel" in bounding_box_format:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument "
                         f"must be provided.Received `image_shape`: {image_shape}")
    height, width = (None, None) if image_shape is None else tuple(image_shape[:2])
    boxes1 = convert_format(boxes1, source=bounding_box_format, target="xyxy", height=height, width=width)
    boxes2 = convert_format(boxes2, source=bounding_box_format, target="xyxy", height=height, width=width)
    eps = config.epsilon()
    x_min1, y_min1, x_max1, y_max1 = ops.split(boxes1[..., :4], 4, axis=-1)
    x_min2, y_min2, x_max2, y_max2 = ops.split(boxes2[..., :4], 4, axis=-1)
    width_1, height_1 = x_max1 - x_min1, y_max1 - y_min1 + eps
    width_2, height_2 = x_max2 - x_min2, y_max2 - y_min2 + eps
    intersection = (ops.maximum(ops.minimum(x_max1, x_max2) - ops.maximum(x_min1, x_min2), 0)
                    * ops.maximum(ops.minimum(y_max1, y_max2) - ops.maximum(y_min1, y_min2), 0))
    union = width_1 * height_1 + width_2 * height_2 - intersection + eps
    iou = ops.squeeze(ops.divide(intersection, union + eps), axis=-1)
    convex_width = ops.maximum(x_max1, x_max2) - ops.minimum(x_min1, x_min2)
    convex_height = ops.maximum(y_max1, y_max2) - ops.minimum(y_min1, y_min2)
    diagonal = ops.squeeze(convex_width ** 2 + convex_height ** 2 + eps, axis=-1)
    centers = ops.squeeze(((x_min1 + x_max1) / 2 - (x_min2 + x_max2) / 2) ** 2
                          + ((y_min1 + y_max1) / 2 - (y_min2 + y_max2) / 2) ** 2, axis=-1)
    v = ops.squeeze((4 / math.pi ** 2) * ops.power(ops.arctan(width_2 / height_2) - ops.arctan(width_1 / height_1), 2),
                    axis=-1)
    alpha = v / (v - iou + (1 + eps))
    return iou - (centers / diagonal + v * alpha)
