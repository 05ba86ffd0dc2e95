"""Image galleries plotted with matplotlib, as Keras lays them out: plain images, with boxes, with masks."""

from __future__ import annotations

import functools
import math

import numpy as np

from kgraph import config
from kgraph.visualization.drawing import draw_bounding_boxes, draw_segmentation_masks

try:
    import matplotlib.pyplot as plt
    from matplotlib import patches
except ImportError:
    plt = patches = None


def _rescaled(images, value_range) -> np.ndarray:
    """`images` from `value_range` to [0, 255], in float32."""
    if value_range[0] == 0 and value_range[1] == 255:
        return images
    low, high = np.float32(value_range[0]), np.float32(value_range[1])
    return (np.asarray(images, "float32") - low) / (high - low) * np.float32(255) + np.float32(0)


def plot_image_gallery(images, y_true=None, y_pred=None, label_map: dict | None = None, rows: int | None = None,
                       cols: int | None = None, value_range=(0, 255), scale: float = 2, path=None, show=None,
                       transparent: bool = True, dpi: int = 60, legend_handles=None, data_format: str | None = None):
    """Plots a grid of images (with their true/predicted class names) and saves it to `path` or shows it.

    Args:
        images: `(batch, height, width, channels)` images in `value_range`.
        y_true, y_pred: class ids written above each image, named by `label_map`.
        rows, cols: the grid (default: about square).
        scale: inches per image.
        path: a file to save the figure to; otherwise it is shown.
        transparent, dpi: how the file is written.
        legend_handles: matplotlib handles of a legend under the grid.
        data_format: "channels_last" or "channels_first".
    """
    if plt is None:
        raise ImportError("The `plot_image_gallery` function requires the `matplotlib` package. Please install it "
                          "with `pip install matplotlib`.")
    if path is not None and show:
        raise ValueError("plot_gallery() expects either `path` to be set, or `show` to be true.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError("If `y_true` or `y_pred` are provided, a `label_map` must also be provided.")
    show = show if show is not None else path is None
    data_format = data_format or config.image_data_format()
    shape = np.shape(images)
    batch_size = shape[0] if len(shape) == 4 else 1
    rows = rows or int(math.ceil(math.sqrt(batch_size)))
    cols = cols or int(math.ceil(batch_size // rows))
    if len(shape) != 4:
        raise ValueError("`plot_images_gallery()` requires you to batch your `np.array` samples together.")
    images = np.asarray(images)[:min(rows * cols, batch_size), ...]
    if data_format == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    fig, axes = plt.subplots(nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale), frameon=False,
                             layout="tight", squeeze=True, sharex="row", sharey="col")
    fig.subplots_adjust(wspace=0, hspace=0)
    if isinstance(axes, np.ndarray) and len(axes.shape) == 1:
        axes = np.expand_dims(axes, 0 if rows == 1 else -1)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    images = np.asarray(_rescaled(images, value_range))
    y_true = np.asarray(y_true) if y_true is not None else None
    y_pred = np.asarray(y_pred) if y_pred is not None else None
    for row in range(rows):
        for col in range(cols):
            index = row * cols + col
            axis = axes[row, col] if isinstance(axes, np.ndarray) else axes
            axis.imshow(images[index].astype("uint8"))
            axis.margins(x=0, y=0)
            axis.axis("off")
            title = []
            if y_true is not None and index < len(y_true):
                title.append(f"Label: {label_map.get(y_true[index], 'Unknown')}")
            if y_pred is not None and index < len(y_pred):
                title.append(f"Pred: {label_map.get(y_pred[index], 'Unknown')}")
            if title:
                axis.set_title("  ".join(title), fontsize=8)
    if path is not None:
        plt.savefig(fname=path, pad_inches=0, bbox_inches="tight", transparent=transparent, dpi=dpi)
        plt.close()
    elif show:
        plt.show()
        plt.close()


def plot_bounding_box_gallery(images, bounding_box_format: str, y_true=None, y_pred=None, value_range=(0, 255),
                              true_color=(0, 188, 212), pred_color=(255, 235, 59), line_thickness: int = 2,
                              font_scale: float = 1.0, text_thickness: int | None = None,
                              class_mapping: dict | None = None, ground_truth_mapping: dict | None = None,
                              prediction_mapping: dict | None = None, legend: bool = False, legend_handles=None,
                              rows: int | None = None, cols: int | None = None, data_format: str | None = None,
                              **kwargs):
    """Plots a gallery of images with their true and predicted boxes drawn in two colors.

    Args:
        images: `(batch, height, width, channels)` images in `value_range`.
        bounding_box_format: the boxes' format.
        y_true, y_pred: dicts of "boxes" and "labels" (see `draw_bounding_boxes`).
        true_color, pred_color: their RGB colors.
        class_mapping: class id -> name, for both (or `ground_truth_mapping`/`prediction_mapping`).
        legend: add a "Ground Truth"/"Prediction" legend.
        **kwargs: passed to `plot_image_gallery` (path, show, scale, ...).
    """
    if patches is None:
        raise ImportError("The `plot_bounding_box_gallery` function requires the  `matplotlib` package. Please "
                          "install it with  `pip install matplotlib`.")
    prediction_mapping = prediction_mapping or class_mapping
    ground_truth_mapping = ground_truth_mapping or class_mapping
    data_format = data_format or config.image_data_format()
    _check_batched(images)
    plotted = np.asarray(images)
    if data_format == "channels_first":
        plotted = plotted.transpose(0, 2, 3, 1)
    draw = functools.partial(draw_bounding_boxes, bounding_box_format=bounding_box_format,
                             line_thickness=line_thickness, text_thickness=text_thickness, font_scale=font_scale)
    if y_true is not None:
        plotted = draw(plotted, y_true, color=true_color, class_mapping=ground_truth_mapping)
    if y_pred is not None:
        plotted = draw(plotted, y_pred, color=pred_color, class_mapping=prediction_mapping)
    if legend:
        if legend_handles:
            raise ValueError("Only pass `legend` OR `legend_handles` to "
                             "`keras.visualization.plot_bounding_box_gallery()`.")
        legend_handles = [patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
                          patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction")]
    return plot_image_gallery(plotted, value_range=value_range, legend_handles=legend_handles, rows=rows, cols=cols,
                              **kwargs)


def _check_batched(images) -> None:
    shape = np.shape(images)
    if len(shape) != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: images.shape={tuple(shape)}")


def plot_segmentation_mask_gallery(images, num_classes: int, value_range=(0, 255), y_true=None, y_pred=None,
                                   color_mapping: dict | None = None, blend: bool = True, alpha: float = 0.8,
                                   ignore_index: int = -1, data_format: str | None = None, **kwargs):
    """Plots each image next to its true and predicted masks (one row per image).

    Args:
        images: `(batch, height, width, channels)` images in `value_range`.
        num_classes: the number of mask classes.
        y_true, y_pred: integer `(batch, height, width, 1)` masks.
        color_mapping, blend, alpha, ignore_index: as in `draw_segmentation_masks`.
        **kwargs: passed to `plot_image_gallery` (path, show, scale, ...).
    """
    data_format = data_format or config.image_data_format()
    _check_batched(images)
    images = np.asarray(images)
    if data_format == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    draw = functools.partial(draw_segmentation_masks, num_classes=num_classes, color_mapping=color_mapping,
                             alpha=alpha, ignore_index=ignore_index, blend=blend)
    columns = [images]
    for masks in (y_true, y_pred):
        if masks is not None:
            masks = np.asarray(masks)
            if data_format == "channels_first":
                masks = masks.transpose(0, 2, 3, 1)
            columns.append(np.asarray(draw(images, masks.astype("int32"))))
    gallery = np.stack([column[i] for i in range(images.shape[0]) for column in columns], axis=0)
    return plot_image_gallery(gallery, value_range=value_range, rows=images.shape[0], cols=len(columns), **kwargs)
