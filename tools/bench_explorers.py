"""The explorers in a browser, before and after they were drawn in the page (README, "Explorers").

    python tools/bench_explorers.py [--seconds 4]

For the flow explorer of 6.1 (a 20 x 20 field, 1000 particles, 50 steps), a path comparison
(4 panels, 256 pairs, 64 paths, 50 frames), and the explorers of 6.3 and 6.5 as their notebooks
build them (posterior: 40 data points, 600 samples of p_t, x and y on a grid of 0.5, 20 steps of
t; solver: 2000 particles, 5 methods x 16 step counts; guidance: 500 samples, 2 classes x 25
values of w), in headless Chromium on a page opened from file:// (the renderer as the site and
JupyterLab run it, without their chrome):
  - frames painted per second during Play, with trails on, and the time one frame's drawing
    takes (trails on; what bounds the frame rate on a machine with a core to spare; the solver
    and guidance explorers have no Play);
  - slider step -> painted frame: from the key press to the end of the animation frame that
    shows the new state (median of 40 steps);
  - kernel CPU per slider step: the kernel shell's render + PNG encode (``frame_update_times``),
    against what the page costs it now: taking the page's report of its state (``index``) into
    ``explorer.state`` (no drawing), one report per step at most;
  - export: the kernel's CPU to compute every state once, when the explorer is shown;
  - page weight: what the page receives once (binary arrays and PNGs, base64 as stored in a
    site page) against ``animate()`` (to_jshtml, 26 frames) and ``frames()`` (a PNG grid).
Prints a table. Shared machines are noisy: read the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "browser")]

import client_harness as H  # noqa: E402
from lab import CHROMIUM_ARGS, chromium_path  # noqa: E402

import fmlib as fm  # noqa: E402
from fmlib import widgets as W  # noqa: E402
from fmlib.widgets import client  # noqa: E402

STEP_JS = """async (n) => {
    const root = document.querySelector('.fm-client-root');
    const slider = root.querySelector('input.fm-client-slider');
    slider.focus();
    const times = [];
    for (let i = 0; i < n; i++) {
        const key = i % 2 ? 'ArrowLeft' : 'ArrowRight';
        const t0 = performance.now();
        slider.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
        await new Promise((r) => requestAnimationFrame(() => r()));
        times.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 30));
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
}"""

DRAW_JS = """(n) => {
    const root = document.querySelector('.fm-client-root');
    root.fmClient.setTrails(true);
    const last = root.fmClient.index().length - 1;
    if (!root.querySelector('.fm-client-play')) {  // no t: the last control's values in turn
        const t0 = performance.now();
        for (let i = 0; i < n; i++) { root.fmClient.set(last, i % 12); }
        return (performance.now() - t0) / n;
    }
    const t0 = performance.now();
    for (let i = 0; i < n; i++) { root.fmClient.set(last, 10 + (i % 20)); }
    return (performance.now() - t0) / n;
}"""

PLAY_JS = """async (ms) => {
    const root = document.querySelector('.fm-client-root');
    if (!root.querySelector('.fm-client-play')) return null;  // no t axis, no Play
    root.fmClient.setTrails(true);
    root.fmClient.set(root.fmClient.index().length - 1, 0);
    const d0 = Number(root.dataset.draws), t0 = performance.now();
    root.fmClient.start();
    let frames = 0;
    await new Promise((resolve) => {
        const loop = () => { if (performance.now() - t0 > ms) return resolve();
            if (!root.fmClient.playing()) root.fmClient.start(); requestAnimationFrame(loop); };
        requestAnimationFrame(loop);
    });
    root.fmClient.stop();
    return 1000 * (Number(root.dataset.draws) - d0) / (performance.now() - t0);
}"""


def explorers():
    g = torch.Generator().manual_seed(0)
    x_0, x_1 = torch.randn(1000, 2, generator=g), fm.two_moons(256, g)

    def spin(x, t):
        return 2 * t * torch.stack([-x[:, 1], x[:, 0]], dim=1)

    from fmlib.models import VectorFieldMLP

    torch.manual_seed(0)
    guided = VectorFieldMLP(num_classes=2)  # the notebook's size, untrained: the same cost
    field = VectorFieldMLP()
    x_s = torch.randn(2000, 2, generator=g)
    return {  # name: (explorer, the control a slider step moves, its values)
        "flow (1000 particles)": (W.flow_explorer(spin, x_0), "t", [i / 50 for i in range(51)]),
        "paths (4 x 256)": (
            W.path_comparison(x_0[:256], x_1, t=0.0, max_lines=64),
            "t",
            [i / 50 for i in range(51)],
        ),
        "posterior (40 points)": (
            W.posterior_explorer(x_1[:40], x=(1.0, 0.5), t=0.5),
            "x",
            [i / 2 - 2.5 for i in range(11)],
        ),
        "solver (2000, 5 x 16)": (
            W.solver_explorer(field, x_s, max_steps=16),
            "steps",
            list(range(1, 17)),
        ),
        "guidance (500, 2 x 25)": (
            W.guidance_explorer(guided, class_names=["outer moon", "inner moon"]),
            "w",
            [i / 4 for i in range(25)],
        ),
    }


def report_cpu_ms(explorer, key: str, values: list) -> float:
    """Kernel CPU to take one report of the page's state (as the comm delivers ``index``)."""
    view = explorer.widget
    position = [k for k, _ in view.fm_values].index(key)
    index = list(view.index)
    start = time.process_time()
    for i in range(len(values)):
        index[position] = i
        view.index = list(index)
    return 1000 * (time.process_time() - start) / len(values)


def weight(explorer) -> dict:
    data = client.export(explorer)
    sent = sum(len(data[k]) for k in ("blob", "still", "overlay", "atlas"))
    jshtml = len(explorer.animate().data.encode())
    grid = len(fm.plotting.png_bytes(explorer.frames()))
    return {"client_kib": sent * 4 / 3 / 1024, "jshtml_kib": jshtml / 1024, "grid_kib": grid / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--only", nargs="*", help="explorers whose name contains one of these")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1100, "height": 700}, device_scale_factor=1)
        only = set(args.only or [])
        for name, (ex, key, values) in explorers().items():
            if only and not any(o in name for o in only):
                continue
            kernel = W.frame_update_times(ex, key, values)
            frame_kib = len(ex.snapshot()) * 4 / 3 / 1024  # a PNG frame, base64 on the comm
            start = time.process_time()
            page = H.open_explorer(ctx, ex, tempfile.mkdtemp())
            export_cpu = time.process_time() - start
            fps = page.evaluate(PLAY_JS, args.seconds * 1000)
            step = page.evaluate(STEP_JS, 40)
            draw = page.evaluate(DRAW_JS, 100)
            rows.append(
                {
                    "explorer": name,
                    "play_fps": fps,
                    "step_ms": step,
                    "draw_ms": draw,
                    "kernel_ms_before": 1000 * statistics.median(kernel),
                    "frame_kib_before": frame_kib,
                    "kernel_ms_after": report_cpu_ms(ex, key, values),
                    "export_s": export_cpu,
                    **weight(ex),
                    "errors": len(page.fm_errors),
                }
            )
        browser.close()
    keys = list(rows[0])
    print(" | ".join(keys))
    for r in rows:
        print(
            " | ".join(
                f"{v:.1f}" if isinstance(v, float) else "—" if v is None else str(v)
                for v in r.values()
            )
        )


if __name__ == "__main__":
    main()
