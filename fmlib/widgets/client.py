"""Explorers drawn in the browser: the kernel computes every state once, the page animates them.

A scene whose class sets ``client = True`` is shown by ``ClientView``, an anywidget whose one
ES module (``client.js``, shipped with fmlib) draws the *moving* artists on a canvas over a PNG
still of the *static* ones, and runs Play, the t slider and the other controls itself: no kernel
round trip per frame. What moves is what ``update(state)`` returns (the scene contract does not
change); ``export`` visits every state once (the t grid times every value of the other controls),
reads those artists back from matplotlib and packs them as float32 / uint8 arrays in one binary
buffer:

- a scatter (``PathCollection`` of circles, or of one polygon marker such as ``X`` or ``*``): its
  offsets per state, in data coordinates, with its colours and sizes;
- a quiver: U, V (and its offsets) per state, and the arrow geometry (matplotlib's own, redrawn
  by the page);
- a ``StepPatch`` (``ax.stairs``): its values per state on fixed edges;
- an image (``AxesImage``): its RGBA pixels per state;
- a ``LineCollection``: its segments per state;
- a ``Line2D`` of markers and no line (a marker on a curve, also on log axes): its points per
  state in canvas pixels, with matplotlib's marker polygon;
- a text: each distinct string rendered once by matplotlib into an atlas (exact glyphs, no font
  needed in the page).

The page maps data to pixels with each axes' ``transData`` (an affine, exported with the axes'
pixel box, scaled by the device-pixel ratio); the static artists that matplotlib would draw above
the moving ones (spines, legends, lines) come as a second, transparent PNG laid over the canvas.
An array is stored only along the controls it depends on (``dims``): the background samples of
a scene that vary with t alone are sent once per t, not once per (t, x, y). The page reports the
state it shows back to the kernel (the ``index`` traitlet), so ``explorer.state`` follows the
slider a student moved in the page. Sections 6.1-6.5.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_rgba
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import StepPatch
from matplotlib.quiver import Quiver
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from .. import plotting as P
from ..i18n import t as _t

__all__ = ["ClientUnsupported", "ClientView", "export", "decode", "expand", "MAX_STATES"]

ESM = Path(__file__).with_name("client.js")
MAX_STATES = 4000  # t grid x other controls: beyond this the kernel shell is the better choice


class ClientUnsupported(ValueError):
    """A scene moves an artist (or has a control) that the browser renderer cannot draw."""


def anywidget():
    try:
        import anywidget
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the explorers need anywidget: pip install -e '.[notebooks]'") from err
    return anywidget


# ------------------------------------------------------------------------------ packing
class _Pack:
    """Arrays appended to one buffer, 4-byte aligned; each one described by offset/dtype/shape."""

    def __init__(self, counts: list[int] | None = None) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.counts = list(counts or [])  # states per control, in the page's order

    def add(self, a: np.ndarray) -> dict:
        a = np.ascontiguousarray(a)
        if a.dtype not in (np.float32, np.uint8):
            a = a.astype(np.float32)
        ref = {"offset": self.size, "dtype": str(a.dtype), "shape": list(a.shape)}
        raw = a.tobytes()
        pad = (-len(raw)) % 4
        self.parts.append(raw + b"\0" * pad)
        self.size += len(raw) + pad
        return ref

    def blob(self) -> bytes:
        return b"".join(self.parts)


def decode(blob: bytes, ref: dict) -> np.ndarray:
    """The array ``ref`` (offset/dtype/shape) in ``blob``: what the page reads."""
    dtype = np.dtype(ref["dtype"])
    count = int(np.prod(ref["shape"])) if ref["shape"] else 1
    return np.frombuffer(blob, dtype, count, ref["offset"]).reshape(ref["shape"])


def expand(blob: bytes, ref: dict, counts: list[int]) -> np.ndarray:
    """The array ``ref`` at every state (``counts``: states per control), as the page indexes it:
    shape (states, ...), rows repeated along the controls it does not depend on."""
    a = decode(blob, ref)
    total = int(np.prod(counts)) if counts else 1
    if not ref.get("per_state"):
        return np.broadcast_to(a, (total, *a.shape))
    dims = ref.get("dims", list(range(len(counts))))
    kept = [counts[i] for i in dims]
    grid = a.reshape(*kept, *a.shape[1:])
    index = np.unravel_index(np.arange(total), counts) if counts else ()
    return grid[tuple(index[i] for i in dims)]


def _depends(stack: np.ndarray, axis: int) -> bool:
    first = np.take(stack, [0], axis=axis)
    nan = stack.dtype.kind == "f"
    return not np.array_equal(stack, np.broadcast_to(first, stack.shape), equal_nan=nan)


def _per_state(pack: _Pack, arrays: list[np.ndarray]) -> dict:
    """One array for every state, or one for all when they are all equal (``per_state`` false);
    per state, kept only along the controls it varies with (``dims``, in the page's order)."""
    first = arrays[0]
    if all(a.shape == first.shape and np.array_equal(a, first) for a in arrays[1:]):
        return {**pack.add(first), "per_state": False}
    if any(a.shape != first.shape for a in arrays):
        raise ClientUnsupported("an artist changes its number of elements between states")
    counts = pack.counts if int(np.prod(pack.counts or [1])) == len(arrays) else [len(arrays)]
    stack = np.stack(arrays).reshape(*counts, *first.shape)
    dims = [i for i in range(len(counts)) if _depends(stack, i)]
    stack = stack[tuple(slice(None) if i in dims else slice(0, 1) for i in range(len(counts)))]
    out = pack.add(stack.reshape(-1, *first.shape))
    return {**out, "per_state": True, "dims": dims}


# ------------------------------------------------------------------------------ the states
def _controls(explorer) -> list[dict]:
    """Every control as the page builds it: key, values (for indexing), labels, kind."""
    out = []
    for key, control in explorer.controls.items():
        values = explorer._values(key, None)
        step = getattr(control, "step", None)
        if step and key != explorer.time_key and not getattr(control, "options", None):
            # every value of the slider (the static fallbacks thin long ones; the page does not)
            count = int(round((control.max - control.min) / step)) + 1
            values = np.linspace(control.min, control.max, count).tolist()
            if isinstance(control.value, int):
                values = [int(round(v)) for v in values]
        if key == explorer.time_key:
            steps = explorer.scene.time.steps
            values = [k / steps for k in range(steps + 1)]
        options = getattr(control, "options", None)
        if options:
            labels = [str(o[0]) if isinstance(o, tuple) else str(o) for o in options]
            kind = "options"
        else:
            step = getattr(control, "step", None)
            count = int(round((control.max - control.min) / step)) + 1 if step else 0
            if count != len(values) and key != explorer.time_key:
                raise ClientUnsupported(f"control {key!r}: a slider of {count} values")
            fmt = ".2f" if isinstance(control.value, float) else "d"
            labels = [format(v, fmt) for v in values]
            kind = "slider"
        value = control.value
        index = min(range(len(values)), key=lambda i: abs(_num(values[i]) - _num(value)))
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            index = next((i for i, v in enumerate(values) if v == value), 0)
        out.append(
            {
                "key": key,
                "values": values,
                "labels": labels,
                "kind": kind,
                "index": index,
                "description": getattr(control, "description", key) or key,
            }
        )
    return out


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0


def states(explorer) -> list[dict]:
    """Every state the page can show, in its order: the last control (t, when there) fastest."""
    controls = _ordered(_controls(explorer), explorer.time_key)
    combos = itertools.product(*(c["values"] for c in controls))
    return [
        {**explorer.state, **dict(zip([c["key"] for c in controls], v, strict=True))}
        for v in combos
    ]


def _ordered(controls: list[dict], time_key: str | None) -> list[dict]:
    # t last: neighbouring frames of Play are neighbours in the buffer
    return [c for c in controls if c["key"] != time_key] + [
        c for c in controls if c["key"] == time_key
    ]


# ------------------------------------------------------------------------------ the layers
def _linear(ax: Axes) -> bool:
    return ax.get_xscale() == "linear" and ax.get_yscale() == "linear"


def _axes_spec(ax: Axes, height: float) -> dict:
    x0, y0, w, h = ax.bbox.bounds
    if not _linear(ax):  # no affine: only layers in canvas pixels may move there
        return {"affine": None, "box": [x0, height - y0 - h, w, h]}
    m = ax.transData.get_matrix()
    # display (origin bottom left) -> canvas (origin top left): y' = height - y
    return {
        "affine": [m[0, 0], -m[1, 0], m[0, 1], -m[1, 1], m[0, 2], height - m[1, 2]],
        "box": [x0, height - y0 - h, w, h],
    }


def _is_circle(sc: PathCollection) -> bool:
    paths = sc.get_paths()
    if len(paths) != 1:
        return False
    from matplotlib.markers import MarkerStyle

    o = MarkerStyle("o")
    circle = o.get_path().transformed(o.get_transform()).vertices
    v = paths[0].vertices
    return v.shape == circle.shape and np.allclose(v, circle)


def _marker_polygons(sc: PathCollection) -> list[list[float]]:
    """A scatter's one marker as closed polygons, in units of the marker's size (sqrt(s) points)."""
    paths = sc.get_paths()
    if len(paths) != 1:
        raise ClientUnsupported("a scatter of several marker shapes")
    polygons = paths[0].to_polygons(closed_only=False)
    if not polygons:
        raise ClientUnsupported("a scatter whose marker has no area")
    return [[float(v) for v in np.asarray(poly, float).reshape(-1)] for poly in polygons]


def _rgba(colors, n: int) -> np.ndarray:
    c = np.asarray(colors, dtype=np.float32).reshape(-1, 4)
    if len(c) == 0:
        return np.zeros((0, 4), np.float32)
    return c


class _Recorder:
    """Reads one moving artist back at every state."""

    def __init__(self, artist, axes_index: dict, height: float) -> None:
        self.artist, self.records = artist, []
        ax = artist.axes
        self.axes = axes_index.get(ax) if ax is not None else None
        self.height = height
        if isinstance(artist, Quiver):
            self.type = "quiver"
        elif isinstance(artist, PathCollection):
            self.marker = None if _is_circle(artist) else _marker_polygons(artist)
            self.type = "points"
        elif isinstance(artist, StepPatch):
            if artist.orientation != "vertical":
                raise ClientUnsupported("a horizontal StepPatch")
            self.type = "stairs"
        elif isinstance(artist, LineCollection):
            self.type = "lines"
        elif isinstance(artist, AxesImage):
            self.type = "image"
        elif isinstance(artist, Text):
            self.type = "text"
        elif isinstance(artist, Line2D):
            if artist.get_marker() in ("None", "none", "", " ", None):
                self.type = "polyline"
            elif artist.get_linestyle() in ("None", "none", "", " "):
                self.type = "marks"
            else:
                raise ClientUnsupported("a moving Line2D with both a line and markers")
        else:
            raise ClientUnsupported(f"a moving {type(artist).__name__}")
        if self.type not in ("text", "polyline", "marks") and not _linear(artist.axes):
            raise ClientUnsupported("only linear axes are drawn in the browser")
        if self.type != "text" and self.axes is None:
            raise ClientUnsupported(f"a moving {type(artist).__name__} outside any axes")

    def record(self, renderer) -> None:
        a = self.artist
        if hasattr(a, "update_scalarmappable"):  # colours by value are mapped at draw time
            a.update_scalarmappable()
        if not a.get_visible():
            self.records.append(None)
        elif self.type == "points":
            self.records.append(
                {
                    "xy": np.asarray(a.get_offsets(), np.float32).reshape(-1, 2),
                    "rgba": _rgba(a.get_facecolor(), 0),
                    "size": np.asarray(a.get_sizes(), np.float32).reshape(-1),
                }
            )
        elif self.type == "quiver":
            self.records.append(
                {
                    "uv": np.column_stack([np.ma.filled(a.U, 0), np.ma.filled(a.V, 0)]).astype(
                        np.float32
                    ),
                    "rgba": _rgba(a.get_facecolor(), 0),
                    "xy": np.asarray(a.get_offsets(), np.float32).reshape(-1, 2),
                }
            )
        elif self.type == "stairs":
            data = a.get_data()
            self.records.append(
                {
                    "values": np.asarray(data.values, np.float32).reshape(-1),
                    "edges": np.asarray(data.edges, np.float32).reshape(-1),
                    "baseline": np.asarray(data.baseline, np.float32).reshape(-1)[:1],
                }
            )
        elif self.type == "lines":
            paths = a.get_paths()
            if all(p.codes is None for p in paths) and len({len(p.vertices) for p in paths}) <= 1:
                segs = [p.vertices for p in paths]  # what get_segments returns, much faster
            else:
                segs = a.get_segments()
            lens = {len(s) for s in segs}
            if len(lens) > 1:
                raise ClientUnsupported("a LineCollection of lines of different lengths")
            k = lens.pop() if lens else 0
            self.records.append(
                {
                    "segments": np.asarray(segs, np.float32).reshape(len(segs), k, 2),
                    "rgba": _rgba(a.get_colors(), 0),
                    "width": np.asarray(a.get_linewidths(), np.float32).reshape(-1),
                }
            )
        elif self.type in ("polyline", "marks"):
            # in canvas pixels: whatever its transform (axvline mixes data and axes coordinates)
            xy = a.get_transform().transform(np.asarray(a.get_xydata(), float))
            xy[:, 1] = self.height - xy[:, 1]
            self.records.append({"xy": xy.astype(np.float32)})
        elif self.type == "image":
            rgba = a.to_rgba(a.get_array(), bytes=True)
            self.records.append({"rgba": np.asarray(rgba, np.uint8)})
        else:
            self.records.append({"text": a.get_text()})

    # -------------------------------------------------------------- to the page
    def layer(self, pack: _Pack, figure, sprites) -> dict:
        a = self.artist
        visible = np.array([r is not None for r in self.records], np.uint8)
        recs = [r for r in self.records if r is not None]
        out = {"type": self.type, "axes": self.axes, "visible": pack.add(visible)}
        dpi = figure.dpi
        if self.axes is not None:
            out["clip"] = bool(a.get_clip_on() and a.get_clip_box() is not None)
        if not recs:
            return out
        fill = [r for r in self.records]
        first = recs[0]
        fill = [r if r is not None else first for r in self.records]  # hidden: any shape will do
        if self.type == "points":
            out["xy"] = _per_state(pack, [r["xy"] for r in fill])
            colours = [r["rgba"] for r in fill]
            if len({c.shape for c in colours}) == 1 and len(colours[0]) > 1:
                stack = np.stack(colours)  # coloured by value: a colormap's few colours
                palette, index = np.unique(stack.reshape(-1, 4), axis=0, return_inverse=True)
                if len(palette) <= 256:
                    out["palette"] = pack.add(palette.astype(np.float32))
                    colours = list(index.reshape(stack.shape[:2]).astype(np.uint8))
            out["rgba"] = _per_state(pack, colours)
            # a marker of size s (points^2) is a circle of diameter sqrt(s) points
            out["radius"] = _per_state(
                pack, [(0.5 * np.sqrt(r["size"]) * dpi / 72).astype(np.float32) for r in fill]
            )
            if self.marker is not None:  # a polygon of that size, filled and edged in its colour
                out["marker"] = self.marker
                width = float(np.asarray(a.get_linewidths(), float).reshape(-1)[:1].sum())
                edge, face = np.asarray(a.get_edgecolor()), np.asarray(a.get_facecolor())
                unedged = width == 0 or not len(edge) or edge[:, 3].max() == 0
                if not unedged and not (edge.shape == face.shape and np.allclose(edge, face)):
                    raise ClientUnsupported("a polygon marker edged in another colour")
                out["edge"] = 0.0 if unedged else width * dpi / 72
        elif self.type == "quiver":
            a._init()
            out["xy"] = _per_state(pack, [r["xy"] for r in fill])
            out["uv"] = _per_state(pack, [r["uv"] for r in fill])
            out["rgba"] = _per_state(pack, [r["rgba"] for r in fill])
            if not (a.angles == "xy" and a.scale_units == "xy"):
                raise ClientUnsupported("a quiver without angles='xy', scale_units='xy'")
            out["arrow"] = {
                "scale": float(a.scale),
                "width": float(a.width),
                "dots": float(a._dots_per_unit(a.units)),
                "headwidth": float(a.headwidth),
                "headlength": float(a.headlength),
                "headaxislength": float(a.headaxislength),
                "minshaft": float(a.minshaft),
                "minlength": float(a.minlength),
                "pivot": a.pivot,
            }
        elif self.type == "lines":
            # lines that grow (trails) or come and go: padded with NaN to one shape, the page
            # lifts the pen at a NaN
            m = max(r["segments"].shape[0] for r in fill)
            k = max(r["segments"].shape[1] for r in fill)
            padded = []
            for r in fill:
                seg = np.full((m, k, 2), np.nan, np.float32)
                seg[: r["segments"].shape[0], : r["segments"].shape[1]] = r["segments"]
                padded.append(seg)
            out["segments"] = _per_state(pack, padded)
            colours = [r["rgba"] for r in fill]
            if len({c.shape for c in colours}) == 1 and len(colours[0]) > 1:
                stack = np.stack(colours)  # a colour a line (opacity by weight): few colours
                palette, index = np.unique(stack.reshape(-1, 4), axis=0, return_inverse=True)
                if len(palette) <= 256:
                    out["palette"] = pack.add(palette.astype(np.float32))
                    colours = list(index.reshape(stack.shape[:2]).astype(np.uint8))
            out["rgba"] = _per_state(pack, colours)
            out["width"] = _per_state(pack, [(r["width"] * dpi / 72) for r in fill])
        elif self.type == "stairs":
            out["values"] = _per_state(pack, [r["values"] for r in fill])
            out["edges"] = _per_state(pack, [r["edges"] for r in fill])
            out["baseline"] = _per_state(pack, [r["baseline"] for r in fill])
            out["fill"] = bool(a.get_fill())
            out["face"] = [float(c) for c in a.get_facecolor()]
            out["edge"] = [float(c) for c in a.get_edgecolor()]
            out["width"] = float(a.get_linewidth()) * dpi / 72
        elif self.type == "marks":  # a marker at each point: polygons in pixels, filled, edged
            out["xy"] = _per_state(pack, [r["xy"] for r in fill])
            marker = a._marker
            path = marker.get_path().transformed(marker.get_transform())
            size = float(a.get_markersize()) * dpi / 72
            out["marker"] = [
                [float(v) * size for v in np.asarray(poly, float).reshape(-1)]
                for poly in path.to_polygons(closed_only=False)
            ]
            face = a.get_markerfacecolor()
            filled = marker.is_filled() and not (isinstance(face, str) and face.lower() == "none")
            out["face"] = [float(c) for c in to_rgba(face)] if filled else [0.0, 0.0, 0.0, 0.0]
            out["edge"] = [float(c) for c in to_rgba(a.get_markeredgecolor())]
            out["edge_width"] = float(a.get_markeredgewidth()) * dpi / 72
        elif self.type == "polyline":
            out["xy"] = _per_state(pack, [r["xy"] for r in fill])
            out["colour"] = [float(c) for c in _colour(a)]
            out["width"] = float(a.get_linewidth()) * dpi / 72
            offset, dashes = a._dash_pattern  # in points, scaled by the line width already
            out["dashes"] = [float(d) * dpi / 72 for d in (dashes or [])]
            out["dash_offset"] = float(offset or 0) * dpi / 72
            out["cap"] = a.get_dash_capstyle() if dashes else a.get_solid_capstyle()
        elif self.type == "image":
            stack = np.stack([r["rgba"] for r in fill])
            packed = stack.view(np.uint32)[..., 0]  # one RGBA colour per pixel
            colours, index = np.unique(packed, return_inverse=True)
            if len(colours) <= 256:  # a colormap's 256 colours at most: 1 byte a pixel
                out["palette"] = pack.add(colours.view(np.uint8).reshape(-1, 4))
                index = index.reshape(packed.shape).astype(np.uint8)
                out["rgba"] = _per_state(pack, list(index))
            else:
                out["rgba"] = _per_state(pack, [r["rgba"] for r in fill])
            x0, x1, y0, y1 = a.get_extent()
            out["extent"] = [float(x0), float(x1), float(y0), float(y1)]
            out["origin"] = a.origin
            out["smooth"] = a.get_interpolation() not in ("nearest", "none", "antialiased", "auto")
        else:
            out.update(sprites.add(self, [r["text"] if r else "" for r in self.records]))
        return out


def _colour(line) -> tuple:
    from matplotlib.colors import to_rgba

    return to_rgba(line.get_color(), line.get_alpha())


class _Sprites:
    """Texts rendered once per distinct string by matplotlib, stacked in one RGBA atlas."""

    def __init__(self, figure) -> None:
        self.figure, self.rows, self.height = figure, [], 0

    def add(self, rec: _Recorder, texts: list[str]) -> dict:
        text, canvas = rec.artist, self.figure.canvas
        saved = text.get_text()
        index, boxes = {}, []
        renderer = canvas.get_renderer()
        for s in dict.fromkeys(texts):
            if not s:
                continue
            text.set_text(s)
            renderer.clear()
            text.draw(renderer)
            bb = text.get_window_extent(renderer)
            box = text.get_bbox_patch()  # a boxed text (metrics): its box is part of the sprite
            if box is not None and box.get_visible():
                bb = Bbox.union([bb, box.get_window_extent(renderer)])
            bb = bb.padded(2)
            H = int(self.figure.bbox.height)
            x0, x1 = max(int(np.floor(bb.x0)), 0), int(np.ceil(bb.x1))
            top, bottom = max(int(np.floor(H - bb.y1)), 0), min(int(np.ceil(H - bb.y0)), H)
            buf = np.asarray(canvas.buffer_rgba())
            crop = buf[top:bottom, x0:x1].copy()
            index[s] = len(boxes)
            boxes.append([x0, top, crop.shape[1], crop.shape[0], self.height])
            self.rows.append(crop)
            self.height += crop.shape[0]
        text.set_text(saved)
        return {"sprite": [index.get(s, -1) for s in texts], "boxes": boxes}

    def png(self) -> bytes | None:
        if not self.rows:
            return None
        width = max(r.shape[1] for r in self.rows)
        atlas = np.zeros((self.height, width, 4), np.uint8)
        y = 0
        for r in self.rows:
            atlas[y : y + r.shape[0], : r.shape[1]] = r
            y += r.shape[0]
        return _png(atlas)


def _png(rgba: np.ndarray) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="png", compress_level=6)
    return out.getvalue()


