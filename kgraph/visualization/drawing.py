"""Bounding boxes and segmentation masks drawn onto batches of images, pixel for pixel as Keras draws them."""

from __future__ import annotations

import numpy as np

from kgraph import config, ops
from kgraph.utils.bounding_boxes import convert_format

try:
    import cv2
except ImportError:
    cv2 = None


def _batched_shape(images) -> tuple:
    shape = tuple(np.shape(images))
    if len(shape) != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: images.shape={shape}")
    return shape


def _text_location(x: int, y: int, font_scale: float, thickness: int) -> tuple[int, int]:
    """Where a box's label goes: above the box when it fits, else inside its top-left corner."""
    font_height = int(font_scale * 12)
    if y - 8 - 2 * font_height > 0:
        return x, y - 8
    return x + 3, y + 2 * font_height + thickness + 3


def draw_bounding_boxes(images, bounding_boxes: dict, bounding_box_format: str, class_mapping: dict | None = None,
                        color=(128, 128, 128), line_thickness: int = 2, text_thickness: int = 1,
                        font_scale: float = 1.0, data_format: str | None = None) -> np.ndarray:
    """Draws each image's boxes (and the class names of their labels) with OpenCV; returns uint8 images.

    Args:
        images: `(batch, height, width, channels)` images; floats in [0, 1] are scaled to [0, 255].
        bounding_boxes: a dict of "boxes" `(batch, N, 4)`, "labels" `(batch, N)` (-1 skips a box) and optional
            "confidences" `(batch, N)`.
        bounding_box_format: the boxes' format (see `kgraph.utils.bounding_boxes.convert_format`).
        class_mapping: class id -> the name written next to its boxes.
        color: the RGB color of boxes and text.
        line_thickness, text_thickness, font_scale: the drawing sizes.
        data_format: "channels_last" or "channels_first" (where height and width are read).
    """
    if cv2 is None:
        raise ImportError("The `draw_bounding_boxes` function requires the `cv2` package  (OpenCV). Please install "
                          "it with `pip install opencv-python`.")
    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    data_format = data_format or config.image_data_format()
    shape = _batched_shape(images)
    if not isinstance(bounding_boxes, dict):
        raise TypeError(f"`bounding_boxes` should be a dict. Received: bounding_boxes={bounding_boxes} of type "
                        f"{type(bounding_boxes)}")
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError(f"`bounding_boxes` should be a dict containing 'boxes' and 'labels' keys. Received: "
                         f"bounding_boxes={bounding_boxes}")
    height, width = (shape[1], shape[2]) if data_format == "channels_last" else (shape[2], shape[3])
    bounding_boxes = convert_format(dict(bounding_boxes), bounding_box_format, "xyxy", height, width)
    images = np.array(images)
    if images.dtype.kind == "f" and images.size > 0:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0, 255)
    images = images.astype("uint8")
    boxes = np.asarray(bounding_boxes["boxes"])
    labels = np.asarray(bounding_boxes["labels"])
    confidences = np.asarray(bounding_boxes["confidences"]) if "confidences" in bounding_boxes else None
    for i, image in enumerate(images):
        for j, box in enumerate(boxes[i]):
            label = int(labels[i][j].astype("int32"))
            if label == -1:
                continue
            x1, y1, x2, y2 = (int(v) for v in box.astype("int32"))
            cv2.rectangle(image, (x1, y1), (x2, y2), color, line_thickness)
            if label in class_mapping:
                text = class_mapping[label]
                if confidences is not None:
                    text = f"{text} | {confidences[i][j]:.2f}"
                cv2.putText(img=image, text=text, org=_text_location(x1, y1, font_scale, text_thickness),
                            fontFace=cv2.FONT_HERSHEY_SIMPLEX, fontScale=font_scale, color=color,
                            thickness=text_thickness)
    return images


def _color_palette(num_classes: int) -> list:
    palette = np.array([2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1])
    return [(i * palette % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(images, segmentation_masks, num_classes: int | None = None,
                            color_mapping: dict | None = None, alpha: float = 0.8, blend: bool = True,
                            ignore_index: int = -1, data_format: str | None = None):
    """Colors each pixel by its class in `segmentation_masks`, blended over the images with `alpha`.

    Args:
        images: `(batch, height, width, channels)` images.
        segmentation_masks: integer `(batch, height, width, 1)` class ids; `ignore_index` pixels stay as they are.
        num_classes: the number of classes (default: the largest id, as Keras counts them).
        color_mapping: class id -> RGB color (default: Keras' palette).
        alpha, blend: blend the colors over the images (uint8 result), or return the colored images (float32).
        data_format: "channels_last" or "channels_first".
    """
    data_format = data_format or config.image_data_format()
    _batched_shape(images)
    images, masks = np.asarray(images), np.asarray(segmentation_masks)
    if data_format == "channels_first":
        images, masks = images.transpose(0, 2, 3, 1), masks.transpose(0, 2, 3, 1)
    images = images.astype("float32")
    if masks.dtype.kind not in "iu":
        raise TypeError(f"`segmentation_masks` must be in integer dtype. Received: "
                        f"segmentation_masks.dtype={masks.dtype.name}")
    num_classes = int(masks.max()) if num_classes is None else num_classes
    colors = _color_palette(num_classes) if color_mapping is None else [color_mapping[i] for i in range(num_classes)]
    valid = masks[..., 0] != ignore_index
    drawn = images.copy()
    for class_id, color in enumerate(colors):
        drawn[masks[..., 0] == class_id, ...] = np.array(color, dtype=drawn.dtype)[None, :]
    if not blend:
        return ops.convert_to_tensor(drawn)
    blended = images * (1 - alpha) + drawn * alpha
    return np.where(valid[..., None], blended, images).astype("uint8")
