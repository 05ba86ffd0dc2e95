"""`plot_model`: draws a model's layer graph as Keras does — a box per layer (name, type, shapes), arrows along the
data flow — to a PNG, SVG or PDF file.

With pydot and the Graphviz binaries installed, Graphviz lays the graph out and writes the file, as in Keras.
Without them, kgraph lays the layers out in ranks itself and writes the file with no dependency beyond NumPy:
SVG as text, PDF as page-description operators with the built-in Courier fonts, PNG through a small rasterizer
with a 5×7 bitmap font. Text is monospaced in every format, so the layout fits each of them exactly.
"""

from __future__ import annotations

import importlib.util
import math
import os
import struct
import zlib
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import numpy as np

from kgraph.keras_tensor import KerasTensor
from kgraph.layers.core.input_layer import InputLayer
from kgraph.models.model import Model
from kgraph.models.sequential import Sequential
from kgraph import tree

FORMATS = ("png", "svg", "pdf")
TITLE_SIZE, CELL_SIZE = 16.0, 14.0  # font sizes in points, as Keras' labels use
CHAR_WIDTH = 0.6  # Courier's advance, in ems
PAD, RANK_GAP, NODE_GAP, MARGIN, CLUSTER_PAD, WAYPOINT = 10.0, 40.0, 30.0, 24.0, 12.0, 8.0
BLACK, WHITE, GREEN, RED, GRAY = (0, 0, 0), (255, 255, 255), (34, 139, 34), (178, 34, 34), (96, 96, 96)


@dataclass
class Box:
    """One layer's label: a black title bar, an optional activation row, and a row of cells (text, background)."""

    key: int
    name: str
    title: str
    activation: str | None = None
    cells: list[tuple[str, tuple]] = field(default_factory=list)
    cluster: str | None = None

    def rows(self) -> list[list[tuple[str, tuple, tuple, float, bool]]]:
        """Rows of cells (text, background, text color, font size, bold)."""
        rows = [[(self.title, BLACK, WHITE, TITLE_SIZE, True)]]
        if self.activation is not None:
            rows.append([(f"Activation: {self.activation}", WHITE, BLACK, CELL_SIZE, False)])
        if self.cells:
            rows.append([(text, fill, WHITE if fill != WHITE else BLACK, CELL_SIZE, fill != WHITE)
                         for text, fill in self.cells])
        return rows

    def size(self) -> tuple[float, float]:
        width = max(sum(_text_width(t, s) + 2 * PAD for t, _, _, s, _ in row) for row in self.rows())
        height = sum(max(s for _, _, _, s, _ in row) + 2 * PAD for row in self.rows())
        return width, height


def _text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_WIDTH