# ------------------------------------------------------------------------------ stills
def _with_hidden(figure, hide: Iterable, draw) -> bytes:
    """PNG of ``figure`` drawn with ``hide`` invisible (texts blanked: a hidden title has no extent)."""
    texts = [(a, a.get_text()) for a in hide if isinstance(a, Text)]
    others = [(a, a.get_visible()) for a in hide if not isinstance(a, Text)]
    for a, _ in texts:
        a.set_text("")
    for a, _ in others:
        a.set_visible(False)
    try:
        figure.canvas.draw() if draw else None
        return P.png_bytes(figure, compress_level=6, draw=False)
    finally:
        for a, text in texts:
            a.set_text(text)
        for a, visible in others:
            a.set_visible(visible)


def _all_artists(figure) -> list:
    out = [c for c in figure.get_children() if c not in figure.axes]
    for ax in figure.axes:
        out.extend(ax.get_children())
    return out


def export(explorer) -> dict:
    """Everything the page needs for ``explorer``: spec (JSON), blob, still, overlay, atlas.

    Visits every state; the explorer is left in the state it was in, also when it is refused."""
    saved = dict(explorer.state)
    try:
        return _export(explorer)
    finally:
        explorer.render(saved)
        explorer.capture_background()


def _export(explorer) -> dict:
    from .shell import _blit_set, _in_drawing_order

    scene, figure = explorer.scene, explorer.figure
    controls = _ordered(_controls(explorer), explorer.time_key)
    count = int(np.prod([len(c["values"]) for c in controls])) if controls else 1
    if count > MAX_STATES:
        raise ClientUnsupported(f"{count} states (more than {MAX_STATES})")
    saved = dict(explorer.state)
    all_states = states(explorer)
    moving: list = []
    for state in all_states[:1] + all_states[-1:]:
        changed = scene.update(state)
        if changed is None:
            raise ClientUnsupported("the scene's update returns None (a full redraw)")
        moving.extend(a for a in changed if a not in moving)
    moving = _in_drawing_order(set(moving), figure)
    above = [a for a in _blit_set(moving, figure) if a not in moving]
    height = float(figure.bbox.height)
    axes_index = {ax: i for i, ax in enumerate(figure.axes)}
    recorders = [_Recorder(a, axes_index, height) for a in moving]
    renderer = figure.canvas.get_renderer()
    for state in all_states:
        scene.update(state)
        for rec in recorders:
            rec.record(renderer)
    explorer.render(saved)
    # stills: the static artists below (everything but the moving and what lies above them), and,
    # on a transparent figure, those above
    still = _with_hidden(figure, [*moving, *above], draw=True)
    keep = set(above)
    overlay = None
    if above:
        overlay = _with_hidden(figure, [a for a in _all_artists(figure) if a not in keep], True)
    pack, sprites = _Pack([len(c["values"]) for c in controls]), _Sprites(figure)
    layers = [rec.layer(pack, figure, sprites) for rec in recorders]
    atlas = sprites.png()
    explorer.render(saved)
    explorer.capture_background()
    width = float(figure.bbox.width)
    spec = {
        "kind": scene.kind,
        "width": width,
        "height": height,
        "axes": [_axes_spec(ax, height) for ax in figure.axes],
        "layers": layers,
        "controls": [
            {k: v for k, v in c.items() if k != "values"}
            | {"values": [v if isinstance(v, (int, float, str)) else str(v) for v in c["values"]]}
            for c in controls
        ],
        "counts": [len(c["values"]) for c in controls],
        "time": explorer.time_key,
        "interval_ms": scene.time.interval_ms if scene.time is not None else 100,
        "alt": _alt(scene),
        "states": count,
        "ui": _ui(),
    }
    return {
        "spec": spec,
        "blob": pack.blob(),
        "still": still,
        "overlay": overlay or b"",
        "atlas": atlas or b"",
    }


