"""kgraph.visualization against keras.visualization: the same drawn arrays, and the same plotted galleries
(decoded from the PNG files both write)."""

import keras
import matplotlib
import numpy as np
import pytest

import kgraph

matplotlib.use("Agg")
from matplotlib import image as mpimg  # noqa: E402  (after choosing the non-interactive backend)

_rng = np.random.default_rng(5)
IMAGES = _rng.integers(0, 256, (3, 48, 64, 3)).astype("float32")
BOXES = {"boxes": np.array([[[4, 6, 30, 40], [10, 2, 60, 20], [0, 0, 5, 5]],
                            [[20, 20, 40, 47], [1, 30, 63, 45], [8, 8, 16, 16]],
                            [[0, 0, 63, 47], [30, 10, 35, 40], [12, 25, 50, 44]]], "float32"),
         "labels": np.array([[0, 1, -1], [2, 0, 1], [1, 1, 2]]),
         "confidences": _rng.uniform(size=(3, 3)).astype("float32")}
MASKS = _rng.integers(-1, 4, (3, 48, 64, 1)).astype("int32")
NAMES = {0: "cat", 1: "dog", 2: "bird"}


def in_format(fmt):
    boxes = keras.utils.bounding_boxes.convert_format(BOXES["boxes"].copy(), "xyxy", fmt, height=48, width=64)
    return {**BOXES, "boxes": np.asarray(boxes)}


def both(name, *args, **kwargs):
    return (getattr(kgraph.visualization, name)(*args, **kwargs),
            getattr(keras.visualization, name)(*args, **kwargs))


@pytest.mark.parametrize("fmt", ["xyxy", "center_xywh", "rel_yxyx"])
def test_draw_bounding_boxes(fmt):
    ours, theirs = both("draw_bounding_boxes", IMAGES, in_format(fmt), fmt, class_mapping=NAMES, color=(255, 0, 0),
                        line_thickness=1, font_scale=0.4)
    assert ours.dtype == np.uint8 and not np.array_equal(ours, IMAGES.astype("uint8"))
    np.testing.assert_array_equal(ours, np.asarray(theirs))
    scaled = IMAGES / 255.0  # floats in [0, 1] are drawn on 0..255
    np.testing.assert_array_equal(*both("draw_bounding_boxes", scaled, BOXES, "xyxy"))


@pytest.mark.parametrize("kwargs", [{}, {"num_classes": 4, "alpha": 0.5},
                                    {"num_classes": 4, "color_mapping": {i: (i * 60, 0, 255 - i * 60)
                                                                         for i in range(4)}},
                                    {"num_classes": 4, "blend": False}])
def test_draw_segmentation_masks(kwargs):
    ours, theirs = both("draw_segmentation_masks", IMAGES, MASKS, **kwargs)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    assert not np.array_equal(np.asarray(ours), IMAGES)


def plotted(tmp_path, name, *args, **kwargs):
    """The pixels of the figures both libraries save."""
    pixels = []
    for lib in (kgraph, keras):
        path = tmp_path / f"{lib.__name__}.png"
        getattr(lib.visualization, name)(*args, path=str(path), **kwargs)
        pixels.append(mpimg.imread(path))
    return pixels


def test_plot_image_gallery(tmp_path):
    ours, theirs = plotted(tmp_path, "plot_image_gallery", IMAGES / 255.0, y_true=np.array([0, 1, 2]),
                           y_pred=np.array([0, 2, 2]), label_map=NAMES, value_range=(0, 1), rows=1, cols=3)
    np.testing.assert_array_equal(ours, theirs)


def test_plot_bounding_box_gallery(tmp_path):
    ours, theirs = plotted(tmp_path, "plot_bounding_box_gallery", IMAGES, "xyxy", y_true=BOXES,
                           y_pred={"boxes": BOXES["boxes"] + 3, "labels": BOXES["labels"]}, class_mapping=NAMES,
                           legend=True, font_scale=0.4, rows=2, cols=1)
    np.testing.assert_array_equal(ours, theirs)


def test_plot_segmentation_mask_gallery(tmp_path):
    ours, theirs = plotted(tmp_path, "plot_segmentation_mask_gallery", IMAGES, 4, y_true=MASKS,
                           y_pred=np.roll(MASKS, 3, axis=2))
    np.testing.assert_array_equal(ours, theirs)


def test_clear_errors():
    with pytest.raises(ValueError, match="batched 4D"):
        kgraph.visualization.draw_bounding_boxes(IMAGES[0], BOXES, "xyxy")
    with pytest.raises(ValueError, match="'boxes' and 'labels'"):
        kgraph.visualization.draw_bounding_boxes(IMAGES, {"boxes": BOXES["boxes"]}, "xyxy")
    with pytest.raises(TypeError, match="integer dtype"):
        kgraph.visualization.draw_segmentation_masks(IMAGES, MASKS.astype("float32"))
    with pytest.raises(ValueError, match="label_map"):
        kgraph.visualization.plot_image_gallery(IMAGES, y_true=[0, 1, 2], path="x.png")
