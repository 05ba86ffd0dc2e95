"""MaxNumBoundingBoxes: pads or truncates the bounding boxes of {"images", "bounding_boxes"} dicts to a fixed count."""

from __future__ import annotations

from kgraph import config, ops
from kgraph.layers.layer import Layer


class MaxNumBoundingBoxes(Layer):
    """Keeps the first `max_number` boxes and labels of each image and pads the rest with `fill_value`, so that
    batches have a fixed number of boxes; images and other keys pass unchanged.

    Args:
        max_number: the number of boxes per image.
        fill_value: the value of padding boxes and labels.
        bounding_box_format: the boxes' format (e.g. "xyxy"); needed when inputs have "bounding_boxes".
    """

    def __init__(self, max_number, fill_value=-1, bounding_box_format=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.max_number, self.fill_value = int(max_number), int(fill_value)
        self.bounding_box_format = bounding_box_format
        self.data_format = data_format or config.image_data_format()
        self.built = True

    def _fit(self, values, single: bool):
        """Truncates or pads axis 1 (axis 0 for a single image's boxes) to `max_number`."""
        axis = 0 if single else 1
        count = values.shape[axis]
        if count is None:
            raise ValueError(f"MaxNumBoundingBoxes needs a known number of boxes, got shape {tuple(values.shape)}")
        index = [slice(None)] * len(values.shape)
        index[axis] = slice(0, self.max_number)
        values = values[tuple(index)]
        widths = [(0, 0)] * len(values.shape)
        widths[axis] = (0, max(self.max_number - count, 0))
        return ops.pad(values, widths, constant_values=self.fill_value)

    def call(self, data, training=True):
        if not isinstance(data, dict):
            return data
        if "bounding_boxes" not in data:
            return dict(data)
        if not self.bounding_box_format:
            raise ValueError(f"You passed an input with a 'bounding_boxes' key, but you didn't specify a bounding box "
                             f"format. Pass a `bounding_box_format` argument to your {type(self).__name__} layer, "
                             f"e.g. `bounding_box_format='xyxy'`.")
        boxes = dict(data["bounding_boxes"])
        extra = set(boxes) - {"boxes", "labels"}
        if extra:
            raise KeyError(f"There are unsupported keys in `bounding_boxes`: {sorted(extra)}. Only `boxes` and "
                           f"`labels` are supported.")
        single = "images" in data and len(data["images"].shape) == 3
        boxes["boxes"] = self._fit(ops.convert_to_tensor(boxes["boxes"]), single)
        boxes["labels"] = self._fit(ops.convert_to_tensor(boxes["labels"]), single)
        return {**data, "bounding_boxes": boxes}

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config_ = {**super().get_config(), "data_format": self.data_format, "max_number": self.max_number}
        if self.bounding_box_format is not None:
            config_["bounding_box_format"] = self.bounding_box_format
        return config_
