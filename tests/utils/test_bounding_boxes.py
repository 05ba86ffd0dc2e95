"""kgraph.utils.bounding_boxes against keras.utils.bounding_boxes on random boxes: every function, every format,
eagerly and inside tf.data pipelines."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgraph

FORMATS = ["xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
           "rel_center_xywh"]
HEIGHT, WIDTH = 60, 80
_rng = np.random.default_rng(3)


def random_boxes(*batch, n=5):
    """Valid xyxy boxes inside (and a little outside) a HEIGHT x WIDTH image, float32."""
    x1 = _rng.uniform(-5, WIDTH * 0.7, batch + (n,))
    y1 = _rng.uniform(-5, HEIGHT * 0.7, batch + (n,))
    w, h = _rng.uniform(1, WIDTH * 0.5, batch + (n,)), _rng.uniform(1, HEIGHT * 0.5, batch + (n,))
    return np.stack([x1, y1, x1 + w, y1 + h], axis=-1).astype("float32")


def in_format(xyxy, fmt):
    return np.asarray(keras.utils.bounding_boxes.convert_format(xyxy.copy(), "xyxy", fmt, height=HEIGHT, width=WIDTH))


def close(got, want, **tol):
    if isinstance(want, dict):
        assert sorted(got) == sorted(want)
        for key in want:
            close(got[key], want[key], **tol)
        return
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), **({"rtol": 1e-5, "atol": 1e-5} | tol))


def tree_leaves(x):
    return [x[k] for k in sorted(x)] if isinstance(x, dict) else [x]


def both(name, *args, **kwargs):
    """Both libraries' results; dict arguments are copied, since `convert_format` writes into its dict."""
    def fresh(values):
        return [dict(v) if isinstance(v, dict) else v for v in values]

    ours = getattr(kgraph.utils.bounding_boxes, name)(*fresh(args), **kwargs)
    theirs = getattr(keras.utils.bounding_boxes, name)(*fresh(args), **kwargs)
    assert ours is not theirs
    return ours, theirs


def test_namespace_matches_keras():
    public = {n for n in dir(keras.utils.bounding_boxes) if not n.startswith("_")}
    assert public <= set(dir(kgraph.utils.bounding_boxes))


@pytest.mark.parametrize("source", FORMATS)
def test_convert_format_every_pair(source):
    boxes = in_format(random_boxes(2), source)
    for target in FORMATS:
        close(*both("convert_format", boxes, source, target, height=HEIGHT, width=WIDTH))
    ours, theirs = both("convert_format", {"boxes": boxes, "labels": np.arange(5)}, source, "xywh", height=HEIGHT,
                        width=WIDTH)
    close(ours, theirs)


@pytest.mark.parametrize("fmt", ["xyxy", "rel_xyxy"])
def test_clip_to_image_size(fmt):
    boxes = random_boxes(2) * 1.6 - 20
    boxes[0, 0] = [-30, -30, -10, -10]  # wholly outside: its label becomes -1
    if fmt == "rel_xyxy":
        boxes = in_format(boxes, "rel_xyxy")
    data = {"boxes": boxes, "labels": _rng.integers(0, 4, (2, 5))}
    close(*both("clip_to_image_size", data, height=HEIGHT, width=WIDTH, bounding_box_format=fmt))


@pytest.mark.parametrize("fmt", FORMATS)
def test_iou_and_ciou(fmt):
    a, b = random_boxes(3, n=4), random_boxes(3, n=6)
    a[0, 0] = -1.0  # a background box, masked with use_masking
    shape = (HEIGHT, WIDTH, 3)
    fa, fb = in_format(a, fmt), in_format(b, fmt)
    for x, y in ((fa, fb), (fa[0], fb[0]), (fa, fb[0]), (fa[0], fb)):
        close(*both("compute_iou", x, y, fmt, image_shape=shape))
    for x, y in ((fa, fb), (fa[0], fb[0])):  # Keras masks boxes of one rank only
        close(*both("compute_iou", x, y, fmt, use_masking=True, mask_val=-2, image_shape=shape))
    if not fmt.startswith("rel"):
        close(*both("compute_ciou", fa, in_format(random_boxes(3, n=4), fmt), fmt, image_shape=shape))


@pytest.mark.parametrize("anchor_format", FORMATS)
@pytest.mark.parametrize("encoding", ["center_yxhw", "center_xywh"])
def test_encode_and_decode_deltas(anchor_format, encoding):
    shape = (HEIGHT, WIDTH, 3)
    anchors, boxes = in_format(random_boxes(n=6), anchor_format), random_boxes(2, n=6)
    variance = [0.1, 0.1, 0.2, 0.2]
    ours, theirs = both("encode_box_to_deltas", anchors, boxes, anchor_format, "xyxy", encoding_format=encoding,
                        variance=variance, image_shape=shape)
    close(ours, theirs)
    close(*both("decode_deltas_to_boxes", anchors, np.asarray(theirs), anchor_format, "xyxy",
                encoded_format=encoding, variance=variance, image_shape=shape))
    levels = {"P3": anchors, "P4": anchors[:3]}
    deltas = {"P3": np.asarray(theirs), "P4": np.asarray(theirs)[:, :3]}
    close(*both("decode_deltas_to_boxes", levels, deltas, anchor_format, "xywh", encoded_format=encoding,
                image_shape=shape))


