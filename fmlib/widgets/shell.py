"""The one shell every explorer runs in: controls, Play, blitted frames, PNG still, fallbacks.

An explorer is a *scene* (a subclass of ``Scene``) handed to ``Explorer``. The scene draws itself
once on a figure the shell makes (``draw``) and, for a state (a dict of control values), moves its
artists in place and returns the ones it changed (``update``): matplotlib's own ``FuncAnimation``
contract. The shell does everything else, once for all explorers: builds the controls (a ``t``
slider linked to a ``Play`` when the scene has a time axis), lays the figure out and freezes the
layout, blits each frame from the artists ``update`` returned (plus the static artists drawn above
them in the same axes, found here, never listed by hand), sends the frame as a PNG to an
``ipywidgets.Image`` shown at its drawn size, and offers ``animate()`` (``to_jshtml``), ``frames()``
(a printable grid) and an ``image/png`` still for pages without a widget front end. ipywidgets is
imported only when an explorer is built. Sections 6.1-6.5.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.text import Text

from .. import plotting as P
from .._validate import check_positive_int
from ..i18n import t as _t

__all__ = [
    "Scene",
    "TimeAxis",
    "Explorer",
    "frame_update_times",
    "time_controls",
    "DPI",
]

DPI = 80
SLIDER_WIDTH = "520px"  # a t slider's track of ~400 px: long enough to drag to a chosen t
MAX_STATIC_FRAMES = 41  # animate()/frames() of a fine slider thin it to STATIC_FRAMES frames
STATIC_FRAMES = 26


def ipywidgets():
    """The ipywidgets module, with an install hint when it is missing."""
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the explorers need ipywidgets: pip install -e '.[notebooks]'") from err
    return ipywidgets


@dataclass(frozen=True)
class TimeAxis:
    """A scene's time axis: a ``t`` slider on the grid k / steps, linked to a Play over k."""

    steps: int = 50
    start: float = 0.0
    interval_ms: int = 100


class Scene:
    """One explorer's picture: ``draw`` it once, ``update(state)`` -> the artists it changed.

    Class attributes say what the shell builds: ``kind`` (CSS class ``fm-<kind>``), ``panels``
    and ``size`` (the figure: panels side by side, inches), ``time`` (a ``TimeAxis`` for a t
    slider + Play, or None). ``controls(widgets)`` returns the other controls by name (state
    keys). ``draw(figure, axes)`` draws everything and fills ``self.artists`` (named artists,
    for tests) and ``self.data`` (what was computed once). ``update(state)`` moves artists in
    place and returns those it changed; the shell blits exactly those. ``client = True``: the
    page draws it (``fmlib/widgets/client.py``): what ``update`` returns is the moving part,
    sent for every state at once; the rest is a PNG still. Sections 6.1-6.5.
    """

    kind: str = "explorer"
    panels: int = 1
    size: tuple[float, float] = (5.2, 4.6)
    time: TimeAxis | None = None
    client: bool = False  # True: drawn in the browser (client.py), every state computed once

    def __init__(self) -> None:
        self.artists: dict[str, Artist] = {}
        self.data: dict[str, object] = {}

    def controls(self, widgets) -> dict[str, object]:
        """Controls other than the time slider, by state key (``widgets`` is ipywidgets)."""
        return {}

    def draw(self, figure: Figure, axes) -> None:
        raise NotImplementedError

    def update(self, state: Mapping[str, object]) -> Iterable[Artist]:
        raise NotImplementedError


class _RenderScene(Scene):
    """The older form ``Explorer(figure, render, controls, dynamic=...)`` as a scene."""

    def __init__(self, figure, render, kind, dynamic, artists, data):
        super().__init__()
        self.figure, self.render, self.kind, self.dynamic = figure, render, kind, dynamic
        self.artists, self.data = dict(artists or {}), dict(data or {})

    def update(self, state):
        self.render(state)
        return self.dynamic  # None: the shell draws the whole figure


def time_controls(axis: TimeAxis):
    """A t slider on the grid k / steps and a Play over k, linked in Python (works headless)."""
    widgets = ipywidgets()
    steps = check_positive_int(axis.steps, "steps")
    slider = widgets.FloatSlider(
        value=axis.start,
        min=0.0,
        max=1.0,
        step=1.0 / steps,
        description="t",
        readout_format=".2f",
        continuous_update=True,
        layout=widgets.Layout(width=SLIDER_WIDTH),
    )
    play = widgets.Play(
        value=int(round(axis.start * steps)),
        min=0,
        max=steps,
        step=1,
        interval=axis.interval_ms,
        description=_t("play"),
    )
    widgets.link(
        (play, "value"),
        (slider, "value"),
        transform=(lambda k: k / steps, lambda t: int(round(t * steps))),
    )
    return slider, play