def plot_model(model, to_file: str = "model.png", show_shapes: bool = False, show_dtype: bool = False,
               show_layer_names: bool = True, rankdir: str = "TB", expand_nested: bool = False, dpi: int = 200,
               show_layer_activations: bool = False, show_trainable: bool = False) -> None:
    """Writes a diagram of `model`'s layers to `to_file`, in the format its extension names.

    Args:
        model: a built Functional or Sequential model.
        to_file: the file to write; ".png" (the default when there is no extension), ".svg" or ".pdf".
        show_shapes: whether each box shows its layer's input and output shapes.
        show_dtype: whether each box shows its layer's output dtype.
        show_layer_names: whether each box shows its layer's name besides its type.
        rankdir: "TB" (top to bottom) or "LR" (left to right).
        expand_nested: whether nested models are drawn as dashed clusters of their layers.
        dpi: the PNG's resolution in dots per inch.
        show_layer_activations: whether boxes of layers with an `activation` show it.
        show_trainable: whether boxes of layers with weights say if they are trainable.
    """
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    if extension not in FORMATS:
        raise ValueError(f"plot_model: cannot write {to_file!r}: extension {'.' + extension!r} is not one of "
                         f"{', '.join('.' + f for f in FORMATS)}")
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: rankdir must be 'TB' or 'LR', got {rankdir!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or dpi <= 0:
        raise ValueError(f"plot_model: dpi must be a positive number, got {dpi!r}")
    if not model.built:
        raise ValueError(f"plot_model: model {model.name!r} has not been built; call it on data or build it first")
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                   show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    boxes, edges = layer_graph(model, expand_nested, options)
    if _graphviz_available():
        _write_with_graphviz(boxes, edges, to_file, extension, rankdir, dpi)
        return
    drawing = Drawing.of(boxes, edges, rankdir)
    data = {"svg": drawing.to_svg, "pdf": drawing.to_pdf, "png": lambda: drawing.to_png(dpi)}[extension]()
    with open(to_file, "wb") as f:
        f.write(data)


# --- the layer graph --------------------------------------------------------------------------------------------

def layer_graph(model, expand_nested: bool, options: dict, cluster: str | None = None):
    """The boxes of `model`'s layers in data-flow order, and edges (source key, destination key) between them."""
    graph = model._functional if isinstance(model, Sequential) else model
    if not hasattr(graph, "_nodes"):  # a subclassed model: one box, as Keras draws it
        return [_box(model, None, options, cluster)], []
    boxes: list[Box] = []
    edges: list[tuple[int, int]] = []
    entries, exits = {}, {}  # nested model → the keys of its layers taking each input and giving each output
    drawn = [layer for layer in graph.layers if not (isinstance(model, Sequential) and isinstance(layer, InputLayer))]
    for layer in drawn:  # as Keras, a Sequential's layers without its InputLayer
        if expand_nested and _is_model(layer):
            inner_boxes, inner_edges = layer_graph(layer, True, options, layer.name)
            boxes += inner_boxes
            edges += inner_edges
            inner = layer._functional if isinstance(layer, Sequential) else layer
            entries[id(layer)] = ([id(layer.layers[0])] * len(inner.inputs) if isinstance(layer, Sequential)
                                  else [id(t._history[0]) for t in inner.inputs])
            exits[id(layer)] = [_exit_key(t) for t in inner.outputs]
        else:
            boxes.append(_box(layer, next((n for n in graph._nodes if n.layer is layer), None), options, cluster))
    for node in graph._nodes:
        for position, tensor in enumerate(node.input_tensors):
            source, _, index = tensor._history
            if all(source is not layer for layer in drawn):
                continue
            src = exits[id(source)][index] if id(source) in exits else id(source)
            dst = entries[id(node.layer)][position] if id(node.layer) in entries else id(node.layer)
            if src != dst and (src, dst) not in edges:
                edges.append((src, dst))
    return boxes, edges


def _is_model(layer) -> bool:
    return isinstance(layer, Model)


def _exit_key(tensor: KerasTensor) -> int:
    """The key of the innermost layer that produces `tensor`, looking through nested models."""
    layer = tensor._history[0]
    if _is_model(layer):
        inner = layer._functional if isinstance(layer, Sequential) else layer
        return _exit_key(inner.outputs[tensor._history[2]])
    return id(layer)


def _box(layer, node, options: dict, cluster: str | None) -> Box:
    """The label of `layer`, with shapes and dtypes from its call `node` in the plotted model (None: unknown)."""
    kind = type(layer).__name__
    if kind == "OpLayer":
        kind = layer.op
    box = Box(id(layer), layer.name, f"{layer.name} ({kind})" if options["show_layer_names"] else kind,
              cluster=cluster)
    if options["show_layer_activations"] and getattr(layer, "activation", None) is not None:
        box.activation = getattr(layer.activation, "__name__", str(layer.activation))
    outputs = [t for t in tree.flatten(node.outputs) if isinstance(t, KerasTensor)] if node else []
    if options["show_shapes"]:
        if kind != "InputLayer":
            box.cells.append((f"Input shape: {_shapes(node.input_tensors if node else [])}", WHITE))
        box.cells.append((f"Output shape: {_shapes(outputs)}", WHITE))
    if options["show_dtype"]:
        dtypes = [t.dtype for t in outputs]
        box.cells.append((f"Output dtype: {dtypes[0] if len(dtypes) == 1 else dtypes or '?'}", WHITE))
    if options["show_trainable"] and layer.weights:
        box.cells.append(("Trainable", GREEN) if layer.trainable else ("Non-trainable", RED))
    return box


def _shapes(tensors: list) -> str:
    shapes = [str(tuple(t.shape)) for t in tensors]
    if not shapes:
        return "?"
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


# --- layout -----------------------------------------------------------------------------------------------------

def ranks(keys: list[int], edges: list[tuple[int, int]]) -> tuple[list[list], dict]:
    """Keys grouped by longest-path depth from the sources, each rank ordered to cross few edges (barycenters).

    An edge that skips ranks passes through a waypoint `(source, dest, rank)` in each rank between, so that it
    is routed around the boxes there; `routes` maps each edge to its keys and waypoints from source to dest.
    """
    depth: dict = {}
    for k in keys:  # keys come in data-flow order
        depth[k] = max((depth[s] + 1 for s, d in edges if d == k and s in depth), default=0)
    groups = [[k for k in keys if depth[k] == r] for r in range(max(depth.values(), default=-1) + 1)]
    routes = {}
    for source, dest in edges:
        waypoints = [(source, dest, r) for r in range(depth[source] + 1, depth[dest])]
        for waypoint in waypoints:
            groups[waypoint[2]].append(waypoint)
        routes[(source, dest)] = [source, *waypoints, dest]
    segments = [pair for route in routes.values() for pair in zip(route, route[1:])]
    preds = {k: [s for s, d in segments if d == k] for g in groups for k in g}
    succs = {k: [d for s, d in segments if s == k] for g in groups for k in g}
    for _ in range(4):
        for sweep, neighbors, step in ((range(1, len(groups)), preds, -1), (range(len(groups) - 2, -1, -1), succs, 1)):
            for r in sweep:
                where = {k: i for i, k in enumerate(groups[r + step])}
                current = {k: i for i, k in enumerate(groups[r])}

                def barycenter(k, where=where, current=current, neighbors=neighbors):
                    linked = [where[n] for n in neighbors[k] if n in where]
                    return sum(linked) / len(linked) if linked else current[k]

                groups[r] = sorted(groups[r], key=barycenter)
    return groups, routes


@dataclass
class Drawing:
    """Positioned shapes in points, y down: rects, texts, lines and arrowheads, ready for any of the formats."""

    width: float
    height: float
    shapes: list[tuple] = field(default_factory=list)

    @classmethod
    def of(cls, boxes: list[Box], edges: list[tuple[int, int]], rankdir: str) -> "Drawing":
        """Ranks stacked along the rank direction, each centered across it; boxes drawn over the edges."""
        groups, routes = ranks([b.key for b in boxes], edges)
        sizes = {b.key: b.size() for b in boxes}
        sizes.update({k: (WAYPOINT, WAYPOINT) for g in groups for k in g if isinstance(k, tuple)})
        along, across = (1, 0) if rankdir == "TB" else (0, 1)  # size index along and across the ranks
        spans = [sum(sizes[k][across] for k in g) + NODE_GAP * (len(g) - 1) for g in groups]
        widest = max(spans, default=0.0)
        center, offset = {}, MARGIN  # the center of each box and waypoint, as (along, across)
        bands = []  # each rank's (start, end) along the rank direction
        for group, span in zip(groups, spans):
            thickness = max(sizes[k][along] for k in group if not isinstance(k, tuple))
            cursor = MARGIN + (widest - span) / 2
            for k in group:
                center[k] = (offset + thickness / 2, cursor + sizes[k][across] / 2)
                cursor += sizes[k][across] + NODE_GAP
            bands.append((offset, offset + thickness))
            offset += thickness + RANK_GAP
        extent = (widest + 2 * MARGIN, offset - RANK_GAP + MARGIN)
        drawing = cls(*(extent if rankdir == "TB" else extent[::-1]))

        def point(main: float, cross: float) -> tuple[float, float]:
            return (cross, main) if rankdir == "TB" else (main, cross)

        corner = {b.key: point(center[b.key][0] - sizes[b.key][along] / 2, center[b.key][1] - sizes[b.key][across] / 2)
                  for b in boxes}
        drawing._clusters(boxes, corner, sizes)
        for route in routes.values():
            source, dest = route[0], route[-1]
            points = [point(center[source][0] + sizes[source][along] / 2, center[source][1])]
            for waypoint in route[1:-1]:
                band = bands[waypoint[2]]
                points += [point(band[0], center[waypoint][1]), point(band[1], center[waypoint][1])]
            points.append(point(center[dest][0] - sizes[dest][along] / 2, center[dest][1]))
            drawing._edge(points)
        for box in boxes:
            drawing._box(box, *corner[box.key], sizes[box.key][0])
        return drawing

    def _clusters(self, boxes, position, sizes) -> None:
        names = list(dict.fromkeys(b.cluster for b in boxes if b.cluster is not None))
        for name in names:
            keys = [b.key for b in boxes if b.cluster == name]
            x0 = min(position[k][0] for k in keys) - CLUSTER_PAD
            y0 = min(position[k][1] for k in keys) - CLUSTER_PAD - CELL_SIZE
            x1 = max(position[k][0] + sizes[k][0] for k in keys) + CLUSTER_PAD
            y1 = max(position[k][1] + sizes[k][1] for k in keys) + CLUSTER_PAD
            self.shapes.append(("rect", x0, y0, x1 - x0, y1 - y0, None, GRAY, True, None))
            self.shapes.append(("text", x0 + 4 + _text_width(name, CELL_SIZE) / 2, y0 + CELL_SIZE / 2 + 4, name,
                                CELL_SIZE, False, GRAY, None))

    def _edge(self, points: list[tuple[float, float]]) -> None:
        """A polyline through `points` ending in an arrowhead at the last one."""
        (x0, y0), (x1, y1) = points[-2], points[-1]
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        tip = min(10.0, length)
        base = (x1 - ux * tip, y1 - uy * tip)
        nx, ny = -uy * tip / 2.5, ux * tip / 2.5
        self.shapes.append(("line", points[:-1] + [base], 2.0, BLACK))
        self.shapes.append(("arrow", (x1, y1), (base[0] + nx, base[1] + ny), (base[0] - nx, base[1] - ny), BLACK))

    def _box(self, box: Box, x: float, y: float, width: float) -> None:
        self.shapes.append(("group", box.name))
        for row in box.rows():
            height = max(s for _, _, _, s, _ in row) + 2 * PAD
            natural = [_text_width(t, s) + 2 * PAD for t, _, _, s, _ in row]
            stretch = (width - sum(natural)) / len(row)
            cx = x
            for (text, fill, color, size, bold), w in zip(row, natural):
                self.shapes.append(("rect", cx, y, w + stretch, height, fill, BLACK, False, box.name))
                self.shapes.append(("text", cx + (w + stretch) / 2, y + height / 2, text, size, bold, color,
                                    box.name))
                cx += w + stretch
            y += height
        self.shapes.append(("end",))

    # --- SVG ---------------------------------------------------------------------------------------------------
    def to_svg(self) -> bytes:
        out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
               f'width="{self.width:.0f}pt" height="{self.height:.0f}pt" '
               f'viewBox="0 0 {self.width:.1f} {self.height:.1f}">',
               '<rect width="100%" height="100%" fill="white"/>']
        for shape in self.shapes:
            kind = shape[0]
            if kind == "group":
                out.append(f'<g class="layer" id="{escape(shape[1], {chr(34): "&quot;"})}"><title>'
                           f'{escape(shape[1])}</title>')
            elif kind == "end":
                out.append("</g>")
            elif kind == "rect":
                _, x, y, w, h, fill, stroke, dashed, _ = shape
                dash = ' stroke-dasharray="6,4"' if dashed else ""
                out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                           f'fill="{_hex(fill) if fill else "none"}" stroke="{_hex(stroke)}"{dash}/>')
            elif kind == "text":
                _, x, y, text, size, bold, color, _ = shape
                weight = ' font-weight="bold"' if bold else ""
                out.append(f'<text x="{x:.1f}" y="{y + 0.35 * size:.1f}" text-anchor="middle" '
                           f'font-family="DejaVu Sans Mono, Menlo, Consolas, Courier New, monospace" '
                           f'font-size="{size:.0f}"{weight} fill="{_hex(color)}">{escape(text)}</text>')
            elif kind == "line":
                _, points, width, color = shape
                out.append(f'<polyline points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in points)}" fill="none" '
                           f'stroke="{_hex(color)}" stroke-width="{width}"/>')
            else:
                _, *points, color = shape
                out.append(f'<polygon points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in points)}" '
                           f'fill="{_hex(color)}"/>')
        out.append("</svg>\n")
        return "\n".join(out).encode("utf-8")

    # --- PDF ---------------------------------------------------------------------------------------------------
    def to_pdf(self) -> bytes:
        height = self.height
        ops = []
        for shape in self.shapes:
            kind = shape[0]
            if kind == "rect":
                _, x, y, w, h, fill, stroke, dashed, _ = shape
                rect = f"{x:.2f} {height - y - h:.2f} {w:.2f} {h:.2f} re"
                if fill:
                    ops.append(f"{_rgb(fill)} rg {rect} f")
                ops.append(f"{'[6 4] 0 d ' if dashed else ''}1 w {_rgb(stroke)} RG {rect} S [] 0 d")
            elif kind == "text":
                _, x, y, text, size, bold, color, _ = shape
                text = text.encode("ascii", "replace").decode()
                literal = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                ops.append(f"BT /{'F2' if bold else 'F1'} {size:.1f} Tf {_rgb(color)} rg "
                           f"{x - _text_width(text, size) / 2:.2f} {height - y - 0.3 * size:.2f} Td ({literal}) Tj ET")
            elif kind == "line":
                _, points, width, color = shape
                ops.append(f"{width} w {_rgb(color)} RG {_pdf_path(points, height)} S")
            elif kind == "arrow":
                _, *points, color = shape
                ops.append(f"{_rgb(color)} rg {_pdf_path(points, height)} h f")
        content = "\n".join(ops).encode("ascii")
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {self.width:.2f} {height:.2f}] /Resources << /Font "
            f"<< /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>".encode("ascii"),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        ]
        pdf, offsets = bytearray(b"%PDF-1.4\n"), []
        for number, body in enumerate(objects, 1):
            offsets.append(len(pdf))
            pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        xref = len(pdf)
        pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
        return bytes(pdf)

    # --- PNG ---------------------------------------------------------------------------------------------------
    def to_png(self, dpi: float) -> bytes:
        scale = dpi / 72.0
        canvas = Canvas(math.ceil(self.width * scale), math.ceil(self.height * scale))
        stroke = max(1, round(scale))
        for shape in self.shapes:
            kind = shape[0]
            if kind == "rect":
                _, x, y, w, h, fill, color, dashed, _ = shape
                x0, y0, x1, y1 = (round(v * scale) for v in (x, y, x + w, y + h))
                if fill:
                    canvas.fill(x0, y0, x1, y1, fill)
                for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
                    canvas.line(a, b, stroke, color, dash=round(6 * scale) if dashed else 0)
            elif kind == "text":
                _, x, y, text, size, bold, color, _ = shape
                canvas.text(x * scale, y * scale, text, size * CHAR_WIDTH * scale, bold, color)
            elif kind == "line":
                _, points, width, color = shape
                points = [(px * scale, py * scale) for px, py in points]
                for start, end in zip(points, points[1:]):
                    canvas.line(start, end, max(1, round(width * scale)), color)
            elif kind == "arrow":
                _, *points, color = shape
                canvas.triangle([(px * scale, py * scale) for px, py in points], color)
        return canvas.png(dpi)


