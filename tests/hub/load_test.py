"""A class arriving at once: N simulated students on one hub, on 127.0.0.1 only (`make load-test`).

    python tests/hub/load_test.py --students 40 --kernels 10 [--scenario]

Each student logs in (the deployment's authenticator, issued passwords), spawns a server, pulls
the students' release through the nbgitpuller link, edits a notebook; the teacher pushes a fix;
every student pulls again, and must keep the edit and get the fix. Then the first K students
start a kernel on 6.3 and run its opening cell and one light cell (the coupling plot). With
--scenario one more student runs 6.3, 6.4 and 6.5 to the end and then Exercise 6.2, keeping all
four kernels open (session 2 without shutting anything down).

Prints: time until all were ready, failures, memory of the hub (hub + proxy + culler), of each
server and of each kernel (resident set size; PSS for sums, which counts shared pages once).
Bounded: at most 60 students, a hard limit of 20 minutes, every process stopped at the end.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hub import Hub, git, make_upstream  # noqa: E402

NOTEBOOK = "notebooks/6_3_mathematical_foundations.ipynb"
FOLDER = "flow-matching"
MiB = 2**20


def mib(values) -> str:
    values = sorted(values)
    if not values:
        return "none"
    return (
        f"min {values[0] / MiB:.0f}, median {statistics.median(values) / MiB:.0f}, "
        f"max {values[-1] / MiB:.0f} MiB (n = {len(values)})"
    )


def tree_memory(proc: psutil.Process) -> tuple[int, int]:
    """(RSS, PSS) of a process and its children."""
    rss = pss = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            info = p.memory_full_info()
            rss, pss = rss + info.rss, pss + info.pss
        except psutil.Error:
            pass
    return rss, pss


def classify(hub: Hub) -> dict[str, list[psutil.Process]]:
    kinds: dict[str, list[psutil.Process]] = {"hub": [], "servers": [], "kernels": []}
    root = psutil.Process(hub.proc.pid)
    for p in [root, *root.children(recursive=True)]:
        try:
            cmd = " ".join(p.cmdline())
        except psutil.Error:
            continue
        if "ipykernel" in cmd:
            kinds["kernels"].append(p)
        elif "jupyterhub-singleuser" in cmd:
            kinds["servers"].append(p)
        else:
            kinds["hub"].append(p)  # the hub, the proxy, the idle culler
    return kinds


def memory_report(hub: Hub, label: str) -> dict:
    kinds = classify(hub)
    hub_rss = sum(p.memory_info().rss for p in kinds["hub"])
    server_rss = [p.memory_info().rss for p in kinds["servers"]]
    kernel_rss = [p.memory_info().rss for p in kinds["kernels"]]
    total_pss = sum(tree_memory(p)[1] for p in kinds["hub"][:1])
    print(f"[{label}] hub + proxy + culler: {hub_rss / MiB:.0f} MiB RSS")
    print(f"[{label}] servers (without kernels): {mib(server_rss)}")
    print(f"[{label}] kernels: {mib(kernel_rss)}")
    print(f"[{label}] everything the hub started: {total_pss / MiB:.0f} MiB PSS")
    return {"hub": hub_rss, "servers": server_rss, "kernels": kernel_rss, "pss": total_pss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--kernels", type=int, default=10)
    parser.add_argument("--scenario", action="store_true")
    parser.add_argument("--limit-s", type=int, default=1200, help="hard limit for the whole run")
    args = parser.parse_args(argv)
    n = min(args.students, 60)
    k = min(args.kernels, n, 12)
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("limit")))
    signal.alarm(args.limit_s)
    names = [f"s{i:02d}" for i in range(n)] + (["scenario"] if args.scenario else [])
    failures: list[str] = []
    start_all = time.monotonic()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}: {n} students, {k} with kernels, "
          f"{psutil.cpu_count()} cores, load {psutil.getloadavg()[0]:.1f}")  # fmt: skip
    import tempfile

    with (
        tempfile.TemporaryDirectory(prefix="fm-load-") as tmp,
        Hub(names, startup_timeout_s=180) as hub,
    ):
        upstream = make_upstream(Path(tmp))
        repo = (f"file://{upstream}", "student")
        students, ready_at = {}, {}
        lock = threading.Lock()
        t0 = time.monotonic()

        def arrive(name):
            try:
                s = hub.login(name)
                s.spawn(timeout_s=900, every_s=3)
                s.git_pull(*repo, targetpath=FOLDER, timeout_s=600)
                with lock:
                    students[name], ready_at[name] = s, time.monotonic() - t0
            except Exception as err:  # counted, not fatal: the figure is how many fail
                failures.append(f"{name} arrive: {type(err).__name__}: {err}"[:300])

        with ThreadPoolExecutor(n) as pool:
            list(pool.map(arrive, names[:n]))
        times = sorted(ready_at.values())
        print(f"ready: {len(times)} of {n}; first after {times[0]:.1f} s, median "
              f"{statistics.median(times):.1f} s, all after {times[-1]:.1f} s")  # fmt: skip
        memory_report(hub, "after the first pull")

        # every student edits 6.3; the teacher pushes a fix to another file; everyone pulls again
        marker = "my notes for the exam: {name}"

        def edit(name):
            s = students[name]
            path = f"/api/contents/{FOLDER}/{NOTEBOOK}"
            model = s.api("GET", path).json()
            model["content"]["cells"].insert(
                0, {"cell_type": "markdown", "metadata": {}, "id": "mine",
                    "source": marker.format(name=name)},
            )  # fmt: skip
            r = s.api("PUT", path, json={"type": "notebook", "content": model["content"]})
            if r.status_code != 200:
                failures.append(f"{name} edit: HTTP {r.status_code}")

        with ThreadPoolExecutor(n) as pool:
            list(pool.map(edit, students))
        (upstream / "notebooks" / "errata.md").write_text("# Errata\n\n- 6.3: a fix.\n")
        git("add", "-A", cwd=upstream)
        git("commit", "-q", "-m", "errata", cwd=upstream)
        t1 = time.monotonic()

        def pull_again(name):
            s = students[name]
            try:
                s.git_pull(*repo, targetpath=FOLDER, timeout_s=600)
                cells = s.api("GET", f"/api/contents/{FOLDER}/{NOTEBOOK}").json()["content"]
                if cells["cells"][0]["source"] != marker.format(name=name):
                    failures.append(f"{name}: the edit was lost on the second pull")
                r = s.api("GET", f"/api/contents/{FOLDER}/notebooks/errata.md")
                if r.status_code != 200:
                    failures.append(f"{name}: the fix did not arrive (HTTP {r.status_code})")
            except Exception as err:
                failures.append(f"{name} second pull: {type(err).__name__}: {err}"[:300])

        with ThreadPoolExecutor(n) as pool:
            list(pool.map(pull_again, students))
        print(f"second pull: all {len(students)} done after {time.monotonic() - t1:.1f} s")

        # kernels for the first k students: the opening cell and one light cell of 6.3
        def kernel(name):
            s = students[name]
            try:
                result = s.run_notebook(f"{FOLDER}/{NOTEBOOK}", cells=["cell-01", "cell-03"],
                                        keep_kernel=True)  # fmt: skip
                if result["errors"]:
                    failures.append(f"{name} kernel: {result['errors']}")
            except Exception as err:
                failures.append(f"{name} kernel: {type(err).__name__}: {err}"[:300])

        t2 = time.monotonic()
        with ThreadPoolExecutor(k) as pool:
            list(pool.map(kernel, list(students)[:k]))
        print(
            f"{k} kernels ran the opening cell and the coupling plot in {time.monotonic() - t2:.1f} s"
        )
        report = memory_report(hub, f"{k} kernels open")

        if args.scenario:
            s = hub.login("scenario")
            s.spawn(timeout_s=900, every_s=3)
            s.git_pull(*repo, targetpath=FOLDER, timeout_s=600)
            before = {p.pid for p in classify(hub)["kernels"]}
            for nb in [
                "notebooks/6_3_mathematical_foundations.ipynb",
                "notebooks/6_4_flow_matching_and_diffusion.ipynb",
                "notebooks/6_5_flow_matching_in_practice.ipynb",
                "exercises/exercise_6_2_design_a_flow_matching_model.ipynb",
            ]:
                result = s.run_notebook(f"{FOLDER}/{nb}", keep_kernel=True, timeout_s=900)
                mine = [p for p in classify(hub)["kernels"] if p.pid not in before]
                total = sum(p.memory_info().rss for p in mine)
                print(f"scenario: after {nb}: {len(mine)} kernels, {total / MiB:.0f} MiB "
                      f"({', '.join(f'{p.memory_info().rss / MiB:.0f}' for p in mine)}); "
                      f"errors {result['errors'][:1]}")  # fmt: skip
            server = next(p for p in classify(hub)["servers"] if "scenario" in " ".join(p.cmdline())
                          or p.environ().get("JUPYTERHUB_USER") == "scenario")  # fmt: skip
            print(f"scenario: server + kernels {tree_memory(server)[0] / MiB:.0f} MiB RSS")
        signal.alarm(0)
    print(f"failures: {len(failures)}")
    for f in failures:
        print(f"  {f}")
    print(f"whole run: {time.monotonic() - start_all:.0f} s; kernels RSS {mib(report['kernels'])}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