def _in_drawing_order(artists: set[Artist], figure: Figure) -> list[Artist]:
    """Axes by axes, then by zorder, ties in the order the axes would draw them."""
    rank = {ax: i for i, ax in enumerate(figure.axes)}
    place = {c: i for ax in figure.axes for i, c in enumerate(ax.get_children())}
    return sorted(
        artists, key=lambda a: (rank.get(a.axes, len(rank)), a.get_zorder(), place.get(a, 0))
    )


def _blit_set(changed: Iterable[Artist], figure: Figure) -> list[Artist]:
    """The changed artists plus the static ones drawn above them in their axes (spines, legends...)."""
    out = set(changed)
    for ax in {a.axes for a in out if a.axes is not None}:
        low = min(a.get_zorder() for a in out if a.axes is ax)
        out.update(
            c
            for c in ax.get_children()
            if c is not ax.patch
            and not isinstance(c, Axis)
            and not (isinstance(c, Text) and not c.get_text())  # empty titles draw nothing
            and c.get_zorder() > low
            and c.get_visible()
        )
    return _in_drawing_order(out, figure)


class Explorer:
    """A scene in the shell: ``Explorer(scene)``. Sections 6.1-6.5.

    Attributes: ``scene``, ``state`` (dict of control values), ``controls`` (name -> ipywidget),
    ``play`` (the Play linked to ``t``, or None), ``figure`` (an Agg Figure unknown to pyplot),
    ``image`` (``ipywidgets.Image`` with the current PNG), ``shell`` (the kernel-drawn VBox, CSS
    classes ``fm-explorer fm-<kind>``), ``widget`` (what a notebook shows: ``shell``, or for a
    scene with ``client = True`` the browser-drawn ``client.ClientView``, made when first shown), ``artists`` and ``data`` (the scene's), ``render``
    (state -> changed artists). A control change updates ``state``, renders and re-encodes; in
    a browser-drawn view, a control moved in the page updates ``state`` and the controls' values
    (the page reports it) and the kernel redraws nothing until a still is asked for.
    The older form ``Explorer(figure, render, controls, kind=..., play=..., time_key=...,
    dynamic=[...])`` still works.
    """

    def __init__(
        self,
        scene: Scene | Figure,
        render: Callable[[dict], None] | None = None,
        controls: Mapping[str, object] | None = None,
        kind: str = "explorer",
        play: object | None = None,
        time_key: str | None = None,
        data: Mapping[str, object] | None = None,
        dynamic: Sequence[Artist] | None = None,
        artists: Mapping[str, Artist] | None = None,
    ):
        widgets = ipywidgets()
        if isinstance(scene, Figure):
            if not callable(render):
                raise TypeError(f"render must be callable(state); got {type(render).__name__}")
            scene = _RenderScene(scene, render, kind, dynamic, artists, data)
            self.figure, self.controls = scene.figure, dict(controls or {})
        elif isinstance(scene, Scene):
            self.figure, axes = P.new_figure(scene.panels, size=scene.size, dpi=DPI)
            scene.draw(self.figure, axes)
            self.controls = {}
            if scene.time is not None:
                self.controls["t"], play = time_controls(scene.time)
                time_key = "t"
            self.controls.update(scene.controls(widgets))
        else:
            raise TypeError(f"scene must be a fmlib.widgets.Scene; got {type(scene).__name__}")
        self.scene, self.kind, self.play, self.time_key = scene, scene.kind, play, time_key
        self.artists, self.data = scene.artists, scene.data
        self.state = {name: control.value for name, control in self.controls.items()}
        self._blit, self._background = None, None
        self._pushing = self._from_page = self._stale = False
        changed = self.render(self.state)
        # Lay out once with constrained layout, then freeze it: later frames only move artists.
        self.figure.canvas.draw()
        self.figure.set_layout_engine("none")
        self._track(changed)
        self.image = widgets.Image(value=self.snapshot(), format="png", layout=self._image_layout())
        for name, control in self.controls.items():
            control.observe(
                lambda change, name=name: self._on_change(name, change["new"]), names="value"
            )
        self.shell = widgets.VBox([*self._control_rows(widgets), self.image])
        self.shell.add_class("fm-explorer")
        self.shell.add_class(f"fm-{self.kind}")
        self._client = None

    @property
    def widget(self):
        """What a notebook shows: the browser-drawn view for a client scene, else the shell."""
        if not getattr(self.scene, "client", False):
            return self.shell
        if self._client is None:
            from .client import ClientUnsupported, ClientView

            try:
                self._client = ClientView(self)
            except ClientUnsupported as err:  # e.g. log axes: the kernel draws it, as before
                import warnings

                warnings.warn(
                    _t("{kind}: drawn by the kernel ({err})", kind=self.kind, err=err),
                    stacklevel=2,
                )
                self.scene.client = False
                return self.shell
            self._client.observe(self._on_page, names="index")
        return self._client

    def _on_page(self, change) -> None:
        """The page moved a control (a student, in the browser): ``state`` and the controls follow,
        without a kernel redraw (the page drew it); the kernel's frame is redrawn when needed."""
        if self._pushing:
            return
        from .client import state_of

        moved = {
            k: v for k, v in state_of(self._client, change["new"]).items() if self.state[k] != v
        }
        if not moved:
            return
        self._from_page = True
        try:
            for name, value in moved.items():
                self.controls[name].value = value
        finally:
            self._from_page = False

    # ---------------------------------------------------------------- wiring
    def _image_layout(self):
        # Shown at its drawn size (crisp text), shrunk only on screens narrower than the figure.
        width = int(round(self.figure.bbox.width))
        return ipywidgets().Layout(width=f"{width}px", max_width="100%", height="auto")

    def _control_rows(self, widgets) -> list:
        rows, rest = [], dict(self.controls)
        if self.play is not None and self.time_key in rest:
            label = widgets.Label(_t("play"), layout=widgets.Layout(width="auto"))
            rows.append(widgets.HBox([label, self.play, rest.pop(self.time_key)]))
        for control in rest.values():
            if isinstance(
                control, widgets.ToggleButtons
            ):  # its label beside the buttons, not above
                control.add_class("jupyter-widget-inline-hbox")
        if rest:
            rows.append(
                widgets.HBox(list(rest.values()), layout=widgets.Layout(flex_flow="row wrap"))
            )
        return rows

    def _on_change(self, name: str, value: object) -> None:
        self.state[name] = value
        if self._from_page:  # the page drew it: the kernel's frame waits until it is asked for
            self._stale = True
            return
        self.refresh()
        if self._client is not None:  # a control set from Python: the page shows that state
            from .client import index_of

            self._pushing = True
            try:
                self._client.index = index_of(self._client.spec, self.state)
            finally:
                self._pushing = False

    def render(self, state: Mapping[str, object]) -> list[Artist] | None:
        """Move the scene's artists to ``state``; keep blitting right if new artists changed."""
        changed = self.scene.update(state)
        if self._blit is not None and changed is not None and not set(changed) <= set(self._blit):
            self._track([*self._blit, *changed])
        return changed

    def refresh(self) -> None:
        """Render the current state and send the new frame to the page."""
        self._stale = False
        self.render(self.state)
        self.image.value = self.snapshot()

    def update(self, **changes: object) -> Explorer:
        """Set controls by name (as a user would), e.g. ``explorer.update(t=0.5)``."""
        unknown = sorted(set(changes) - set(self.controls))
        if unknown:
            raise ValueError(
                f"unknown control(s) {unknown}; this explorer has {sorted(self.controls)}"
            )
        for name, value in changes.items():
            self.controls[name].value = value
        return self

    # ---------------------------------------------------------------- drawing
    def _track(self, changed: Iterable[Artist] | None) -> None:
        self._blit = None if changed is None else _blit_set(changed, self.figure)
        self.capture_background()

    def capture_background(self) -> None:
        """Keep a bitmap of the figure without the blitted artists, to draw frames onto.

        Ticks, labels and static artists cost most of a full Agg draw; with the background kept
        a frame redraws only what ``update`` changed (and what lies above it). Call again if
        something else changes. A scene whose ``update`` returns None gets full draws.
        """
        if self._blit is None:
            self._background = None
            return
        # Texts are blanked rather than hidden: a hidden title has no extent, and Axes.draw
        # would then move it far above the axes.
        texts = [(a, a.get_text()) for a in self._blit if isinstance(a, Text)]
        others = [(a, a.get_visible()) for a in self._blit if not isinstance(a, Text)]
        for a, _ in texts:
            a.set_text("")
        for a, _ in others:
            a.set_visible(False)
        try:
            self.figure.canvas.draw()
            self._background = self.figure.canvas.copy_from_bbox(self.figure.bbox)
        finally:
            for a, text in texts:
                a.set_text(text)
            for a, visible in others:
                a.set_visible(visible)

    def draw(self) -> None:
        """Draw the current frame on the Agg canvas (blitting onto the background when kept)."""
        canvas = self.figure.canvas
        if self._background is None:
            canvas.draw()
            return
        canvas.restore_region(self._background)
        for a in self._blit:
            self.figure.draw_artist(a)

    def snapshot(self) -> bytes:
        """The current frame as PNG bytes."""
        if self._stale:  # the page moved a control: draw the state it shows
            self._stale = False
            self.render(self.state)
        self.draw()
        return P.png_bytes(self.figure, draw=False)

    def _repr_mimebundle_(self, **kwargs) -> dict:
        # The widget for live front ends, plus a still of the current frame for everything else.
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):  # anywidget: (data, metadata)
            bundle = dict(bundle[0])
        if self._stale:  # the page moved on since the kernel last drew
            self.refresh()
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return bundle

    # ---------------------------------------------------------------- static fallbacks
    def _values(self, key: str, values: Sequence[object] | None) -> list[object]:
        if key not in self.state:
            raise ValueError(
                f"key must be one of this explorer's controls {sorted(self.state)}; got {key!r}"
            )
        if values is not None:
            return list(values)
        control = self.controls[key]
        if getattr(control, "options", None):
            return [o[1] if isinstance(o, tuple) else o for o in control.options]
        count = int(round((control.max - control.min) / control.step)) + 1
        count = STATIC_FRAMES if count > MAX_STATIC_FRAMES else count
        out = np.linspace(control.min, control.max, count).tolist()
        return [int(round(v)) for v in out] if isinstance(control.value, int) else out

    @contextmanager
    def visiting(self, key: str, values: Sequence[object] | None) -> Iterator[Iterator[dict]]:
        """Yield states with ``key`` at each of ``values``; the explorer's own state is restored."""
        values = self._values(key, values)
        saved = dict(self.state)
        try:
            yield ({**saved, key: value} for value in values)
        finally:
            self.render(saved)

    def animate(
        self, key: str | None = None, values: Sequence[object] | None = None, interval_ms: int = 120
    ):
        """An ``IPython.display.HTML`` animation of ``key`` over ``values`` (``to_jshtml``)."""
        from IPython.display import HTML
        from matplotlib.animation import FuncAnimation

        key = key or self.time_key or next(iter(self.state))
        with self.visiting(key, values) as states:
            anim = FuncAnimation(
                self.figure,
                lambda state: self.render(state) or [],
                frames=list(states),
                interval=interval_ms,
                blit=False,
                cache_frame_data=False,
            )
            html = anim.to_jshtml(default_mode="once")
        return HTML(html)

    def frames(
        self, key: str | None = None, values: Sequence[object] | None = None, ncols: int = 2
    ) -> Figure:
        """A grid Figure of frames at ``values`` of ``key`` (a printable handout)."""
        key = key or self.time_key or next(iter(self.state))
        if values is None and key == self.time_key:
            values = (0.0, 0.25, 0.5, 0.75, 1.0)
        check_positive_int(ncols, "ncols")
        shots = []
        with self.visiting(key, values) as states:
            for state in states:
                self.render(state)
                self.figure.canvas.draw()
                shots.append((state[key], np.asarray(self.figure.canvas.buffer_rgba()).copy()))
        ncols = min(ncols, len(shots))
        nrows = math.ceil(len(shots) / ncols)
        w_in, h_in = self.figure.get_size_inches()
        fig, axes = P.new_figure(
            ncols, nrows, size=(ncols * w_in, nrows * (h_in + 0.35)), dpi=self.figure.dpi
        )
        for ax in np.atleast_1d(axes).flat:
            ax.set_axis_off()
        for ax, (value, shot) in zip(np.atleast_1d(axes).flat, shots, strict=False):
            ax.imshow(shot, interpolation="nearest")
            label = f"{value:.2f}" if isinstance(value, float) else str(value)
            ax.set_title(f"{P.term(key)} = {label}", fontsize=P.FONT["title"])
        return fig


def frame_update_times(
    explorer: Explorer, key: str, values: Sequence[object], encode: bool = True
) -> list[float]:
    """Seconds per frame to move ``key`` through ``values``: render + draw + PNG encode.

    With ``encode=False``: render + Agg draw only, no PNG (what a canvas front end would pay).
    The explorer's state is restored afterwards. Used by ``python -m fmlib.bench``. Sections 6.1-6.5.
    """
    if not isinstance(explorer, Explorer):
        raise TypeError(f"explorer must be an Explorer; got {type(explorer).__name__}")
    times = []
    with explorer.visiting(key, values) as states:
        for state in states:
            start = time.perf_counter()
            explorer.render(state)
            explorer.snapshot() if encode else explorer.draw()
            times.append(time.perf_counter() - start)
    return times
