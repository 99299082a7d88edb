"""Run each notebook once per test module and let several tests inspect the same live page.

Bind the fixtures in a test module and mark each test with the notebook(s) it inspects::

    import notebook_runs as nr

    executed = nr.executed  # fixtures are found by name in the test module
    screenshot_on_failure = nr.screenshot_on_failure

    @nr.on_notebook("notebooks/6_1_cnf_to_flow_matching.ipynb")
    def test_something(executed):
        pic = nr.picture(executed, ".fm-flow-explorer")
        executed.page.slider_step(".fm-flow-explorer", "ArrowRight")
        nr.new_picture(executed, ".fm-flow-explorer", pic)

``executed`` is module-scoped and indirectly parametrized by the notebook's path (relative to the
server's root: ``notebooks/X.ipynb`` or ``fixtures/X.ipynb``). pytest groups the tests of one
module by that value (pytest >= 8 keys module-scoped params by value), so a notebook is opened
and run once, however many tests look at it, and its page and kernel are closed before the next
notebook starts: one kernel at a time. Tests of one notebook share the page, so each should leave
its explorer in a state the others do not depend on.
"""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path, PurePosixPath

import pytest
from lab import LabPage

REPO_ROOT = Path(__file__).resolve().parents[2]
EXECUTED = REPO_ROOT / "build" / "executed"

# A hang guard, not a budget: a notebook needs 30-60 s of CPU here (its closing cell checks that);
# its wall time in a test run is longer while the other worker runs another notebook beside it.
RUN_TIMEOUT_S = 480
OPEN_TIMEOUT_S = 120

# to_jshtml animations: the first frame is written by the animation's own script.
ANIMATION_IMG = "img[id^='_anim_img']"


@dataclasses.dataclass
class NotebookRun:
    """A notebook opened in JupyterLab and run top to bottom once; ``page`` is still live."""

    path: str  # relative to the server's root, e.g. "notebooks/6_1_cnf_to_flow_matching.ipynb"
    page: LabPage
    seconds: float  # wall time of "Run All Cells", open excluded
    run_error: str | None  # why run-all did not finish (timeout), or None
    errors_after_run: list[str]  # LabPage.errors() right after the run
    kept: Path | None = None  # build/executed/<path>, written by keep_executed

    @property
    def stem(self) -> str:
        return PurePosixPath(self.path).stem

    def shot_name(self, what: str) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.stem}-{what}")


def _id(path: str) -> str:
    return PurePosixPath(path).stem


def on_notebook(*paths: str):
    """Parametrize a test over notebooks, sharing one run per notebook within the module."""
    return pytest.mark.parametrize("executed", list(paths), indirect=True, ids=_id, scope="module")


@pytest.fixture(scope="module")
def executed(request, lab):
    """Open ``request.param`` in a fresh page, Run All Cells once, and yield a ``NotebookRun``."""
    path = request.param
    with lab.new_page() as page:
        page.open_notebook(path, timeout_s=OPEN_TIMEOUT_S)
        start = time.monotonic()
        run_error = None
        try:
            page.run_all(timeout_s=RUN_TIMEOUT_S)
        except TimeoutError as err:
            run_error = str(err)
        run = NotebookRun(path, page, time.monotonic() - start, run_error, page.errors())
        run.kept = keep_executed(run)
        yield run


