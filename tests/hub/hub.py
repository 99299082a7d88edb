"""A real JupyterHub on 127.0.0.1 for tests: start it, log students in, pull the course, run notebooks.

Helpers only (no tests). The hub runs deploy/jupyterhub_config.py through tests/hub/
jupyterhub_test_config.py, with configurable-http-proxy from npm and the deployment's own
authenticator: every account has a password issued by deploy/issue_passwords.py. Every process it starts lives in
one process group and is stopped by ``Hub.stop()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import requests

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
CHP_LOCAL = REPO_ROOT / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"


def chp_path() -> str | None:
    """configurable-http-proxy: the copy `make setup` installs under .venv/node, else on PATH."""
    if CHP_LOCAL.exists():
        return str(CHP_LOCAL)
    return shutil.which("configurable-http-proxy")


def git(*args: str, cwd) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_upstream(base: Path) -> Path:
    """The teacher's course repository in ``base``, its `student` branch checked out: the students'
    release of this checkout (tools/student_release.py), as the links pull it."""
    sys.path.insert(0, str(REPO_ROOT / "tools"))
    import student_release

    path = base / "course.git"
    git("clone", "--quiet", "--no-hardlinks", str(REPO_ROOT), str(path), cwd=REPO_ROOT)
    tree = student_release.build(base / "student")
    problems = student_release.leaks(tree)
    assert not problems, problems
    student_release.commit(tree, "student", root=path)
    git("checkout", "--quiet", "--force", "student", cwd=path)
    git("clean", "-qfdx", cwd=path)
    git("config", "user.name", "Teacher", cwd=path)
    git("config", "user.email", "teacher@example.invalid", cwd=path)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, timeout_s: float, every_s: float = 0.25):
    """Poll ``check()`` until it returns something truthy; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


class Hub:
    """JupyterHub + proxy on 127.0.0.1 with the class-list authenticator and local processes."""

    def __init__(
        self,
        students: list[str],
        *,
        teacher: str = "teacher",
        env: dict[str, str] | None = None,
        startup_timeout_s: float = 180.0,
    ) -> None:
        self.students = students
        self.teacher = teacher
        self.extra_env = env or {}
        self.passwords: dict[str, str] = {}  # name -> the password the teacher handed out
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="fmlib-hub-")
        self.root = Path(self._tmp.name)
        self.homes = self.root / "homes"
        self.log_path = self.root / "hub.log"
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Hub:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        chp = chp_path()
        if chp is None:
            raise RuntimeError(
                "configurable-http-proxy not found: `make setup` installs it from npm under .venv/node"
            )
        state = self.root / "state"
        state.mkdir()
        self.homes.mkdir()
        # the teacher's preparation: a class list and a password for every account
        sys.path.insert(0, str(REPO_ROOT / "deploy"))
        import issue_passwords

        etc = self.root / "etc"
        etc.mkdir()
        (etc / "class.txt").write_text("".join(f"{name}\n" for name in self.students))
        self.passwords = issue_passwords.issue(
            [self.teacher, *self.students], etc / "passwords", etc / "slips.csv"
        )
        self.port = free_port()
        env = dict(os.environ)
        env.update(
            FM_DEPLOY_CONFIG=str(REPO_ROOT / "deploy" / "jupyterhub_config.py"),
            FM_HUB_PORT=str(self.port),
            FM_HUB_API_PORT=str(free_port()),
            FM_PROXY_API_PORT=str(free_port()),
            FM_CHP=chp,
            FM_CLASS_LIST=str(etc / "class.txt"),
            FM_PASSWORD_FILE=str(etc / "passwords"),
            FM_TEACHER=self.teacher,
            FM_HOMES=str(self.homes),
            FM_HUB_STATE=str(state),
            FM_HUB_URL=f"http://127.0.0.1:{self.port}",
        )
        # the hub finds jupyterhub-singleuser next to its own Python; node must be on PATH for chp
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update(self.extra_env)
        cmd = [
            sys.executable, "-m", "jupyterhub",
            "-f", str(HERE / "jupyterhub_test_config.py"),
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=state, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        try:
            wait_for(self._ready, f"the hub on {self.url}", self.startup_timeout_s)
        except TimeoutError as err:
            self.stop()
            raise RuntimeError(f"{err}\n{self.log_tail()}") from None

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"jupyterhub exited with {self.proc.returncode}\n{self.log_tail()}")
        try:
            return requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def log_tail(self, n: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self, timeout_s: float = 20) -> None:
        """Stop the hub, the proxy, every student's server and kernel, and remove the temp dir."""
        if self.proc is not None:
            procs = _descendants(self.proc.pid)
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout_s)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            for p in procs + _descendants(self.proc.pid):
                with contextlib.suppress(Exception):
                    p.kill()
        self._tmp.cleanup()

    def processes(self) -> list:
        """Every live process the hub started (proxy, servers, kernels)."""
        return [] if self.proc is None else _descendants(self.proc.pid)

    def login(self, name: str, password: str | None = None) -> Student:
        """Log in through the hub's login form, as a browser does; returns the student's session."""
        s = requests.Session()
        r = s.get(f"{self.url}/hub/login", timeout=120)
        r.raise_for_status()
        xsrf = s.cookies.get("_xsrf") or re.search(r'name="_xsrf" value="([^"]+)"', r.text).group(1)
        r = s.post(
            f"{self.url}/hub/login",
            data={"username": name, "password": password or self.passwords[name], "_xsrf": xsrf},
            allow_redirects=False,
            timeout=120,  # a browser waits this long too; forty logins at once take a while
        )
        if r.status_code != 302 or "jupyterhub-session-id" not in s.cookies:
            raise PermissionError(f"login as {name} refused: HTTP {r.status_code}")
        return Student(self, name, s)


