"""Controls the section notebooks' tests do not move, in a real JupyterLab: ``fixtures/explorers.ipynb``.

path_comparison (drawn in the page: its t slider and Play redraw the canvas with no kernel
round trip, and the kernel's ``paths_view.state`` follows what the page shows) and the layout of a Play button and a probe toggle beside their labels. The solver and guidance explorers
are driven inside notebook 6.5 (``test_notebook_6_5.py``). The fixture notebook is run once for all
these tests (see ``notebook_runs.py``).
"""

from __future__ import annotations

import notebook_runs as nr
from lab import ARTIFACTS_DIR

# The fixtures, by name: one run per notebook (module scope); a screenshot when a test fails.
executed = nr.executed
screenshot_on_failure = nr.screenshot_on_failure

FIXTURE = "fixtures/explorers.ipynb"

PATHS = ".fm-explorer.fm-path-comparison"
HUTCHINSON = ".fm-explorer.fm-hutchinson-explorer"


@nr.on_notebook(FIXTURE)
def test_fixture_notebook_runs(executed):
    """The fixture notebook runs without error outputs, console errors or page errors."""
    assert executed.run_error is None, executed.run_error
    assert executed.errors_after_run == []
    for selector in (PATHS, HUTCHINSON):
        nr.wait_explorer(executed, selector)
    executed.page.screenshot(executed.shot_name("window"))


@nr.on_notebook(FIXTURE)
def test_path_comparison_t_slider_and_play_in_the_page(executed):
    """Moving t (keyboard; starts at 0.5 on a grid of 20 frames) redraws the four panels in the
    page; Play runs to t = 1 by itself, one picture per animation frame; the kernel stays idle."""
    run = executed
    nr.require_run(run)
    page = run.page
    state, _, pic = nr.client_picture(run, PATHS)
    assert nr.readout(run, PATHS) == "0.50" and state == 10
    nr.client_step(run, PATHS, "ArrowRight")
    nr.wait_readout(run, PATHS, "0.55")
    state, _, new = nr.client_picture(run, PATHS)
    assert state == 11 and new != pic
    # the kernel learns it: the explorer's state follows the page's slider (the index trait)
    nr.wait_kernel_state(run, "paths_view", {"t": 0.55})
    nr.client_step(run, PATHS, "Home")
    nr.wait_readout(run, PATHS, "0.00")
    assert nr.client_picture(run, PATHS)[2] not in (pic, new)
    fps = nr.client_play(run, PATHS, end_state=20)
    assert fps > 15, fps  # the kernel shell's Play ticks at 10 per second
    (ARTIFACTS_DIR / "explorers-play-fps.txt").write_text(f"{fps:.1f}\n")  # README, benchmark
    nr.wait_readout(run, PATHS, "1.00")
    nr.wait_kernel_state(run, "paths_view", {"t": 1.0})  # where Play stopped
    page.wait_idle(15)  # a report is a small message: the kernel is idle again at once
    page.screenshot(run.shot_name("path-comparison"), PATHS)
    assert page.errors() == []


_LAYOUT_JS = """(sel) => {
    const root = document.querySelector(sel);
    const box = (el) => el && el.getBoundingClientRect().toJSON();
    const img = root.querySelector('img');
    const labels = [...root.querySelectorAll('.widget-label')];
    const label = (text) => box(labels.find(l => l.textContent.trim() === text && l.offsetWidth));
    return {
        img: {natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
              room: img.parentElement.clientWidth},
        play: box(root.querySelector('.widget-play') || root.querySelector('.fm-client-play')),
        playLabel: label('play') || box([...root.querySelectorAll('.fm-client-controls span')]
            .find(l => l.textContent.trim() === 'play')),
        track: box(root.querySelector('.noUi-target') || root.querySelector('.fm-client-slider')),
        probe: box(root.querySelector('.widget-toggle-buttons .widget-toggle-button')),
        probeLabel: label('probe'),
    };
}"""


def beside(label: dict, control: dict) -> bool:
    """The label ends left of the control and its middle is level with the control's."""
    middle = label["y"] + label["height"] / 2
    return label["x"] + label["width"] <= control["x"] + 1 and (
        control["y"] <= middle <= control["y"] + control["height"]
    )


@nr.on_notebook(FIXTURE)
def test_explorer_layout_figures_at_drawn_size_long_slider_labels_beside(executed):
    """Figures shown at their drawn size, a t slider long enough to drag, Play and probe labelled
    on the same line as their controls (issue #7, part 4)."""
    run = executed
    nr.require_run(run)
    page = run.page.page
    for selector in (PATHS, HUTCHINSON):
        nr.wait_explorer(run, selector)
        img = page.evaluate(_LAYOUT_JS, selector)["img"]
        # drawn size, never stretched; shrunk only where the page is narrower than the figure
        assert img["natural"] > 0, (selector, img)
        assert abs(img["shown"] - min(img["natural"], img["room"])) <= 1, (selector, img)
        assert img["natural"] <= 840, f"{selector}: wider than a 1280 px JupyterLab shows: {img}"
    paths = page.evaluate(_LAYOUT_JS, PATHS)
    assert paths["track"]["width"] >= 300, paths["track"]
    assert paths["playLabel"] is not None and beside(paths["playLabel"], paths["play"]), paths
    hutchinson = page.evaluate(_LAYOUT_JS, HUTCHINSON)
    assert hutchinson["probeLabel"] is not None, hutchinson
    assert beside(hutchinson["probeLabel"], hutchinson["probe"]), hutchinson
    run.page.screenshot(run.shot_name("hutchinson-explorer"), HUTCHINSON)
    run.page.screenshot(run.shot_name("path-comparison-layout"), PATHS)