# The notebook as the page holds it after Run All: cells, outputs and metadata (nbformat JSON).
_MODEL_JS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    return panel?.context?.model ? panel.context.model.toJSON() : null;
}"""


def keep_executed(run: NotebookRun) -> Path | None:
    """A section notebook that ran cleanly is written to ``build/executed/<path>`` with the outputs
    JupyterLab shows, as nbval's hook (the repository's ``conftest.py``) writes the notebooks it
    runs: the course site and the prose scan read them. A section notebook with a browser run is
    executed there only (the root ``conftest.py`` leaves it out of nbval's run)."""
    if not run.path.startswith("notebooks/") or run.run_error or run.errors_after_run:
        return None
    import nbformat

    data = run.page.page.evaluate(_MODEL_JS)
    if not data:
        return None
    ran = [c for c in data["cells"] if c["cell_type"] == "code"]
    nb = nbformat.read(REPO_ROOT / run.path, as_version=4)  # the source, outputs from the page
    code = [c for c in nb.cells if c.cell_type == "code"]
    if [c.source for c in code] != ["".join(c["source"]) for c in ran]:
        return None  # not the notebook of this checkout
    for number, (cell, page_cell) in enumerate(zip(code, ran, strict=True)):
        cell.outputs = [nbformat.from_dict(o) for o in page_cell.get("outputs", [])]
        cell.execution_count = number + 1
    state = _explorer_state(run)
    if state is not None:
        from fmlib.widgets.client import WIDGET_STATE

        nb.metadata["widgets"] = {WIDGET_STATE: state}
    target = EXECUTED / run.path
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


def kernel_print(run: NotebookRun, code: str, timeout_s: float = 30) -> str | None:
    """What ``code`` prints, run in the notebook's own kernel (a second client of it, as the
    explorers' state is asked for below); None when the kernel cannot be reached."""
    from jupyter_client import BlockingKernelClient

    server = run.page.server
    sessions = [s for s in server.api("GET", "/api/sessions") if s.get("path") == run.path]
    if len(sessions) != 1 or server._tmp is None:
        return None
    connection = Path(server._tmp.name) / "runtime" / f"kernel-{sessions[0]['kernel']['id']}.json"
    client = BlockingKernelClient(connection_file=str(connection))
    client.load_connection_file()
    client.start_channels()
    try:
        text = []
        reply = client.execute_interactive(
            code,
            timeout=timeout_s,
            allow_stdin=False,
            output_hook=lambda msg: (
                text.append(msg["content"].get("text", ""))
                if msg["msg_type"] == "stream" and msg["content"].get("name") == "stdout"
                else None
            ),
        )
        if reply["content"].get("status") != "ok":
            return None
    finally:
        client.stop_channels()
    return "".join(text)


def wait_kernel_state(run: NotebookRun, name: str, want: dict, timeout_s: float = 15) -> dict:
    """Poll ``name.state`` (an explorer in the notebook) until it holds ``want``; returns it."""
    import ast
    import time

    deadline, state = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        text = kernel_print(run, f"print(dict({name}.state))")
        state = ast.literal_eval(text.strip()) if text else None
        if state and all(state.get(k) == pytest.approx(v) for k, v in want.items()):
            return state
        time.sleep(0.5)
    raise AssertionError(f"{name}.state is {state}, expected {want}")


def _explorer_state(run: NotebookRun, timeout_s: float = 60) -> dict | None:
    """The state of the explorers drawn in the page, asked of the notebook's own kernel (as the
    repository's ``conftest.py`` asks nbval's), so that the site keeps them live."""
    try:
        from fmlib.widgets.client import STATE_CODE, parse_state
    except ImportError:  # no explorer is drawn in the page
        return None
    text = kernel_print(run, STATE_CODE, timeout_s)
    return None if text is None else parse_state(text)


@pytest.fixture(autouse=True)
def screenshot_on_failure(request):
    """A failing test that used ``executed`` leaves ``test-artifacts/FAILED-<test>.png``."""
    yield
    if "executed" not in request.fixturenames:
        return
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        run = request.getfixturevalue("executed")
        run.page.screenshot("FAILED-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name))


def check_runs_cleanly(run: NotebookRun) -> None:
    """Run All Cells finished with no error output, console error or page error; every explorer
    shows a picture at its drawn size and every to_jshtml animation its first frame. Each notebook's module calls
    this from its ``test_notebook_runs_in_browser``."""
    assert run.run_error is None, run.run_error
    assert run.errors_after_run == []
    if run.path.startswith("notebooks/"):
        assert run.kept is not None and run.kept.exists(), f"{run.path}: outputs not kept"
    page = run.page
    page.page.wait_for_function(
        """() => [...document.querySelectorAll('.fm-explorer')]
            .every(e => !!e.querySelector('img')?.getAttribute('src'))""",
        timeout=30_000,
    )
    images = page.page.locator(".fm-explorer img")
    for i in range(images.count()):
        box = images.nth(i).bounding_box()
        assert box is not None and box["height"] > 50, f"explorer picture {i} is not shown"
        # shown at its drawn size, never stretched; shrunk only where the page is narrower
        natural, shown, room = images.nth(i).evaluate(
            "img => [img.naturalWidth, img.getBoundingClientRect().width, "
            "img.parentElement.clientWidth]"
        )
        assert abs(shown - min(natural, room)) <= 1, f"explorer picture {i}: {natural, shown, room}"
        assert natural <= 840, f"explorer picture {i} is wider than JupyterLab shows: {natural}"
    wait_animations(run)
    page.screenshot(run.shot_name("window"))
    assert page.errors() == []


def require_run(run: NotebookRun) -> None:
    """Fail (rather than time out on a missing widget) when the notebook did not run cleanly."""
    if run.run_error is not None or run.errors_after_run:
        pytest.fail(f"{run.path} did not run cleanly: {run.run_error or run.errors_after_run}")


def wait_explorer(run: NotebookRun, selector: str, timeout_s: float = 30) -> str:
    """Wait until the explorer and its first picture are on the page; return the img src."""
    run.page.page.wait_for_selector(selector, state="attached", timeout=timeout_s * 1000)
    return run.page.wait_image_change(selector, None, timeout_s=timeout_s)


def readout(run: NotebookRun, selector: str) -> str:
    """The text of the first slider readout inside ``selector`` (e.g. "0.02"; ``aria-valuenow``
    has only one decimal)."""
    return run.page.page.locator(f"{selector} .widget-readout").first.inner_text().strip()


def wait_readout(run: NotebookRun, selector: str, text: str, timeout_s: float = 15) -> None:
    """Wait until the first slider readout inside ``selector`` reads ``text``."""
    run.page.page.wait_for_function(
        """([sel, text]) => (document.querySelector(sel)?.querySelector('.widget-readout')
            ?.textContent || '').trim() === text""",
        arg=[selector, text],
        timeout=timeout_s * 1000,
    )


def wait_readout_moved(run: NotebookRun, selector: str, start: str, timeout_s: float = 30) -> str:
    """Wait until the first slider readout inside ``selector`` reads other than ``start``."""
    run.page.page.wait_for_function(
        """([sel, start]) => {
            const r = document.querySelector(sel)?.querySelector('.widget-readout');
            return !!r && r.textContent.trim() !== '' && r.textContent.trim() !== start;
        }""",
        arg=[selector, start],
        timeout=timeout_s * 1000,
    )
    return readout(run, selector)


def wait_animations(run: NotebookRun, timeout_s: float = 30) -> int:
    """Wait until every to_jshtml animation shows a PNG frame; return how many there are."""
    run.page.page.wait_for_function(
        """(sel) => [...document.querySelectorAll(sel)]
            .every(img => (img.getAttribute('src') || '').startsWith('data:image/png'))""",
        arg=ANIMATION_IMG,
        timeout=timeout_s * 1000,
    )
    return run.page.page.locator(ANIMATION_IMG).count()


def play_through(run: NotebookRun, selector: str, start: str, end: str) -> Picture:
    """Press Play on the explorer whose t readout shows ``start``: a new frame must come from the
    kernel, t must move up, and Play must stop at ``end`` (its maximum). Returns the last frame,
    after the kernel has gone idle."""
    pic = picture(run, selector)
    assert readout(run, selector) == start
    run.page.press_play(selector)
    new_picture(run, selector, pic, timeout_s=30)
    assert float(wait_readout_moved(run, selector, start)) > float(start)
    wait_readout(run, selector, end, timeout_s=90)
    run.page.wait_idle(30)
    return picture(run, selector)


_DIGEST_JS = """async (sel) => {
    const img = document.querySelector(sel)?.querySelector('img');
    const src = img?.getAttribute('src');
    if (!src) return null;
    const bytes = await (await fetch(src)).arrayBuffer();
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return [src, Array.from(hash, b => b.toString(16).padStart(2, '0')).join('')];
}"""


@dataclasses.dataclass(frozen=True)
class Picture:
    """An explorer's current frame: the img ``src`` (a fresh blob URL per frame) and a SHA-256
    of the PNG bytes behind it (equal bytes, equal digest)."""

    src: str
    digest: str


def picture(run: NotebookRun, selector: str, timeout_s: float = 30) -> Picture:
    """The explorer's current frame, once it has one."""
    run.page.wait_image_change(selector, None, timeout_s=timeout_s)
    src, digest = run.page.page.evaluate(_DIGEST_JS, selector)
    return Picture(src, digest)


def new_picture(run: NotebookRun, selector: str, before: Picture, timeout_s: float = 30) -> Picture:
    """Wait for the kernel's next frame after ``before``; assert that its pixels differ.

    ipywidgets sends ``Image.value`` only when the bytes change (traitlets compares them), so a
    control whose render leaves the picture as it was shows up here as "no new frame"."""
    try:
        run.page.wait_image_change(selector, before.src, timeout_s=timeout_s)
    except Exception as err:  # playwright's TimeoutError
        raise AssertionError(
            f"{selector}: no new frame within {timeout_s} s of the control change "
            f"(kernel busy, render unchanged, or the change never reached the kernel); "
            f"errors: {run.page.errors()}"
        ) from err
    src, digest = run.page.page.evaluate(_DIGEST_JS, selector)
    assert digest != before.digest, f"{selector}: a new frame arrived but shows the same picture"
    return Picture(src, digest)


# -- explorers drawn in the page (fmlib/widgets/client.js): no kernel round trip per frame --------

_CANVAS_JS = """(sel) => {
    const root = document.querySelector(sel)?.querySelector('.fm-client-root');
    const canvas = root?.querySelector('canvas');
    if (!canvas || !canvas.width) return null;
    return [Number(root.dataset.state), Number(root.dataset.draws), canvas.toDataURL()];
}"""


def client_picture(run: NotebookRun, selector: str, timeout_s: float = 30) -> tuple:
    """(state shown, frames drawn so far, the canvas as a data URL) once the canvas has drawn."""
    run.page.page.wait_for_function(
        f"(sel) => ({_CANVAS_JS})(sel) !== null", arg=selector, timeout=timeout_s * 1000
    )
    return tuple(run.page.page.evaluate(_CANVAS_JS, selector))


def client_step(run: NotebookRun, selector: str, key: str) -> None:
    """Focus the explorer's t slider (a range input) and press ``key``."""
    slider = run.page.page.locator(f"{selector} input.fm-client-slider").first
    slider.focus()
    run.page.page.keyboard.press(key)


def client_play(run: NotebookRun, selector: str, end_state: int, timeout_s: float = 30) -> float:
    """Press the explorer's Play; wait until it has drawn ``end_state`` and stopped. Returns the
    frames drawn per second while it played (the page's own count over its own clock)."""
    page = run.page.page
    start = page.evaluate(
        """(sel) => { const r = document.querySelector(sel).querySelector('.fm-client-root');
            window.__fmPlay = [Number(r.dataset.draws), performance.now()];
            r.querySelector('.fm-client-play').click(); return Number(r.dataset.state); }""",
        selector,
    )
    page.wait_for_function(
        """([sel, end]) => { const r = document.querySelector(sel).querySelector('.fm-client-root');
            return Number(r.dataset.state) === end && !r.fmClient.playing(); }""",
        arg=[selector, end_state],
        timeout=timeout_s * 1000,
    )
    assert start != end_state
    return page.evaluate(
        """(sel) => { const r = document.querySelector(sel).querySelector('.fm-client-root');
            const [d, t] = window.__fmPlay;
            return 1000 * (Number(r.dataset.draws) - d) / (performance.now() - t); }""",
        selector,
    )