class Student:
    """One logged-in student: a requests session holding the hub's cookies."""

    def __init__(self, hub: Hub, name: str, session: requests.Session) -> None:
        self.hub, self.name, self.session = hub, name, session

    @property
    def server(self) -> str:
        return f"{self.hub.url}/user/{self.name}"

    def hub_api(self, path: str) -> requests.Response:
        """GET the hub's REST API with the student's login cookie (e.g. /users/ada)."""
        xsrf = self.session.cookies.get("_xsrf", path="/hub/") or ""
        return self.session.get(
            f"{self.hub.url}/hub/api{path}", headers={"X-XSRFToken": xsrf}, timeout=30
        )

    def spawn(self, timeout_s: float = 300, every_s: float = 0.5) -> None:
        """Start the student's server (GET /hub/spawn), wait until the hub says it is ready (as
        the spawn page's progress bar does), then complete its OAuth hand-shake."""
        deadline = time.monotonic() + timeout_s

        def requested():
            r = self.session.get(f"{self.hub.url}/hub/spawn", timeout=timeout_s)
            return r.status_code != 429  # the hub's concurrent_spawn_limit: try again later

        wait_for(requested, f"{self.name}'s spawn to be accepted", timeout_s, every_s=5)

        def ready():
            r = self.hub_api(f"/users/{self.name}")
            server = r.json().get("servers", {}).get("") if r.status_code == 200 else None
            if server is None and r.status_code == 200 and not r.json().get("pending"):
                self.session.get(f"{self.hub.url}/hub/spawn", timeout=60)  # it failed: retry
            return bool(server and server.get("ready"))

        wait_for(ready, f"{self.name}'s server", max(1, deadline - time.monotonic()), every_s)

        def up():
            # a page load while the server is up runs the OAuth hand-shake and sets its cookie
            try:
                page = self.session.get(f"{self.server}/lab", timeout=60)
                if page.status_code != 200 or not page.url.startswith(self.server):
                    return False
                return self.api("GET", "/api/status").status_code == 200
            except requests.ConnectionError:  # the route is being added; try again
                return False

        wait_for(up, f"{self.name}'s server page", max(1, deadline - time.monotonic()), every_s)

    def _headers(self) -> dict:
        xsrf = self.session.cookies.get("_xsrf", path=f"/user/{self.name}/") or ""
        return {"X-XSRFToken": xsrf}

    def raw(self, method: str, path: str) -> tuple[int, str]:
        """Send ``path`` exactly as written (no client-side clean-up of ``..`` or ``%2F``).

        ``requests`` and browsers resolve ``/a/../b`` before sending, so such a request never
        tests the server; http.client sends the bytes it is given. Returns (status, body).
        """
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.hub.port, timeout=30)
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for key, value in {"Cookie": cookies, **self._headers()}.items():
                conn.putheader(key, value)
            conn.endheaders()
            r = conn.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            conn.close()

    def api(self, method: str, path: str, *, server: str | None = None, **kw) -> requests.Response:
        """A call to a single-user server's REST API (the student's own unless ``server`` names another)."""
        base = f"{self.hub.url}/user/{server or self.name}"
        return self.session.request(
            method, base + path, headers=self._headers(), allow_redirects=False, timeout=30, **kw
        )

    def git_pull(
        self, repo: str, branch: str, targetpath: str, timeout_s: float = 120
    ) -> list[dict]:
        """What an nbgitpuller link does: follow it through the hub, then sync through its event stream."""
        query = urlencode({"repo": repo, "branch": branch, "targetpath": targetpath})
        link = f"{self.hub.url}/hub/user-redirect/git-pull?{query}"
        page = self.session.get(link, timeout=30)
        if page.status_code != 200 or f"/user/{self.name}/git-pull" not in page.url:
            raise RuntimeError(f"the nbgitpuller link gave HTTP {page.status_code} at {page.url}")
        events = []
        with self.session.get(
            f"{self.server}/git-pull/api?{query}", stream=True, timeout=timeout_s
        ) as r:
            r.raise_for_status()
            for line in r.iter_lines(decode_unicode=True):
                if line and line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    if events[-1].get("phase") in ("finished", "error"):
                        break
        if not events or events[-1].get("phase") != "finished":
            raise RuntimeError(f"git pull for {self.name} did not finish: {events[-3:]}")
        return events

    def run_notebook(
        self,
        path: str,
        timeout_s: float = 600,
        *,
        cells: list[str] | None = None,
        keep_kernel: bool = False,
    ) -> dict:
        """Execute every code cell of ``path`` (or those with the ids ``cells``) in a new kernel of
        the student's server; the kernel is shut down after unless ``keep_kernel``.

        Returns {'outputs': text of every cell, 'errors': [...], 'first_kernel_s': seconds from
        the request to the kernel's first reply}.
        """
        return asyncio.run(self._run(path, timeout_s, cells, keep_kernel))

    async def _run(self, path: str, timeout_s: float, only=None, keep=False) -> dict:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        nb = self.api("GET", f"/api/contents/{path}").json()["content"]
        start = time.monotonic()
        r = self.api(
            "POST",
            "/api/sessions",
            json={"path": path, "type": "notebook", "kernel": {"name": "python3"}},
        )
        r.raise_for_status()
        kernel_id = r.json()["kernel"]["id"]
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)
        ws_url = self.server.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
        request = HTTPRequest(ws_url, headers={"Cookie": cookies, **self._headers()})
        ws = await websocket_connect(request)
        result = {"outputs": [], "errors": [], "first_kernel_s": None}
        try:
            await asyncio.wait_for(self._execute(ws, "pass", result), timeout=120)
            result["first_kernel_s"] = time.monotonic() - start
            result["outputs"].clear()
            cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
            if only is not None:
                cells = [c for c in cells if c.get("id") in only]

            async def run_cells():
                for cell in cells:
                    await self._execute(ws, cell["source"], result)
                    if result["errors"]:
                        return

            await asyncio.wait_for(run_cells(), timeout=timeout_s)
        finally:
            ws.close()
            if not keep:
                self.api("DELETE", f"/api/kernels/{kernel_id}")
        return result

    @staticmethod
    async def _execute(ws, code: str, result: dict) -> None:
        msg_id = uuid.uuid4().hex
        ws.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "test",
                        "session": uuid.uuid4().hex,
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "buffers": [],
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )  # fmt: skip
        )
        while True:
            raw = await ws.read_message()
            if raw is None:
                raise ConnectionError("the kernel's WebSocket closed")
            if not isinstance(raw, str):
                continue  # binary frames carry widget buffers
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                result["outputs"].append(content["text"])
            elif kind in ("execute_result", "display_data"):
                result["outputs"].append(content["data"].get("text/plain", ""))
            elif kind == "error":
                result["errors"].append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                return


def _descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