def _hex(color: tuple) -> str:
    return "#%02x%02x%02x" % color


def _pdf_path(points: list[tuple[float, float]], height: float) -> str:
    return " ".join(f"{x:.2f} {height - y:.2f} {'l' if i else 'm'}" for i, (x, y) in enumerate(points))


def _rgb(color: tuple) -> str:
    return " ".join(f"{c / 255:.3f}" for c in color)


# The classic 5×7 bitmap font, ASCII 32 to 126: five column bytes per glyph, bit 0 at the top.
_FONT = bytes.fromhex(
    "000000000000005f00000007000700147f147f14242a7f2a12231308646236495522500005030000001c2241000041221c00"
    "14083e081408083e080800503000000808080808006060000020100804023e5149453e00427f400042615149462141454b31"
    "1814127f1027454545393c4a49493001710905033649494936064949291e0036360000005636000008142241001414141414"
    "00412214080201510906324979413e7e1111117e7f494949363e414141227f4141221c7f494949417f090909013e4149497a"
    "7f0808087f00417f41002040413f017f081422417f404040407f020c027f7f0408107f3e4141413e7f090909063e4151215e"
    "7f09192946464949493101017f01013f4040403f1f2040201f3f4038403f631408146307087008076151494543007f414100"
    "02040810200041417f0004020102044040404040000102040020545454787f484444383844444420384444487f3854545418"
    "087e0901020c5252523e7f0804047800447d40002040443d007f1028440000417f40007c041804787c080404783844444438"
    "7c14141408081414187c7c080404084854545420043f4440203c4040207c1c2040201c3c4030403c44281028440c5050503c"
    "4464544c44000836410000007f000000413608001008081008"
)


