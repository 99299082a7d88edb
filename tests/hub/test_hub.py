"""A real JupyterHub serving a class of three, on 127.0.0.1 (issue: serving a class).

The hub runs deploy/jupyterhub_config.py (with a test authenticator and local-process spawner
swapped in), configurable-http-proxy from npm, and nbgitpuller in each student's server. Three
students log in, pull the course from this repository through an nbgitpuller link, and run a section
notebook concurrently; what must not happen is checked too. Every process is stopped at the end.
"""

from __future__ import annotations

import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hub import REPO_ROOT, Hub, chp_path

pytestmark = pytest.mark.hub

STUDENTS = ["ada", "ben", "chen"]
NOTEBOOK = "notebooks/6_3_mathematical_foundations.ipynb"  # the lightest section notebook
COURSE = "course"  # the folder nbgitpuller makes in each home


def git(*args: str, cwd) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> Path:
    """The teacher's course repository: a clone of this checkout's committed state."""
    path = tmp_path_factory.mktemp("upstream") / "course.git"
    git("clone", "--quiet", "--no-hardlinks", str(REPO_ROOT), str(path), cwd=REPO_ROOT)
    git("config", "user.name", "Teacher", cwd=path)
    git("config", "user.email", "teacher@example.invalid", cwd=path)
    return path


@pytest.fixture(scope="module")
def repo(upstream) -> tuple[str, str]:
    """The repository and branch as an nbgitpuller link names them."""
    return f"file://{upstream}", git("rev-parse", "--abbrev-ref", "HEAD", cwd=upstream)


@pytest.fixture(scope="module")
def hub():
    if chp_path() is None:
        pytest.fail("configurable-http-proxy is missing: `make setup` installs it from npm")
    with Hub(STUDENTS) as h:
        yield h
        leftover = h.processes()
    # nothing the hub started survives it
    assert not [p for p in leftover if p.is_running() and p.status() != "zombie"]


@pytest.fixture(scope="module")
def class_of_three(hub, repo):
    """Log in, spawn and pull the course for each student (in parallel, as a class does)."""
    timings = {}

    def arrive(name):
        start = time.monotonic()
        student = hub.login(name)
        student.spawn()
        student.git_pull(*repo, targetpath=COURSE)
        timings[name] = time.monotonic() - start
        return student

    with ThreadPoolExecutor(len(STUDENTS)) as pool:
        students = list(pool.map(arrive, STUDENTS))
    print(f"\nlogin + spawn + pull: {', '.join(f'{k} {v:.1f} s' for k, v in timings.items())}")
    return {s.name: s for s in students}


def test_wrong_password_is_refused(hub):
    with pytest.raises(PermissionError):
        hub.login("ada", password="not-the-password")


def test_each_home_holds_the_course(class_of_three):
    for student in class_of_three.values():
        r = student.api("GET", f"/api/contents/{COURSE}/notebooks")
        assert r.status_code == 200, r.text
        names = {item["name"] for item in r.json()["content"]}
        assert NOTEBOOK.split("/")[-1] in names


def test_three_students_run_a_section_notebook_concurrently(class_of_three):
    path = f"{COURSE}/{NOTEBOOK}"
    with ThreadPoolExecutor(len(class_of_three)) as pool:
        results = dict(
            zip(
                class_of_three,
                pool.map(lambda s: s.run_notebook(path), class_of_three.values()),
                strict=True,
            )
        )
    for name, result in results.items():
        assert not result["errors"], f"{name}: {result['errors']}"
        text = "".join(result["outputs"])
        closing = re.search(r"peak kernel memory (\d+) MiB", text)
        assert closing, f"{name}: the closing cell's report is missing"
        print(
            f"{name}: first kernel reply after {result['first_kernel_s']:.1f} s; "
            f"kernel peak memory {closing.group(1)} MiB"
        )


def test_a_student_cannot_reach_another_students_server(class_of_three):
    ada = class_of_three["ada"]
    for method, path in [("GET", "/api/contents"), ("POST", "/api/kernels")]:
        r = ada.api(method, path, server="ben")
        assert r.status_code in (403, 404), f"ada reached ben's {path}: HTTP {r.status_code}"
    # a page goes through the hub's OAuth, which refuses her
    r = ada.session.get(f"{ada.hub.url}/user/ben/lab", timeout=30)
    assert r.status_code == 403, f"ada reached ben's JupyterLab: HTTP {r.status_code} at {r.url}"


def test_a_student_cannot_reach_another_students_files_from_her_own_server(class_of_three):
    ada = class_of_three["ada"]
    for path in ["/api/contents/../ben", f"/api/contents/..%2Fben/{COURSE}"]:
        r = ada.api("GET", path)
        assert r.status_code in (400, 403, 404), f"{path}: HTTP {r.status_code}"


def test_no_kernel_without_logging_in(hub, class_of_three):
    import requests

    anonymous = requests.Session()
    r = anonymous.post(f"{hub.url}/user/ada/api/kernels", allow_redirects=False, timeout=10)
    assert r.status_code in (302, 403), f"HTTP {r.status_code}"
    if r.status_code == 302:
        assert "/hub/" in r.headers["location"]  # sent to log in, not given a kernel
    r = anonymous.get(f"{hub.url}/hub/api/users", timeout=10)
    assert r.status_code == 403


def test_a_second_pull_brings_the_teachers_fix_and_keeps_the_students_edits(
    class_of_three, repo, upstream
):
    chen = class_of_three["chen"]
    path = f"/api/contents/{COURSE}/{NOTEBOOK}"
    model = chen.api("GET", path).json()
    marker = "my notes: the marginal field averages the conditional ones"
    model["content"]["cells"].insert(
        0, {"cell_type": "markdown", "metadata": {}, "source": marker, "id": "chen-notes"}
    )
    r = chen.api("PUT", path, json={"type": "notebook", "content": model["content"]})
    assert r.status_code == 200, r.text
    # meanwhile the teacher fixes a typo in another file and pushes it
    fix = "Erratum: see the teacher's note.\n"
    with open(upstream / "README.md", "a") as f:
        f.write(fix)
    git("commit", "--quiet", "-am", "README: erratum", cwd=upstream)

    chen.git_pull(*repo, targetpath=COURSE)
    cells = chen.api("GET", path).json()["content"]["cells"]
    assert cells[0]["source"] == marker  # her notes are kept
    readme = chen.api("GET", f"/api/contents/{COURSE}/README.md").json()["content"]
    assert readme.endswith(fix)  # and the teacher's fix arrived
