"""`kgraph.utils.bounding_boxes`: Keras' bounding-box helpers (format conversion, clipping, IoU, anchor deltas)."""

from kgraph.utils.bounding_boxes.converters import (
    affine_transform, clip_to_image_size, convert_format, crop, decode_deltas_to_boxes, encode_box_to_deltas, pad,
)
from kgraph.utils.bounding_boxes.iou import compute_ciou, compute_iou

__all__ = ["affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou", "convert_format", "crop",
           "decode_deltas_to_boxes", "encode_box_to_deltas", "pad"]