def _glyph(char: str) -> np.ndarray:
    code = ord(char) if 32 <= ord(char) <= 126 else ord("?")
    columns = np.frombuffer(_FONT, dtype=np.uint8)[(code - 32) * 5:(code - 31) * 5]
    return ((columns[None, :] >> np.arange(7)[:, None]) & 1).astype(bool)


class Canvas:
    """An RGB pixel buffer with the few primitives a layer diagram needs, and its PNG encoding."""

    def __init__(self, width: int, height: int):
        self.pixels = np.full((height, width, 3), 255, dtype=np.uint8)

    def fill(self, x0: int, y0: int, x1: int, y1: int, color: tuple) -> None:
        self.pixels[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = color

    def line(self, start, end, width: int, color: tuple, dash: int = 0) -> None:
        """A line `width` pixels thick; with `dash`, drawn `dash` pixels on, `dash` / 2 off."""
        (x0, y0), (x1, y1) = start, end
        steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        t = np.linspace(0.0, 1.0, steps)
        if dash:
            t = t[(np.arange(steps) % (dash + dash // 2)) < dash]
        half = (width - 1) // 2
        xs = np.round(x0 + (x1 - x0) * t).astype(int) - half
        ys = np.round(y0 + (y1 - y0) * t).astype(int) - half
        height_px, width_px = self.pixels.shape[:2]
        for dy in range(width):
            for dx in range(width):
                keep = (xs + dx >= 0) & (xs + dx < width_px) & (ys + dy >= 0) & (ys + dy < height_px)
                self.pixels[ys[keep] + dy, xs[keep] + dx] = color

    def triangle(self, points, color: tuple) -> None:
        (ax, ay), (bx, by), (cx, cy) = points
        x0, x1 = int(min(ax, bx, cx)), int(math.ceil(max(ax, bx, cx)))
        y0, y1 = int(min(ay, by, cy)), int(math.ceil(max(ay, by, cy)))
        ys, xs = np.mgrid[y0:y1 + 1, x0:x1 + 1] + 0.5
        sides = [(qx - px) * (ys - py) - (qy - py) * (xs - px)
                 for (px, py), (qx, qy) in (((ax, ay), (bx, by)), ((bx, by), (cx, cy)), ((cx, cy), (ax, ay)))]
        inside = ((sides[0] >= 0) & (sides[1] >= 0) & (sides[2] >= 0)) | (
            (sides[0] <= 0) & (sides[1] <= 0) & (sides[2] <= 0))
        height_px, width_px = self.pixels.shape[:2]
        rows, cols = np.nonzero(inside)
        rows, cols = rows + y0, cols + x0
        keep = (rows >= 0) & (rows < height_px) & (cols >= 0) & (cols < width_px)
        self.pixels[rows[keep], cols[keep]] = color

    def text(self, cx: float, cy: float, text: str, advance: float, bold: bool, color: tuple) -> None:
        """`text` centered on (cx, cy) in the bitmap font scaled so that each character is `advance` pixels wide."""
        if not text:
            return
        glyphs = np.concatenate([np.pad(_glyph(c), ((0, 0), (0, 1))) for c in text], axis=1)
        scale = advance / 6  # a glyph cell is 6 dots wide: 5 and a space
        rows = np.minimum((np.arange(round(7 * scale)) / scale).astype(int), 6)
        cols = np.minimum((np.arange(round((glyphs.shape[1] - 1) * scale)) / scale).astype(int), glyphs.shape[1] - 1)
        mask = glyphs[rows][:, cols]
        if bold:
            mask[:, 1:] |= mask[:, :-1].copy()
        x0, y0 = round(cx - mask.shape[1] / 2), round(cy - mask.shape[0] / 2)
        height_px, width_px = self.pixels.shape[:2]
        ys, xs = np.nonzero(mask)
        ys, xs = ys + y0, xs + x0
        keep = (ys >= 0) & (ys < height_px) & (xs >= 0) & (xs < width_px)
        self.pixels[ys[keep], xs[keep]] = color

    def png(self, dpi: float) -> bytes:
        height, width = self.pixels.shape[:2]
        scanlines = np.concatenate([np.zeros((height, 1), np.uint8), self.pixels.reshape(height, -1)], axis=1)

        def chunk(tag: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

        per_meter = round(dpi / 0.0254)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"pHYs", struct.pack(">IIB", per_meter, per_meter, 1))
                + chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6)) + chunk(b"IEND", b""))


# --- Graphviz ---------------------------------------------------------------------------------------------------

def _graphviz_available() -> bool:
    """Whether pydot imports and can run Graphviz's `dot`."""
    try:
        import pydot  # optional: Graphviz rendering when pydot is installed

        pydot.Dot.create(pydot.Dot())
    except Exception:  # no pydot, or pydot without the Graphviz binaries
        return False
    return True


def _write_with_graphviz(boxes: list[Box], edges, to_file: str, extension: str, rankdir: str, dpi: float) -> None:
    """Keras' Graphviz rendering of the layer graph to `to_file`."""
    _dot(boxes, edges, rankdir, dpi).write(to_file, format=extension)


def _dot(boxes: list[Box], edges, rankdir: str, dpi: float, splines: str = "ortho", subgraph: str | None = None):
    """Keras' pydot graph: HTML-like tables as node labels (keyed by layer id), orthogonal edges, clusters for
    nested models; with `subgraph`, a dashed cluster of that name instead of a graph."""
    import pydot  # optional: model_to_dot and Graphviz rendering need pydot

    if subgraph is not None:
        dot = pydot.Cluster(style="dashed", graph_name=subgraph, label=subgraph, labeljust="l")
    else:
        dot = pydot.Dot(rankdir=rankdir, concentrate=True, dpi=dpi, splines=splines)
        dot.set_node_defaults(shape="record")
    clusters: dict[str, pydot.Cluster] = {}
    for box in boxes:
        parent = dot
        if box.cluster is not None and box.cluster != subgraph:
            if box.cluster not in clusters:
                clusters[box.cluster] = pydot.Cluster(box.cluster, label=box.cluster, style="dashed", labeljust="l")
                dot.add_subgraph(clusters[box.cluster])
            parent = clusters[box.cluster]
        parent.add_node(pydot.Node(str(box.key), label=_html_label(box), fontname="Helvetica", border="0",
                                   margin="0"))
    for source, dest in edges:
        dot.add_edge(pydot.Edge(str(source), str(dest), penwidth="2"))
    return dot


def model_to_dot(model, show_shapes: bool = False, show_dtype: bool = False, show_layer_names: bool = True,
                 rankdir: str = "TB", expand_nested: bool = False, dpi: int = 200, subgraph: bool = False,
                 show_layer_activations: bool = False, show_trainable: bool = False, splines: str = "ortho",
                 **kwargs):
    """Converts a model's layer graph to a `pydot.Dot` (a `pydot.Cluster` with `subgraph=True`), as Keras does:
    a node per layer, keyed by `str(id(layer))`, an edge along each data flow. Needs `pip install pydot`.

    Args:
        model: A built model.
        show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable: What each node's
            label shows, as in `plot_model`.
        rankdir: "TB" (top to bottom) or "LR" (left to right).
        expand_nested: Whether nested models are drawn as clusters of their layers.
        dpi: The graph's resolution in dots per inch.
        subgraph: Whether to return a dashed `pydot.Cluster` named after the model instead of a `pydot.Dot`.
        splines: Graphviz' edge routing.
    """
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by "
                         "calling the model on a batch of data.")
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    if not _pydot_available():
        raise ImportError("You must install pydot (`pip install pydot`) for model_to_dot to work.")
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                   show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    boxes, edges = layer_graph(model, expand_nested, options)
    return _dot(boxes, edges, rankdir, dpi, splines, model.name if subgraph else None)


def _pydot_available() -> bool:
    return importlib.util.find_spec("pydot") is not None


def _html_label(box: Box) -> str:
    rows = box.rows()
    span = max(len(row) for row in rows)
    html = '<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
    for row in rows:
        cells = []
        for text, fill, color, size, bold in row:
            text = f"<b>{escape(text)}</b>" if bold else escape(text)
            colspan = f' colspan="{span}"' if len(row) == 1 else ""
            cells.append(f'<td{colspan} bgcolor="{_hex(fill)}"><font point-size="{size:.0f}" '
                         f'color="{_hex(color)}">{text}</font></td>')
        html += f"<tr>{''.join(cells)}</tr>"
    return html + "</table>>"
