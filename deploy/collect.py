"""Collect students' exercise notebooks into nbgrader's course folder, and return their feedback.

Students' homes are private (one system user each), so nbgrader's exchange folder, which needs a
directory every student can write to, is not used: the teacher (root on the hub machine) copies
each student's file at the deadline, with the file's own modification time as nbgrader's
timestamp, straight into nbgrader's `submitted/` layout.

    # at the deadline (e.g. from a systemd timer or `at 09:00`), as root:
    sudo python3 deploy/collect.py collect --course /srv/nbgrader/fm --assignment ps63 \\
        --notebook exercises/6_3_mathematical_foundations.ipynb --deadline 2026-12-10T09:00:00+01:00
    # then, as the grader (see deploy/nbgrader_config.py):
    cd /srv/nbgrader/fm && nbgrader autograde ps63 && nbgrader generate_feedback ps63
    # and back into each student's home, as flow-matching/feedback/ps63/<notebook>.html:
    sudo python3 deploy/collect.py return --course /srv/nbgrader/fm --assignment ps63

Homes are found with --homes (default `/var/lib/{username}`: SystemdSpawner's dynamic users),
the course folder inside each with --folder (default `flow-matching`, what deploy/links.py pulls
into), the students from the class list. Files changed after the deadline are still collected,
with their real time, so nbgrader's late-submission policy applies; the report names them.
Students without the file are reported and get no submission folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
from pathlib import Path

CLASS_LIST = Path("/etc/jupyterhub/class.txt")
HOMES = "/var/lib/{username}"
FOLDER = "flow-matching"
TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f %Z"  # how nbgrader itself writes timestamp.txt


def students(class_list: Path) -> list[str]:
    return [n for line in class_list.read_text().splitlines() if (n := line.split("#")[0].strip())]


def collect(
    names: list[str],
    *,
    homes: str,
    folder: str,
    notebook: str,
    course: Path,
    assignment: str,
    deadline: dt.datetime,
) -> dict[str, list[str]]:
    """Copy each student's ``notebook`` into course/submitted/<name>/<assignment>/.

    Returns {'on_time': [...], 'late': [...], 'missing': [...]}.
    """
    report: dict[str, list[str]] = {"on_time": [], "late": [], "missing": []}
    for name in names:
        source = Path(homes.format(username=name)) / folder / notebook
        if not source.is_file():
            report["missing"].append(name)
            continue
        target = course / "submitted" / name / assignment
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / source.name)  # the copy keeps the student's mtime
        mtime = dt.datetime.fromtimestamp(source.stat().st_mtime, dt.timezone.utc)
        (target / "timestamp.txt").write_text(mtime.strftime(TIMESTAMP))
        report["late" if mtime > deadline else "on_time"].append(name)
    return report


def give_back(
    names: list[str], *, homes: str, folder: str, course: Path, assignment: str
) -> list[str]:
    """Copy course/feedback/<name>/<assignment>/*.html into each home, owned by the student."""
    returned = []
    for name in names:
        source = course / "feedback" / name / assignment
        home = Path(homes.format(username=name))
        if not source.is_dir() or not home.is_dir():
            continue
        target = home / folder / "feedback" / assignment
        target.mkdir(parents=True, exist_ok=True)
        owner = home.stat()
        for html in sorted(source.glob("*.html")):
            shutil.copy2(html, target / html.name)
        for path in [home / folder / "feedback", target, *target.iterdir()]:
            os.chown(path, owner.st_uid, owner.st_gid)  # the student can read and delete them
        returned.append(name)
    return returned


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("collect", "return"):
        p = sub.add_parser(command)
        p.add_argument("--course", type=Path, required=True, help="nbgrader's course folder")
        p.add_argument("--assignment", required=True)
        p.add_argument("--class-list", type=Path, default=CLASS_LIST)
        p.add_argument("--homes", default=HOMES, help="a student's home, with {username}")
        p.add_argument("--folder", default=FOLDER, help="the course folder in each home")
        if command == "collect":
            p.add_argument("--notebook", required=True, help="path inside the course folder")
            p.add_argument("--deadline", type=dt.datetime.fromisoformat, required=True)
    args = parser.parse_args(argv)
    names = students(args.class_list)
    common = dict(homes=args.homes, folder=args.folder, course=args.course)
    if args.command == "collect":
        deadline = args.deadline
        if deadline.tzinfo is None:
            deadline = deadline.astimezone()  # the hub machine's local time
        report = collect(
            names, notebook=args.notebook, assignment=args.assignment, deadline=deadline, **common
        )
        for kind, who in report.items():
            print(f"{kind}: {len(who)} {' '.join(who)}")
    else:
        returned = give_back(names, assignment=args.assignment, **common)
        print(f"feedback returned to {len(returned)} of {len(names)}: {' '.join(returned)}")


if __name__ == "__main__":
    main()
