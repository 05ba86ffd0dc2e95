"""Bounding-box format conversion and geometry, as `keras.utils.bounding_boxes` computes them (on kgraph ops)."""

from __future__ import annotations

import math

from kgraph import config
from kgraph.utils.bounding_boxes.backends import ops_for

SUPPORTED_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
                     "rel_center_xywh")


def _parts(xp, boxes):
    return xp.split(boxes, 4, axis=-1)


def _join(xp, *parts):
    return xp.concatenate(list(parts), axis=-1)


def _to_xyxy(xp, boxes, source: str, height, width):
    """`boxes` in `source` format as absolute [left, top, right, bottom]."""
    a, b, c, d = _parts(xp, boxes)
    if source == "xyxy":
        return boxes
    if source == "yxyx":
        return _join(xp, b, a, d, c)
    if source == "xywh":
        return _join(xp, a, b, a + c, b + d)
    if source == "center_xywh":
        return _join(xp, a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0)
    if source == "center_yxhw":
        return _join(xp, b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0)
    if source == "rel_xyxy":
        return _join(xp, a * width, b * height, c * width, d * height)
    if source == "rel_yxyx":
        return _join(xp, b * width, a * height, d * width, c * height)
    if source == "rel_xywh":
        return _join(xp, a * width, b * height, (a + c) * width, (b + d) * height)
    return _join(xp, (a - c / 2.0) * width, (b - d / 2.0) * height, (a + c / 2.0) * width, (b + d / 2.0) * height)


def _from_xyxy(xp, boxes, target: str, height, width):
    """Absolute [left, top, right, bottom] `boxes` in `target` format."""
    x1, y1, x2, y2 = _parts(xp, boxes)
    w, h = x2 - x1, y2 - y1
    cx, cy = x1 + w / 2.0, y1 + h / 2.0
    layouts = {
        "xyxy": lambda: boxes, "yxyx": lambda: _join(xp, y1, x1, y2, x2), "xywh": lambda: _join(xp, x1, y1, w, h),
        "center_xywh": lambda: _join(xp, cx, cy, w, h), "center_yxhw": lambda: _join(xp, cy, cx, h, w),
        "rel_xyxy": lambda: _join(xp, xp.divide(x1, width), xp.divide(y1, height), xp.divide(x2, width),
                                  xp.divide(y2, height)),
        "rel_yxyx": lambda: _join(xp, xp.divide(y1, height), xp.divide(x1, width), xp.divide(y2, height),
                                  xp.divide(x2, width)),
        "rel_xywh": lambda: _join(xp, x1 / width, y1 / height, w / width, h / height),
        "rel_center_xywh": lambda: _join(xp, cx / width, cy / height, w / width, h / height),
    }
    return layouts[target]()


def convert_format(boxes, source: str, target: str, height=None, width=None, dtype: str = "float32"):
    """Converts bounding boxes between formats ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw" and the
    relative "rel_…" ones, normalized by the image `height` and `width`).

    Args:
        boxes: `(..., 4)` boxes, or a dict whose "boxes" entry is converted.
        source, target: the formats (case-insensitive).
        height, width: the image size; required when either format is relative.
        dtype: the dtype of the result.
    """
    if isinstance(boxes, dict):
        boxes["boxes"] = convert_format(boxes["boxes"], source=source, target=target, height=height, width=width,
                                        dtype=dtype)
        return boxes
    xp = ops_for(boxes)
    boxes = xp.convert_to_tensor(boxes)
    shape = xp.shape(boxes)
    if shape[-1] != 4:
        raise ValueError(f"`boxes` must be a tensor with the last dimension of 4. Received: boxes.shape={shape}")
    source, target = source.lower(), target.lower()
    if source not in SUPPORTED_FORMATS or target not in SUPPORTED_FORMATS:
        raise ValueError(f"Invalid source or target format. Supported formats: {SUPPORTED_FORMATS}")
    if (source.startswith("rel_") or target.startswith("rel_")) and (width is None or height is None):
        raise ValueError("convert_format() must receive `height` and `width` transforming between relative and "
                         f"absolute formats.convert_format() received source=`{source}`, target=`{target}, but "
                         f"height={height} and width={width}.")
    boxes = xp.cast(boxes, dtype)
    if source == target:
        return boxes
    width = xp.cast(width, dtype) if width is not None else None
    height = xp.cast(height, dtype) if height is not None else None
    if source.startswith("rel_") and target.startswith("rel_"):
        source, target = source[4:], target[4:]
    return _from_xyxy(xp, _to_xyxy(xp, boxes, source, height, width), target, height, width)


def _area(xp, boxes):
    x1, y1, x2, y2 = _parts(xp, boxes)
    return (x2 - x1) * (y2 - y1)


