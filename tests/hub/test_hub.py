"""A real JupyterHub serving a class of three, on 127.0.0.1.

The hub runs deploy/jupyterhub_config.py with its own authenticator (a class list and passwords
issued by deploy/issue_passwords.py; only the spawner is swapped for local processes),
configurable-http-proxy from npm, and nbgitpuller in each student's server. Three students log in,
pull the students' release (tools/student_release.py) through an nbgitpuller link, and run a
section notebook concurrently; what must not happen is checked too: claiming the teacher's or a
classmate's name, reaching a classmate's files, losing edits or a fix on a pull. A second hub
shows the idle culler and the kernel culler at work. Every process is stopped at the end.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hub import Hub, chp_path, git, make_upstream, wait_for

pytestmark = pytest.mark.hub

STUDENTS = ["ada", "ben", "chen"]
LATE = "dana"  # on the class list, but logs in only after a classmate tried her name
NOTEBOOK = "notebooks/6_3_mathematical_foundations.ipynb"  # the lightest section notebook
COURSE = "flow-matching"  # the folder deploy/links.py pulls into


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> Path:
    """The teacher's course repository with the students' release on its `student` branch."""
    return make_upstream(tmp_path_factory.mktemp("upstream"))


@pytest.fixture(scope="module")
def repo(upstream) -> tuple[str, str]:
    """The repository and branch as an nbgitpuller link names them."""
    return f"file://{upstream}", "student"


@pytest.fixture(scope="module")
def hub():
    if chp_path() is None:
        pytest.fail("configurable-http-proxy is missing: `make setup` installs it from npm")
    with Hub([*STUDENTS, LATE]) as h:
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


def test_nobody_claims_the_teachers_name_by_logging_in_first(hub):
    # the teacher has not logged in yet; a student tries the admin's name with her own password
    # and with a new one (with first-use passwords the second would make her an admin)
    for password in [hub.passwords["ada"], "a-brand-new-password"]:
        with pytest.raises(PermissionError, match="login as teacher refused"):
            hub.login("teacher", password=password)
    ada = hub.login("ada")
    assert ada.session.get(f"{hub.url}/hub/api/users", timeout=10).status_code == 403
    teacher = hub.login("teacher")  # the issued password still works: the name was not taken
    r = teacher.session.get(
        f"{hub.url}/hub/api/users", headers={"Referer": f"{hub.url}/hub/"}, timeout=10
    )
    assert r.status_code == 200 and {u["name"]: u["admin"] for u in r.json()}["teacher"]


def test_nobody_claims_a_classmates_name_or_an_unlisted_one(hub):
    for password in [hub.passwords["ben"], "dana-is-me-now"]:
        with pytest.raises(PermissionError, match=f"login as {LATE} refused"):
            hub.login(LATE, password=password)
    with pytest.raises(PermissionError):
        hub.login("mallory", password="anything")  # not on the class list
    dana = hub.login(LATE)  # the real owner is not locked out
    assert dana.name == LATE
    assert "refused login as 'dana'" in hub.log_tail(400)  # the teacher sees the attempts


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


RAW_ESCAPES = [
    # (the path sent byte for byte, what it tries, whether her contents API itself answers)
    (f"/user/ada/api/contents/..%2Fben%2F{COURSE}", "climbing out of her home", True),
    ("/user/ada/api/contents/..%2F..%2Fetc%2Fpasswd", "climbing to the system's files", True),
    ("/user/ada/api/contents/../../ben", "unencoded dots (her server's router refuses)", False),
    (f"/user/ada/api/contents/%2E%2E/ben/{COURSE}", "encoded dots", False),
    ("/user/ada/api/contents//etc/passwd", "an absolute path", False),
]


def test_a_student_cannot_reach_another_students_files_from_her_own_server(class_of_three, hub):
    ada = class_of_three["ada"]
    assert ada.api("GET", f"/api/contents/{COURSE}").status_code == 200
    for path, what, reaches_contents_api in RAW_ESCAPES:
        status, body = ada.raw("GET", path)
        assert status in (400, 403, 404), f"{what}: {path} gave HTTP {status}: {body[:200]}"
        assert "6_3_mathematical_foundations" not in body and "root:" not in body
        if reaches_contents_api:  # the request reached the contents API, which refused it
            # (the contents API's own words; her server logs the 404 after it has answered, so
            # its log line is not a reliable witness at this moment)
            assert "is outside root contents directory" in body, body[:200]


def test_a_raw_path_to_another_students_server_reaches_it_and_is_refused(class_of_three, hub):
    ada = class_of_three["ada"]
    for path in ["/user/ada/../ben/api/contents", "/user/ada/%2E%2E/ben/api/contents"]:
        status, body = ada.raw("GET", path)
        assert status == 403, f"{path}: HTTP {status}: {body[:200]}"
        assert COURSE not in body
    # the proxy resolved the dots and delivered it to ben's server, whose contents API said no
    assert "403 GET /user/ben/api/contents (@127.0.0.1)" in hub.log_tail(3000)


def _edit_cell(student, path: str, cell_id: str, new_source: str) -> None:
    model = student.api("GET", f"/api/contents/{path}").json()
    (cell,) = [c for c in model["content"]["cells"] if c.get("id") == cell_id]
    cell["source"] = new_source
    r = student.api("PUT", f"/api/contents/{path}", json={"type": "notebook", **model})
    assert r.status_code == 200, r.text


def _cell(student, path: str, cell_id: str) -> str:
    cells = student.api("GET", f"/api/contents/{path}").json()["content"]["cells"]
    return next(c["source"] for c in cells if c.get("id") == cell_id)


def test_a_fix_to_a_cell_the_student_edited_keeps_hers_and_a_rename_brings_the_fix(
    class_of_three, repo, upstream
):
    """nbgitpuller merges with the student's side winning: a teacher's fix to a cell she edited
    never arrives, silently. What arrives: a new file, and the whole notebook once she has renamed
    her copy (the announced reset TEACHING.md describes)."""
    import nbformat

    ben, ada = class_of_three["ben"], class_of_three["ada"]
    path = f"{COURSE}/{NOTEBOOK}"
    nb = nbformat.read(upstream / NOTEBOOK, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown" and len(c.source) > 80)
    mine = cell.source + "\n\nMy note: the posterior weights sum to one."
    _edit_cell(ben, path, cell.id, mine)
    # the teacher fixes the same lines of that cell, and ships an erratum as a new file too
    fixed = cell.source + "\n\n(Corrected: the posterior is over training points.)"
    cell.source = fixed
    nbformat.write(nb, upstream / NOTEBOOK)
    (upstream / "notebooks" / "errata.md").write_text("# Errata\n\n- 6.3: corrected.\n")
    git("add", "-A", cwd=upstream)
    git("commit", "--quiet", "-m", "6.3: a fix", cwd=upstream)

    ben.git_pull(*repo, targetpath=COURSE)
    assert _cell(ben, path, cell.id) == mine  # his edit is kept; the fix did not arrive
    errata = ben.api("GET", f"/api/contents/{COURSE}/notebooks/errata.md").json()
    assert "6.3: corrected" in errata["content"]  # a new file always arrives
    ada.git_pull(*repo, targetpath=COURSE)
    assert _cell(ada, path, cell.id) == fixed  # a student who did not edit that cell gets it

    # the announced reset: rename your copy, click the link again
    kept = path.replace(".ipynb", "-mine.ipynb")
    r = ben.api("PATCH", f"/api/contents/{path}", json={"path": kept})
    assert r.status_code == 200, r.text
    ben.git_pull(*repo, targetpath=COURSE)
    assert _cell(ben, path, cell.id) == fixed
    assert _cell(ben, kept, cell.id) == mine


@pytest.fixture(scope="module")
def culling_hub():
    """A second hub with the deployment's cullers on short clocks: kernels after 3 s idle,
    servers after 20 s."""
    with Hub(["erin"], env={"FM_CULL_S": "20", "FM_KERNEL_CULL_S": "3"}) as h:
        yield h


def test_idle_kernels_and_then_idle_servers_are_culled(culling_hub):
    hub = culling_hub
    erin = hub.login("erin")
    erin.spawn()
    r = erin.api("POST", "/api/kernels", json={"name": "python3"})
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    # the server's own kernel culler shuts the idle kernel down, and says so in its log
    wait_for(
        lambda: re.search(
            rf"Culling '\w+' kernel 'python3' \({kernel}\) with \d+ connections due to \d+ "
            "seconds of inactivity", hub.log_tail(3000),
        ),
        "the idle kernel to be culled", 120, every_s=1,
    )  # fmt: skip
    # then the hub's idle-culler service, with its role's scopes, stops the idle server
    teacher = hub.login("teacher")

    def stopped():
        r = teacher.session.get(f"{hub.url}/hub/api/users/erin", timeout=10)
        return r.status_code == 200 and not r.json()["servers"]

    wait_for(stopped, "the idle server to be culled", 90, every_s=1)
    log = hub.log_tail(3000)
    assert re.search(r"Culling server erin \(inactive for", log), log[-3000:]
    assert "403" not in "".join(line for line in log.splitlines() if "idle-culler" in line)