def _ui() -> dict[str, str]:
    """The page's own words and font, in the chosen language (fmlib.i18n)."""
    from .. import i18n

    return {
        "play": _t("play"),
        "pause": _t("pause"),
        "trails": _t("trails"),
        "keys": _t("Space: play or pause; arrow keys: step t"),
        "font": i18n.CSS_FONTS[i18n.language()],
    }


def _alt(scene) -> str:
    doc = (type(scene).__doc__ or scene.kind).strip().splitlines()[0]
    return f"{scene.kind.replace('-', ' ')}: {doc}"


# ------------------------------------------------------------------------------ the widget
def _view_class():
    aw = anywidget()
    import traitlets

    class ClientView(aw.AnyWidget):
        """The browser side of an explorer (see the module's docstring); ``index`` is the state shown."""

        _esm = ESM
        spec = traitlets.Dict().tag(sync=True)
        blob = traitlets.Bytes().tag(sync=True)
        still = traitlets.Bytes().tag(sync=True)
        overlay = traitlets.Bytes().tag(sync=True)
        atlas = traitlets.Bytes().tag(sync=True)
        index = traitlets.List(traitlets.Int()).tag(sync=True)  # per control, in spec order

        def __repr__(self) -> str:  # a notebook's text output: the same in every run
            return f"ClientView({self.spec.get('alt', '')!r})"

    return ClientView