def test_affine_crop_and_pad():
    boxes = random_boxes(4)
    params = [_rng.uniform(-30, 30, 4).astype("float32"), _rng.uniform(-0.2, 0.2, 4).astype("float32"),
              _rng.uniform(-0.2, 0.2, 4).astype("float32"), _rng.uniform(0.7, 1.3, 4).astype("float32"),
              _rng.uniform(-10, 10, 4).astype("float32"), _rng.uniform(-10, 10, 4).astype("float32")]
    close(*both("affine_transform", boxes, *params, HEIGHT, WIDTH), rtol=1e-4, atol=1e-3)
    close(*both("affine_transform", boxes, *params, HEIGHT, WIDTH, center_x=0.3, center_y=0.6), rtol=1e-4,
          atol=1e-3)
    close(*both("crop", boxes, 10, 20, 30, 40))
    close(*both("pad", boxes, 7, 3, height=HEIGHT, width=WIDTH))


def test_clear_errors():
    bb = kgraph.utils.bounding_boxes
    with pytest.raises(ValueError, match="last dimension of 4"):
        bb.convert_format(np.zeros((2, 3)), "xyxy", "xywh")
    with pytest.raises(ValueError, match="Invalid source or target format"):
        bb.convert_format(np.zeros((2, 4)), "xyxy", "corners")
    with pytest.raises(ValueError, match="height"):
        bb.convert_format(np.zeros((2, 4)), "xyxy", "rel_xyxy")
    with pytest.raises(ValueError, match="variance"):
        bb.encode_box_to_deltas(np.ones((2, 4)), np.ones((2, 4)), "xyxy", "xyxy", variance=[1, 2])
    with pytest.raises(NotImplementedError, match="xyxy"):
        bb.crop(np.ones((2, 4)), 0, 0, 5, 5, bounding_box_format="xywh")


def in_pipeline(lib, fn, data):
    """`fn(lib.utils.bounding_boxes, batch)` mapped over a batched tf.data pipeline (TF graph tensors)."""
    ds = tf.data.Dataset.from_tensor_slices(data).batch(2).map(lambda batch: fn(lib.utils.bounding_boxes, batch))
    return [tf.nest.map_structure(np.asarray, out) for out in ds]


PIPELINE_CASES = {
    "convert_format": lambda bb, b: bb.convert_format(b["boxes"], "xyxy", "rel_center_xywh", height=HEIGHT,
                                                      width=WIDTH),
    "clip_to_image_size": lambda bb, b: bb.clip_to_image_size(b, height=HEIGHT, width=WIDTH),
    "crop_pad": lambda bb, b: bb.pad(bb.crop(b["boxes"], 5, 7, 40, 50), 5, 7),
    "compute_iou": lambda bb, b: bb.compute_iou(b["boxes"], b["boxes"], "xyxy", use_masking=True),
    "compute_ciou": lambda bb, b: bb.compute_ciou(b["boxes"], b["boxes"][:, ::-1], "xywh"),
    "affine_transform": lambda bb, b: bb.affine_transform(b["boxes"], b["angle"], b["angle"] / 100, b["angle"] / 90,
                                                          1 + b["angle"] / 60, b["angle"] / 3, b["angle"] / 4,
                                                          HEIGHT, WIDTH),
    "deltas": lambda bb, b: bb.decode_deltas_to_boxes(b["boxes"][0], bb.encode_box_to_deltas(
        b["boxes"][0], b["boxes"], "xyxy", "xyxy"), "xyxy", "center_xywh"),
}


KERAS_EAGER_ONLY = ("compute_iou", "compute_ciou", "deltas")  # Keras runs these on its backend only


@pytest.mark.parametrize("name", PIPELINE_CASES)
def test_inside_tf_data_pipelines(name):
    fn = PIPELINE_CASES[name]
    data = {"boxes": random_boxes(4) * 1.3 - 8, "labels": _rng.integers(0, 3, (4, 5)),
            "angle": _rng.uniform(-20, 20, 4).astype("float32")}
    ours = in_pipeline(kgraph, fn, data)
    if name in KERAS_EAGER_ONLY:
        batches = [{key: value[i:i + 2] for key, value in data.items()} for i in (0, 2)]
        theirs = [np.asarray(fn(keras.utils.bounding_boxes, batch)) for batch in batches]
    else:
        theirs = in_pipeline(keras, fn, data)
    for got, want in zip(ours, theirs):
        close(got, want, rtol=1e-4, atol=1e-3)
        for g, w in zip(tree_leaves(got), tree_leaves(want)):
            assert g.dtype == w.dtype