def clip_to_image_size(bounding_boxes: dict, height=None, width=None, bounding_box_format: str = "xyxy") -> dict:
    """Clips `bounding_boxes["boxes"]` to the image; labels of boxes left with no area become -1.

    Args:
        bounding_boxes: a dict of "boxes" `(N, 4)` or `(batch, N, 4)` and optional "labels".
        height, width: the image size (required for "xyxy").
        bounding_box_format: "xyxy" or "rel_xyxy".
    """
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(f"clip_to_image_size supports the 'xyxy' and 'rel_xyxy' formats, as Keras does. "
                                  f"Received: bounding_box_format={bounding_box_format!r}")
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError("`height` and `width` must be set if `format='xyxy'`.")
    xp = ops_for(bounding_boxes["boxes"])
    boxes = xp.convert_to_tensor(bounding_boxes["boxes"])
    labels = bounding_boxes.get("labels", None)
    if bounding_box_format == "xyxy":
        width, height = xp.cast(width, boxes.dtype), xp.cast(height, boxes.dtype)
    else:
        width = height = 1.0
    x1, y1, x2, y2 = _parts(xp, boxes)
    boxes = _join(xp, xp.clip(x1, 0, width), xp.clip(y1, 0, height), xp.clip(x2, 0, width), xp.clip(y2, 0, height))
    result = dict(bounding_boxes)
    result["boxes"] = boxes
    if labels is not None:
        labels = xp.where(xp.squeeze(_area(xp, boxes), axis=-1) > 0, labels, -1)
        integer = str(getattr(labels.dtype, "name", labels.dtype)).startswith(("int", "uint"))
        result["labels"] = xp.cast(labels, "int32") if integer else labels  # int32 labels, as Keras gives
    return result


def _check_xyxy(bounding_box_format: str, what: str) -> None:
    if bounding_box_format != "xyxy":
        raise NotImplementedError(f"{what} supports the 'xyxy' format only, as Keras does. "
                                  f"Received: bounding_box_format={bounding_box_format!r}")


def _inverse_affine_matrix(xp, center_x, center_y, angle, translate_x, translate_y, scale, shear_x, shear_y, height,
                           width):
    """Per-image 3x3 inverse affine matrices (TF's `_get_inverse_affine_matrix`, as Keras builds them)."""
    batch_size = xp.shape(angle)[0]
    dtype = angle.dtype
    angle, shear_x, shear_y = -angle, -shear_x, -shear_y
    cx = xp.multiply(center_x, (width - 1))
    cy = xp.multiply(center_y, (height - 1))
    rot = xp.multiply(angle, 1.0 / 180.0 * math.pi)
    tx = xp.multiply(-translate_x, (width - 1))
    ty = xp.multiply(-translate_y, (height - 1))
    sx = xp.multiply(shear_x, 1.0 / 180.0 * math.pi)
    sy = xp.multiply(shear_y, 1.0 / 180.0 * math.pi)
    cos_sy, tan_sx = xp.cos(sy), xp.tan(sx)
    rot_minus_sy, cx_plus_tx, cy_plus_ty = rot - sy, cx + tx, cy + ty
    a = xp.cos(rot_minus_sy) / cos_sy
    b = a * tan_sx + xp.sin(rot)
    c = -xp.sin(rot_minus_sy) / cos_sy
    d = xp.cos(rot) - c * tan_sx
    a0, a1 = xp.multiply(d, scale), xp.multiply(-b, scale)
    b0, b1 = xp.multiply(-c, scale), xp.multiply(a, scale)
    a2 = cx - a0 * cx_plus_tx - a1 * cy_plus_ty
    b2 = cy - b0 * cx_plus_tx - b1 * cy_plus_ty
    zeros, ones = xp.zeros([batch_size], dtype), xp.ones([batch_size], dtype)
    matrix = xp.stack([a0, a1, a2, b0, b1, b2, zeros, zeros, ones], axis=-1)
    return xp.reshape(matrix, [batch_size, 3, 3])


def affine_transform(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y, height, width, center_x=None,
                     center_y=None, bounding_box_format: str = "xyxy"):
    """Applies a per-image affine transformation to `(batch, N, 4)` boxes; each box becomes the bounding box of
    its transformed corners.

    Args:
        boxes: `(batch, N, 4)` boxes.
        angle, shear_x, shear_y: `(batch,)` angles in degrees.
        translate_x, translate_y: `(batch,)` translations as fractions of the image size.
        scale: `(batch,)` scaling factors.
        height, width: the image size.
        center_x, center_y: the center of the transformation as fractions (default 0.5).
        bounding_box_format: "xyxy" only.
    """
    _check_xyxy(bounding_box_format, "affine_transform")
    xp = ops_for(boxes, angle)
    batch_size, n_boxes = xp.shape(boxes)[0], xp.shape(boxes)[1]
    matrix = _inverse_affine_matrix(xp, 0.5 if center_x is None else center_x, 0.5 if center_y is None else center_y,
                                    angle, translate_x, translate_y, scale, shear_x, shear_y, height, width)
    boxes = xp.cast(boxes, matrix.dtype)
    transposed = xp.transpose(matrix[:, :2, :], [0, 2, 1])
    corners = xp.stack([boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 1], boxes[..., 2], boxes[..., 3],
                         boxes[..., 0], boxes[..., 3]], axis=-1)
    corners = xp.reshape(corners, [batch_size, n_boxes, 4, 2])
    corners = xp.concatenate([corners, xp.ones([batch_size, n_boxes, 4, 1], corners.dtype)], axis=-1)
    moved = xp.einsum("bnxy,byz->bnxz", corners, transposed)
    return xp.concatenate([xp.amin(moved, axis=2), xp.amax(moved, axis=2)], axis=-1)


