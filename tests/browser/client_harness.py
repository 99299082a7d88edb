"""The browser renderer (``fmlib/widgets/client.js``) on a bare page, without JupyterLab.

``open_explorer(context, explorer)`` writes a page that imports the module and hands it a
stand-in for anywidget's model holding ``client.export(explorer)``, opens it from ``file://``
and returns the page; ``composite(page)`` reads back what a user sees (the still, the canvas and
the overlay, stacked at the figure's size) as an (H, W, 4) uint8 array, and ``reference(explorer,
state)`` is matplotlib's full redraw of the same state, to compare the two.
"""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path

import numpy as np

from fmlib.widgets import client

_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head>
<body style="margin:0;background:#fff"><div id="el"></div>
<script type="module">
const data = JSON.parse(document.getElementById("data").textContent);
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const values = {spec: data.spec, index: data.index, blob: new DataView(b64(data.blob).buffer),
  still: b64(data.still), overlay: b64(data.overlay), atlas: b64(data.atlas)};
const handlers = {};
const saved = []; // what the page sent to the kernel (save_changes), in order
const model = {get: (k) => values[k], set: (k, v) => { values[k] = v; },
  save_changes() { saved.push(JSON.parse(JSON.stringify(values.index))); },
  on: (name, fn) => { handlers[name] = fn; }, off() {}};
window.fmModel = {values, handlers, saved};
// as anywidget loads it: the module's text as a blob URL (file:// pages may not import files)
const url = URL.createObjectURL(new Blob([data.esm], {type: "text/javascript"}));
const widget = (await import(url)).default;
widget.render({model, el: document.getElementById("el")});
window.fmReady = true;
</script>
<script type="application/json" id="data">DATA</script></body></html>"""

COMPOSITE_JS = """async () => {
    const root = document.querySelector('.fm-client-root');
    const [still, ...rest] = root.querySelectorAll('.fm-client-stage img');
    const canvas = root.querySelector('.fm-client-stage canvas');
    await Promise.all([still, ...rest].map((img) => img.decode()));
    const out = document.createElement('canvas');
    out.width = still.naturalWidth; out.height = still.naturalHeight;
    const ctx = out.getContext('2d');
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(still, 0, 0);
    ctx.drawImage(canvas, 0, 0, out.width, out.height);
    for (const img of rest) ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, out.width, out.height).data;
    let s = ''; for (let i = 0; i < px.length; i += 8192) s += String.fromCharCode(...px.subarray(i, i + 8192));
    return [out.width, out.height, btoa(s)];
}"""


def write_page(explorer, folder: Path) -> Path:
    data = client.export(explorer)
    payload = {
        "spec": data["spec"],
        "index": [c["index"] for c in data["spec"]["controls"]],
        "esm": client.ESM.read_text(),
        **{k: base64.b64encode(data[k]).decode() for k in ("blob", "still", "overlay", "atlas")},
    }
    page = folder / f"{explorer.kind}.html"
    page.write_text(_PAGE.replace("DATA", json.dumps(payload).replace("</", "<\\/")))
    return page


def open_explorer(context, explorer, folder: Path | None = None):
    folder = Path(folder or tempfile.mkdtemp(prefix="fm-client-"))
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(write_page(explorer, folder).as_uri())
    try:
        page.wait_for_function("() => window.fmReady === true", timeout=15_000)
    except Exception as err:
        raise AssertionError(f"the page did not start: {errors}") from err
    page.fm_errors = errors
    return page


def show(page, control: int, index: int) -> None:
    """Show state ``index`` of control ``control`` (spec order), as the slider would."""
    page.evaluate(
        "([c, i]) => document.querySelector('.fm-client-root').fmClient.set(c, i)", [control, index]
    )


def composite(page) -> np.ndarray:
    w, h, b64 = page.evaluate(COMPOSITE_JS)
    return np.frombuffer(base64.b64decode(b64), np.uint8).reshape(h, w, 4)


def reference(explorer, state: dict) -> np.ndarray:
    explorer.render(state)
    explorer.figure.canvas.draw()
    return np.asarray(explorer.figure.canvas.buffer_rgba()).copy()


def _blur(a: np.ndarray) -> np.ndarray:
    """A 3 x 3 box blur of the RGB channels: anti-aliasing at a dot's edge averages out, a dot
    drawn elsewhere does not."""
    p = np.pad(a[..., :3].astype(float), ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = a.shape[:2]
    return sum(p[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9


def differs(a: np.ndarray, b: np.ndarray, level: int = 24) -> float:
    """Fraction of pixels whose blurred colour differs by more than ``level`` (of 255) in some
    channel."""
    return float((np.abs(_blur(a) - _blur(b)).max(-1) > level).mean())


def composite_png(page, path) -> None:
    """What a user sees (``composite``), saved as a PNG at the figure's size."""
    from PIL import Image

    Image.fromarray(composite(page), "RGBA").save(path)