_CLASS = None


def ClientView(explorer):  # noqa: N802 - a factory for the class made on first use
    """The anywidget that draws ``explorer`` in the page (all its states computed here, once)."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _view_class()
    data = export(explorer)
    view = _CLASS(
        spec=data["spec"],
        blob=data["blob"],
        still=data["still"],
        overlay=data["overlay"],
        atlas=data["atlas"],
        index=[c["index"] for c in data["spec"]["controls"]],
    )
    view.add_class("fm-explorer")
    view.add_class(f"fm-{explorer.kind}")
    view.add_class("fm-client")
    # the control values behind each index, in the spec's order (the page reports indices)
    view.fm_values = [
        (c["key"], list(c["values"])) for c in _ordered(_controls(explorer), explorer.time_key)
    ]
    return view


def state_of(view, index: list[int]) -> dict:
    """The control values (key -> value) of the page's ``index`` (one per control)."""
    out = {}
    for (key, values), i in zip(view.fm_values, index, strict=True):
        out[key] = values[min(max(int(i), 0), len(values) - 1)]
    return out


def index_of(spec: dict, state: dict) -> list[int]:
    """The page's index (one per control, in the spec's order) of the state nearest ``state``."""
    out = []
    for c in spec["controls"]:
        value, values = state[c["key"]], c["values"]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(min(range(len(values)), key=lambda i: abs(_num(values[i]) - value)))
        else:
            out.append(next((i for i, v in enumerate(values) if v == value), 0))
    return out


