"""Drive JupyterLab in a real Chromium: a throw-away server and a Playwright page wrapper.

Helpers only (no tests). Used by ``tests/browser/conftest.py``; can also be used by hand::

    from tests.browser.lab import Lab
    with Lab("notebooks") as lab, lab.new_page() as page:
        page.open_notebook("6_1_intro.ipynb")
        page.run_all()
        print(page.errors())

Environment: ``FMLIB_CHROMIUM`` overrides the browser: unset -> ``shutil.which("chromium")``;
a path -> that executable; ``none`` (or ``0``, ``off``, empty) -> behave as if none were found.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlparse

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# JupyterLab user settings written for every server: no news toast over the corner, every cell kept
# in the DOM, and no autosave (tests must never write back to the notebooks they open).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}

# matplotlib's to_jshtml links a font stylesheet from a CDN; offline (and with outside requests
# aborted) that one load fails, harmlessly. Only that error is filtered from `LabPage.errors()`.
_KNOWN_HARMLESS = re.compile(r"font-awesome.*\.css")

_NO_CHROMIUM = {"", "0", "none", "off", "false", "no"}


def chromium_path() -> str | None:
    """The Chromium executable to drive, honouring ``FMLIB_CHROMIUM``; None when there is none."""
    env = os.environ.get("FMLIB_CHROMIUM")
    if env is None:
        return shutil.which("chromium")
    if env.strip().lower() in _NO_CHROMIUM:
        return None
    path = shutil.which(env) or env
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def unavailable_reason() -> str | None:
    """Why browser tests cannot run here (a message for ``pytest.skip``), or None when they can."""
    env = os.environ.get("FMLIB_CHROMIUM")
    if chromium_path() is None:
        if env is not None and env.strip().lower() in _NO_CHROMIUM:
            return f"browser tests skipped: FMLIB_CHROMIUM={env!r} turns the browser off"
        if env is not None:
            return f"browser tests skipped: FMLIB_CHROMIUM={env!r} is no executable chromium"
        return "browser tests skipped: no chromium found on PATH (apt-get install chromium)"
    for module, hint in [
        ("playwright.sync_api", "pip install playwright; never `playwright install`"),
        ("jupyterlab", "pip install -e '.[notebooks]'"),
        ("ipywidgets", "pip install -e '.[notebooks]'"),
    ]:
        try:
            __import__(module)
        except ImportError:
            return f"browser tests skipped: {module.split('.')[0]} is not installed ({hint})"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLabServer:
    """A JupyterLab server on 127.0.0.1 serving ``root_dir``, with all Jupyter state in a temp dir.

    Use as a context manager; ``stop()`` shuts kernels down too (POST /api/shutdown, then SIGTERM
    and SIGKILL of the server's process group and of every process it started).
    """

    def __init__(self, root_dir: str | os.PathLike, *, startup_timeout_s: float = 60.0) -> None:
        self.root_dir = Path(root_dir).resolve()
        self.startup_timeout_s = startup_timeout_s
        self.token = secrets.token_hex(16)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> JupyterLabServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if not self.root_dir.is_dir():
            raise FileNotFoundError(f"root_dir {self.root_dir} is not a folder")
        self._tmp = tempfile.TemporaryDirectory(prefix="fmlib-lab-")
        tmp = Path(self._tmp.name)
        settings = tmp / "settings"
        for rel, value in LAB_SETTINGS.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        env = dict(os.environ)
        for var, sub in [
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("MPLCONFIGDIR", "mpl"),
            ("IPYTHONDIR", "ipython"),
        ]:
            (tmp / sub).mkdir()
            env[var] = str(tmp / sub)
        env.pop("MPLBACKEND", None)  # kernels inherit it and would then show no inline images
        env.setdefault("OMP_NUM_THREADS", "1")
        self.log_path = tmp / "server.log"
        last_error: Exception | None = None
        for _attempt in range(3):  # a port picked by free_port() can be taken before we bind it
            self.port = free_port()
            cmd = [
                sys.executable, "-m", "jupyter", "lab",
                "--no-browser", "--allow-root",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root_dir}",
                f"--LabApp.user_settings_dir={settings}",
                f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",
                "--LabApp.expose_app_in_browser=True",
            ]  # fmt: skip
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    cmd, cwd=self.root_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )  # fmt: skip
            try:
                self._wait_ready()
                return
            except RuntimeError as err:
                last_error = err
                self._kill()
        self._cleanup_tmp()
        raise RuntimeError(f"JupyterLab did not start: {last_error}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout_s=2)
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError(f"no answer on {self.url}/api/status\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        """The last ``n`` lines of the server's log."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def api(self, method: str, path: str, body: dict | None = None, timeout_s: float = 10):
        """Call the server's REST API with the token; returns decoded JSON (or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def kernels(self) -> list[dict]:
        """The kernels the server is running."""
        return self.api("GET", "/api/kernels")

    def shutdown_kernels(self, timeout_s: float = 10) -> None:
        """Delete every session and kernel (notebooks opened by a test keep theirs otherwise)."""
        for session in self.api("GET", "/api/sessions"):
            with contextlib.suppress(urllib.error.HTTPError):
                self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.kernels():
            with contextlib.suppress(urllib.error.HTTPError):
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
        deadline = time.monotonic() + timeout_s
        while self.kernels() and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop(self, timeout_s: float = 15) -> None:
        if self.proc is None:
            return
        children = self._descendants()  # kernels live in their own process groups
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api("POST", "/api/shutdown", timeout_s=5)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout_s)
        self._kill(children)
        self._cleanup_tmp()

    def _descendants(self) -> list:
        try:
            import psutil

            return psutil.Process(self.proc.pid).children(recursive=True)
        except Exception:  # psutil missing or the server already gone
            return []

    def _kill(self, children: list | None = None) -> None:
        if children is None:
            children = self._descendants()
        if self.proc.poll() is None:
            for sig, wait in [(signal.SIGTERM, 5), (signal.SIGKILL, 5)]:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, sig)
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        with contextlib.suppress(ProcessLookupError, OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # leftovers in the server's group
        for child in children:
            with contextlib.suppress(Exception):
                child.kill()

    def _cleanup_tmp(self) -> None:
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()
            self._tmp = None


class LabPage:
    """A Playwright page on a JupyterLab server, with notebook- and widget-level steps."""

    def __init__(self, page, server: JupyterLabServer) -> None:
        self.page = page
        self.server = server
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(f"pageerror: {exc}"))

    def _on_console(self, msg) -> None:
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        if _KNOWN_HARMLESS.search(where) or _KNOWN_HARMLESS.search(msg.text):
            return
        self.console_errors.append(f"console: {msg.text} ({where})" if where else msg.text)

    # -- notebook level -------------------------------------------------------------------------

    def open_notebook(self, relpath: str, timeout_s: float = 60) -> None:
        """Open ``relpath`` (relative to the server's root) and wait for an idle kernel."""
        url = f"{self.server.url}/lab/tree/{quote(relpath)}?token={self.server.token}&reset"
        self.page.goto(url, timeout=timeout_s * 1000)
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_s * 1000)
        self.wait_idle(timeout_s)

    def status_text(self) -> str:
        return self.page.inner_text("#jp-main-statusbar")

    def wait_idle(self, timeout_s: float = 60) -> None:
        """Wait until the status bar says the kernel is idle (the toolbar says so too early)."""
        self.page.wait_for_function(
            "() => (document.querySelector('#jp-main-statusbar')?.textContent || '')"
            ".includes('| Idle')",
            timeout=timeout_s * 1000,
        )

    def run_all(self, timeout_s: float = 120) -> None:
        """Run all cells; return when every non-empty code cell has a fresh ``[n]:`` prompt and
        the kernel is idle, or as soon as an error output shows (then see ``errors()``)."""
        before = self.page.evaluate(f"() => {{ {_PROMPTS_JS} return Math.max(0, ...counts()); }}")
        self.page.evaluate(
            "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        )
        done = f"""(before) => {{
            {_PROMPTS_JS}
            const bar = document.querySelector('#jp-main-statusbar')?.textContent || '';
            if (!bar.includes('| Idle')) return false;
            if (({_ERRORS_JS})().length) return true;
            return counts().every(n => n > before);
        }}"""
        try:
            self.page.wait_for_function(done, arg=before, timeout=timeout_s * 1000)
        except Exception as err:
            prompts = self.page.eval_on_selector_all(
                ".jp-CodeCell .jp-InputArea-prompt", "els => els.map(e => e.textContent)"
            )
            raise TimeoutError(
                f"run-all not done after {timeout_s} s; prompts {prompts}; "
                f"status bar {self.status_text()!r}; errors {self.errors()}"
            ) from err

    def errors(self) -> list[str]:
        """Error outputs of the open notebooks, then console errors and uncaught page errors.

        JupyterLab 4.6 renders an error output as ``application/vnd.jupyter.stderr``, so errors
        are read from the notebook models; ``vnd.jupyter.error`` elements are counted as well.
        """
        outputs = self.page.evaluate(_ERRORS_JS)
        outputs += self.page.eval_on_selector_all(
            '[data-mime-type="application/vnd.jupyter.error"]', "els => els.map(e => e.innerText)"
        )
        return [f"output: {text}" for text in outputs] + self.console_errors + self.page_errors

    # -- widget level ---------------------------------------------------------------------------

    def image_src(self, css_selector: str) -> str | None:
        """The ``src`` of the first ``img`` inside the element."""
        return self.page.locator(f"{css_selector} img").first.get_attribute("src")

    def wait_image_change(self, css_selector: str, old: str | None, timeout_s: float = 15) -> str:
        """Wait until the element's ``img`` has a ``src`` other than ``old``; return it."""
        self.page.wait_for_function(
            """([sel, old]) => {
                const src = document.querySelector(sel)?.querySelector('img')?.getAttribute('src');
                return !!src && src !== old;
            }""",
            arg=[css_selector, old],
            timeout=timeout_s * 1000,
        )
        return self.image_src(css_selector)

    def slider_value(self, css_selector: str) -> float:
        """``aria-valuenow`` of the first slider handle inside the element."""
        handle = self.page.locator(f"{css_selector} .noUi-handle").first
        return float(handle.get_attribute("aria-valuenow"))

    def wait_slider_value(self, css_selector: str, value: float, timeout_s: float = 15) -> None:
        """Wait until the first slider handle inside the element has ``aria-valuenow == value``
        (noUiSlider writes it with one decimal, "10.0", so compare numbers, not text)."""
        self.page.wait_for_function(
            """([sel, value]) => Number(document.querySelector(sel)
                ?.querySelector('.noUi-handle')?.getAttribute('aria-valuenow')) === value""",
            arg=[css_selector, value],
            timeout=timeout_s * 1000,
        )

    def slider_step(self, css_selector: str, key: str = "ArrowRight", times: int = 1) -> None:
        """Focus the first slider handle inside the element and press ``key`` ``times`` times."""
        handle = self.page.locator(f"{css_selector} .noUi-handle").first
        handle.focus()
        for _ in range(times):
            self.page.keyboard.press(key)

    def press_play(self, css_selector: str) -> None:
        """Click play/pause, the first button of the Play widget inside the element."""
        self.page.locator(f"{css_selector} .widget-play button").first.click()

    def screenshot(self, name: str, css_selector: str | None = None) -> Path:
        """Save a PNG of the window (or of one element) as ``test-artifacts/<name>.png``."""
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS_DIR / (name if name.endswith(".png") else f"{name}.png")
        if css_selector is not None:
            self.page.locator(css_selector).first.screenshot(path=str(path))
            return path
        with contextlib.suppress(Exception):  # a busy kernel must not cost us the picture
            self.wait_idle(10)
            self.page.wait_for_timeout(500)
            self.wait_idle(10)
        self.page.mouse.move(0, 0)
        self.page.wait_for_timeout(500)
        self.page.screenshot(path=str(path))
        return path


# "<notebook> cell <i>: <ename>: <evalue>" for every error output in the open notebooks' models.
_ERRORS_JS = """() => {
    const out = [];
    for (const panel of Array.from(window.jupyterapp?.shell.widgets('main') || [])) {
        (panel.content?.widgets || []).forEach((cell, i) => {
            if (cell.model?.type !== 'code') return;
            const outputs = cell.model.outputs;
            for (let j = 0; j < outputs.length; j++) {
                const o = outputs.get(j).toJSON();
                if (o.output_type === 'error')
                    out.push(`${panel.title.label} cell ${i}: ${o.ename}: ${o.evalue}`);
            }
        });
    }
    return out;
}"""

# Execution counts of the non-empty code cells (an empty cell never gets a number).
_PROMPTS_JS = """
const counts = () => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
    .filter(c => (c.querySelector('.cm-content')?.textContent || '').trim() !== '')
    .map(c => {
        const m = /\\[(\\d+)\\]/.exec(c.querySelector('.jp-InputArea-prompt')?.textContent || '');
        return m ? Number(m[1]) : -1;
    });
"""


class Lab:
    """A JupyterLab server plus a headless Chromium; ``new_page()`` gives isolated pages."""

    def __init__(self, root_dir: str | os.PathLike, *, chromium: str | None = None) -> None:
        self.server = JupyterLabServer(root_dir)
        self.chromium = chromium or chromium_path()
        self.blocked: list[str] = []  # outside URLs the pages tried to load
        self._stack = contextlib.ExitStack()
        self.browser = None

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> Lab:
        from playwright.sync_api import sync_playwright

        if self.chromium is None:
            raise RuntimeError(unavailable_reason() or "no chromium")
        try:
            self._stack.enter_context(self.server)
            playwright = self._stack.enter_context(sync_playwright())
            self.browser = playwright.chromium.launch(
                executable_path=self.chromium, headless=True, args=CHROMIUM_ARGS
            )
            self._stack.callback(self.browser.close)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _route(self, route) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    @contextlib.contextmanager
    def new_page(self, width: int = 1280, height: int = 900) -> Iterator[LabPage]:
        """A fresh browser context and page; closed afterwards, with every kernel shut down."""
        context = self.browser.new_context(viewport={"width": width, "height": height})
        context.route("**/*", self._route)
        try:
            yield LabPage(context.new_page(), self.server)
        finally:
            context.close()
            self.server.shutdown_kernels()
