"""plot_model: the guide's multi-input, multi-output model drawn to SVG, PNG and PDF by kgraph's own renderer,
and by Graphviz where pydot and the Graphviz binaries are installed."""

import importlib
import struct
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest

import kgraph
from kgraph import layers, ops

plotting = importlib.import_module("kgraph.utils.plot_model")  # the module, which `kgraph.utils.plot_model` shadows

SVG = "{http://www.w3.org/2000/svg}"


def guide_model() -> kgraph.Model:
    """The functional API guide's ticket classifier: three inputs, two outputs (Dense in place of Embedding/LSTM)."""
    title = kgraph.Input(shape=(10,), name="title")
    body = kgraph.Input(shape=(100,), name="body")
    tags = kgraph.Input(shape=(12,), name="tags")
    features = ops.concatenate([layers.Dense(64, name="title_features")(title),
                                layers.Dense(32, name="body_features")(body), tags], axis=1)
    priority = layers.Dense(1, name="priority")(features)
    department = layers.Dense(4, activation="softmax", name="department")(features)
    return kgraph.Model([title, body, tags], {"priority": priority, "department": department})


@pytest.fixture
def builtin(monkeypatch):
    """kgraph's own renderer, whether or not Graphviz is installed."""
    monkeypatch.setattr(plotting, "_graphviz_available", lambda: False)


def _png_size(data: bytes) -> tuple[int, int, np.ndarray]:
    """Width, height and pixels of an 8-bit RGB PNG with unfiltered scanlines, as the renderer writes it."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, position = {}, 8
    while position < len(data):
        (length,), tag = struct.unpack(">I", data[position:position + 4]), data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        assert struct.unpack(">I", data[position + 8 + length:position + 12 + length])[0] == zlib.crc32(tag + body)
        chunks[tag] = chunks.get(tag, b"") + body
        position += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, color) == (8, 2)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, 1 + 3 * width)
    assert not rows[:, 0].any()
    return width, height, rows[:, 1:].reshape(height, width, 3)


def test_svg_has_one_box_per_layer_with_names_and_shapes(builtin, tmp_path):
    model = guide_model()
    path = tmp_path / "model.svg"
    plotting.plot_model(model, str(path), show_shapes=True, show_dtype=True, show_layer_activations=True)
    root = ET.parse(path).getroot()
    boxes = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("class") == "layer"}
    assert sorted(boxes) == sorted(layer.name for layer in model.layers)
    texts = {name: " ".join(t.text for t in g.iter(f"{SVG}text")) for name, g in boxes.items()}
    assert "title_features (Dense)" in texts["title_features"]
    assert "Input shape: (None, 10)" in texts["title_features"]
    assert "Output shape: (None, 64)" in texts["title_features"]
    concat = next(name for name in texts if "(concatenate)" in texts[name])
    assert "Input shape: [(None, 64), (None, 32), (None, 12)]" in texts[concat]
    assert "Output shape: (None, 108)" in texts[concat] and "Output dtype: float32" in texts[concat]
    assert "Activation: softmax" in texts["department"]
    arrows = len(root.findall(f"{SVG}polygon"))
    assert arrows == 7  # input → features twice, features twice and tags → concatenate, → the two heads


def test_png_is_a_decodable_image_at_the_requested_dpi(builtin, tmp_path):
    model = guide_model()
    for dpi in (72, 144):
        path = tmp_path / f"model_{dpi}.png"
        plotting.plot_model(model, str(path), show_shapes=True, dpi=dpi)
        width, height, pixels = _png_size(path.read_bytes())
        if dpi == 72:
            small = (width, height)
            assert (pixels == 0).all(axis=-1).any() and (pixels == 255).all(axis=-1).any()
    assert (width, height) == (pytest.approx(2 * small[0], abs=2), pytest.approx(2 * small[1], abs=2))
    plotting.plot_model(model, str(tmp_path / "model"), rankdir="LR")  # no extension: PNG, as in Keras
    lr_width, lr_height, _ = _png_size((tmp_path / "model").read_bytes())
    assert lr_width > lr_height


def test_pdf_is_a_one_page_document_with_the_layer_names(builtin, tmp_path):
    path = tmp_path / "model.pdf"
    plotting.plot_model(guide_model(), str(path), show_trainable=True)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    start = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[start:start + 4] == b"xref"
    assert b"(body_features \\(Dense\\)) Tj" in data and b"(Trainable) Tj" in data


def test_nested_models_expand_into_clusters(builtin, tmp_path):
    inner = kgraph.Sequential([kgraph.Input(shape=(4,)), layers.Dense(3, name="d1"), layers.Dense(2, name="d2")],
                              name="encoder")
    inputs = kgraph.Input(shape=(4,), name="x")
    model = kgraph.Model(inputs, layers.Dense(1, name="head")(inner(inputs)))
    boxes, edges = plotting.layer_graph(model, True, dict(show_shapes=False, show_dtype=False, show_layer_names=True,
                                                          show_layer_activations=False, show_trainable=False))
    names = {b.key: b.name for b in boxes}
    assert {(names[s], names[d]) for s, d in edges} == {("x", "d1"), ("d1", "d2"), ("d2", "head")}
    assert {b.name for b in boxes if b.cluster == "encoder"} == {"d1", "d2"}  # as Keras: no Sequential InputLayer
    path = tmp_path / "nested.svg"
    plotting.plot_model(model, str(path), expand_nested=True)
    assert b"encoder" in path.read_bytes() and b'stroke-dasharray' in path.read_bytes()


def test_bad_arguments_are_named(tmp_path):
    model = guide_model()
    with pytest.raises(ValueError, match=r"model\.jpg'.*'\.jpg'.*\.png, \.svg, \.pdf"):
        plotting.plot_model(model, str(tmp_path / "model.jpg"))
    with pytest.raises(ValueError, match=r"rankdir.*'BT'"):
        plotting.plot_model(model, str(tmp_path / "model.svg"), rankdir="BT")
    with pytest.raises(ValueError, match=r"'unbuilt'.*not been built"):
        plotting.plot_model(kgraph.Sequential([layers.Dense(2)], name="unbuilt"), str(tmp_path / "model.svg"))


@pytest.mark.skipif(not plotting._graphviz_available(), reason="needs pydot and the Graphviz binaries")
def test_graphviz_writes_each_format(tmp_path):
    for extension, magic in (("png", b"\x89PNG"), ("svg", b"<"), ("pdf", b"%PDF")):
        path = tmp_path / f"model.{extension}"
        plotting.plot_model(guide_model(), str(path), show_shapes=True, expand_nested=True)
        assert path.read_bytes().lstrip().startswith(magic)