# ------------------------------------------------------------------------------ the course site
# The course site (tools/build_book.py) keeps the explorers drawn in the page live: at the end of
# a notebook's run the kernel prints the state of those widgets (``STATE_CODE``); the build stores
# it in the notebook's metadata, where the site's widget manager finds it. Every other widget
# keeps its PNG still (``prune_outputs``).
STATE_MARK = "fmlib-widget-state:"
STATE_CODE = "from fmlib.widgets.client import print_widget_state as _s; _s(); del _s"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def widget_state() -> dict:
    """The widget-manager state of every ``ClientView`` alive and the widgets it refers to
    (its layout), with defaults kept (the page needs the model's module and name)."""
    import ipywidgets
    from ipywidgets.widgets.widget import _instances

    keep, todo = {}, [w for w in list(_instances.values()) if _CLASS and isinstance(w, _CLASS)]
    while todo:
        w = todo.pop()
        if w.model_id in keep:
            continue
        keep[w.model_id] = w
        for value in w.get_state().values():
            for ref in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(ref, ipywidgets.Widget):
                    todo.append(ref)
                elif isinstance(ref, str) and ref.startswith("IPY_MODEL_"):
                    if ref[10:] in _instances:
                        todo.append(_instances[ref[10:]])
    return ipywidgets.Widget.get_manager_state(drop_defaults=False, widgets=list(keep.values()))


def print_widget_state() -> None:
    import json

    print(STATE_MARK + json.dumps(widget_state()))


def parse_state(text: str) -> dict | None:
    """The state ``print_widget_state`` printed in ``text`` (a cell's stdout), or None."""
    import json

    for line in text.splitlines():
        if line.startswith(STATE_MARK):
            return json.loads(line[len(STATE_MARK) :])
    return None


def prune_outputs(nb, state: dict | None) -> int:
    """Keep the widget view only on outputs whose model is in ``state`` (a client explorer, live
    in the site); every other widget output keeps its PNG still. Stores ``state`` in the
    notebook's metadata when it holds any model. Returns how many explorers stay live."""
    models = set((state or {}).get("state", {}))
    live = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            view = data.get(WIDGET_VIEW)
            if view is None:
                continue
            if view.get("model_id") in models:
                live += 1
            else:
                del data[WIDGET_VIEW]
    if live:
        nb.metadata["widgets"] = {WIDGET_STATE: state}
    else:
        nb.metadata.pop("widgets", None)
    return live