def crop(boxes, top, left, height, width, bounding_box_format: str = "xyxy"):
    """Boxes relative to the crop at (`top`, `left`) of size (`height`, `width`), clipped to it ("xyxy" only)."""
    _check_xyxy(bounding_box_format, "crop")
    xp = ops_for(boxes)
    x1, y1, x2, y2 = _parts(xp, boxes)
    return _join(xp, xp.clip(x1 - left, 0, width), xp.clip(y1 - top, 0, height), xp.clip(x2 - left, 0, width),
                 xp.clip(y2 - top, 0, height))


def pad(boxes, top, left, height=None, width=None, bounding_box_format: str = "xyxy"):
    """Boxes moved by `top` and `left` pixels of padding ("xyxy" only)."""
    _check_xyxy(bounding_box_format, "pad")
    xp = ops_for(boxes)
    x1, y1, x2, y2 = _parts(xp, boxes)
    return _join(xp, x1 + left, y1 + top, x2 + left, y2 + top)


def _checked_variance(xp, variance):
    if variance is None:
        return None
    variance = xp.convert_to_tensor(variance, "float32")
    if variance.shape[-1] != 4:
        raise ValueError(f"`variance` must be length 4, got {variance}")
    return variance


def _image_size(image_shape):
    return (None, None) if image_shape is None else tuple(image_shape[:2])


def encode_box_to_deltas(anchors, boxes, anchor_format: str, box_format: str, encoding_format: str = "center_yxhw",
                         variance=None, image_shape=None):
    """The deltas (center offsets over anchor sizes, log size ratios) that take `anchors` to `boxes`.

    Args:
        anchors: `(N, 4)` anchor boxes in `anchor_format`.
        boxes: `(N, 4)` or `(batch, N, 4)` boxes in `box_format`.
        encoding_format: "center_yxhw" or "center_xywh", the layout of the deltas.
        variance: 4 factors the deltas are divided by.
        image_shape: `(height, width, channels)`, for relative formats.
    """
    xp = ops_for(anchors, boxes)
    variance = _checked_variance(xp, variance)
    if encoding_format not in ["center_xywh", "center_yxhw"]:
        raise ValueError(f"`encoding_format` should be one of 'center_xywh' or 'center_yxhw', got {encoding_format}")
    height, width = _image_size(image_shape)
    anchors = convert_format(anchors, source=anchor_format, target=encoding_format, height=height, width=width)
    boxes = convert_format(boxes, source=box_format, target=encoding_format, height=height, width=width)
    anchor_sizes = xp.maximum(anchors[..., 2:], config.epsilon())
    box_sizes = xp.maximum(boxes[..., 2:], config.epsilon())
    deltas = xp.concatenate([(boxes[..., :2] - anchors[..., :2]) / anchor_sizes,
                              xp.log(box_sizes / anchor_sizes)], axis=-1)
    return deltas / variance if variance is not None else deltas


def decode_deltas_to_boxes(anchors, boxes_delta, anchor_format: str, box_format: str,
                           encoded_format: str = "center_yxhw", variance=None, image_shape=None):
    """The boxes (in `box_format`) that `boxes_delta` make of `anchors`; the inverse of `encode_box_to_deltas`.

    Args:
        anchors: `(N, 4)` anchors, or a dict of them by feature level.
        boxes_delta: `(N, 4)` or `(batch, N, 4)` deltas, structured as `anchors`.
        encoded_format: "center_yxhw" or "center_xywh", the layout of the deltas.
        variance: 4 factors the deltas are multiplied by.
        image_shape: `(height, width, channels)`, for relative formats.
    """
    xp = ops_for(*(anchors.values() if isinstance(anchors, dict) else [anchors]),
                 *(boxes_delta.values() if isinstance(boxes_delta, dict) else [boxes_delta]))
    variance = _checked_variance(xp, variance)
    if encoded_format not in ["center_xywh", "center_yxhw"]:
        raise ValueError(f"`encoded_format` should be 'center_xywh' or 'center_yxhw', but got '{encoded_format}'.")
    height, width = _image_size(image_shape)

    def decode(anchor, delta):
        anchor = convert_format(anchor, source=anchor_format, target=encoded_format, height=height, width=width)
        if variance is not None:
            delta = delta * variance
        box = xp.concatenate([delta[..., :2] * anchor[..., 2:] + anchor[..., :2],
                               xp.exp(delta[..., 2:]) * anchor[..., 2:]], axis=-1)
        return convert_format(box, source=encoded_format, target=box_format, height=height, width=width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)
