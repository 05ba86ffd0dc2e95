"""`kgraph.visualization`: Keras' helpers that draw boxes and masks on images and plot image galleries.

Drawing boxes needs OpenCV and the galleries need matplotlib: `pip install kgraph[visualization]`.
"""

from kgraph.visualization.drawing import draw_bounding_boxes, draw_segmentation_masks
from kgraph.visualization.galleries import (
    plot_bounding_box_gallery, plot_image_gallery, plot_segmentation_mask_gallery,
)

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery", "plot_image_gallery",
           "plot_segmentation_mask_gallery"]
