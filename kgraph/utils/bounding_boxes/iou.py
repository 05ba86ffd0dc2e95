"""IoU and Complete IoU between sets of boxes, as `keras.utils.bounding_boxes` computes them."""

from __future__ import annotations

import math

from kgraph import config
from kgraph.utils.bounding_boxes.backends import ops_for
from kgraph.utils.bounding_boxes.converters import convert_format


def _area(xp, boxes):
    y_min, x_min, y_max, x_max = xp.split(boxes[..., :4], 4, axis=-1)
    return xp.squeeze((y_max - y_min) * (x_max - x_min), axis=-1)


def _intersection(xp, boxes1, boxes2):
    """Pairwise intersection areas of yxyx boxes: `[N, M]` or `[batch, N, M]`."""
    y_min1, x_min1, y_max1, x_max1 = xp.split(boxes1[..., :4], 4, axis=-1)
    y_min2, x_min2, y_max2, x_max2 = xp.split(boxes2[..., :4], 4, axis=-1)
    perm = [1, 0] if len(boxes2.shape) == 2 else [0, 2, 1]
    height = xp.minimum(y_max1, xp.transpose(y_max2, perm)) - xp.maximum(y_min1, xp.transpose(y_min2, perm))
    width = xp.minimum(x_max1, xp.transpose(x_max2, perm)) - xp.maximum(x_min1, xp.transpose(x_min2, perm))
    zero = xp.cast(0, height.dtype)
    return xp.maximum(zero, height) * xp.maximum(zero, width)


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
    xp = ops_for(boxes1, boxes2)
    rank1, rank2 = len(xp.shape(boxes1)), len(xp.shape(boxes2))
    _check_rank("boxes1", rank1, rank2, rank1)
    _check_rank("boxes2", rank1, rank2, rank2)
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument "
                         f"must be provided.Received `image_shape`: {image_shape}")
    height, width = (None, None) if image_shape is None else tuple(image_shape[:2])
    boxes1 = convert_format(boxes1, source=bounding_box_format, target="yxyx", height=height, width=width)
    boxes2 = convert_format(boxes2, source=bounding_box_format, target="yxyx", height=height, width=width)
    intersection = _intersection(xp, boxes1, boxes2)
    area1 = xp.expand_dims(_area(xp, boxes1), axis=-1)
    area2 = _area(xp, boxes2)
    area2 = xp.expand_dims(area2, axis=1 if len(area2.shape) == 2 else 0)
    result = xp.divide(intersection, area1 + area2 - intersection + config.epsilon())
    if not use_masking:
        return result
    perm = [1, 0] if rank1 == 2 else [0, 2, 1]
    background = xp.logical_or(xp.less(xp.max(boxes1, axis=-1, keepdims=True), 0.0),
                                xp.transpose(xp.less(xp.max(boxes2, axis=-1, keepdims=True), 0.0), perm))
    return xp.where(background, xp.cast(mask_val, result.dtype) * xp.ones_like(result), result)


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
    xp = ops_for(boxes1, boxes2)
    eps = config.epsilon()
    x_min1, y_min1, x_max1, y_max1 = xp.split(boxes1[..., :4], 4, axis=-1)
    x_min2, y_min2, x_max2, y_max2 = xp.split(boxes2[..., :4], 4, axis=-1)
    width_1, height_1 = x_max1 - x_min1, y_max1 - y_min1 + eps
    width_2, height_2 = x_max2 - x_min2, y_max2 - y_min2 + eps
    intersection = (xp.maximum(xp.minimum(x_max1, x_max2) - xp.maximum(x_min1, x_min2), 0)
                    * xp.maximum(xp.minimum(y_max1, y_max2) - xp.maximum(y_min1, y_min2), 0))
    union = width_1 * height_1 + width_2 * height_2 - intersection + eps
    iou = xp.squeeze(xp.divide(intersection, union + eps), axis=-1)
    convex_width = xp.maximum(x_max1, x_max2) - xp.minimum(x_min1, x_min2)
    convex_height = xp.maximum(y_max1, y_max2) - xp.minimum(y_min1, y_min2)
    diagonal = xp.squeeze(convex_width ** 2 + convex_height ** 2 + eps, axis=-1)
    centers = xp.squeeze(((x_min1 + x_max1) / 2 - (x_min2 + x_max2) / 2) ** 2
                          + ((y_min1 + y_max1) / 2 - (y_min2 + y_max2) / 2) ** 2, axis=-1)
    v = xp.squeeze((4 / math.pi ** 2) * xp.power(xp.arctan(width_2 / height_2) - xp.arctan(width_1 / height_1), 2),
                    axis=-1)
    alpha = v / (v - iou + (1 + eps))
    return iou - (centers / diagonal + v * alpha)
