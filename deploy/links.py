"""nbgitpuller links: one click puts the course into a student's home on a hub and opens a notebook.

    python deploy/links.py --hub https://hub.example.edu --repo https://github.com/ORG/REPO --branch v0.5.0-student
    make links HUB=https://hub.example.edu REPO=https://github.com/ORG/REPO BRANCH=v0.5.0-student
    make links ... EDITION=zh   # the Chinese notebooks (zh/notebooks, zh/exercises)

Prints a Markdown list with a link per section notebook (and exercise), ready for a course page or
an LMS. The links pull the students' release (`make student-release`: the `student` branch, or a
tag on it), never the teacher's branch, which holds the solutions. The first click clones it into
~/flow-matching; later clicks pull the teacher's updates and keep each student's own edits
(nbgitpuller's merge rules; a cell both changed keeps the student's version, see TEACHING.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
STUDENT_BRANCH = "student"  # what tools/student_release.py --branch writes
FOLDER = "flow-matching"  # one folder name everywhere: links, the hub's default URL, collect.py


def link(hub: str, repo: str, branch: str, path: str, folder: str) -> str:
    """The nbgitpuller link that pulls ``repo@branch`` into ~/``folder`` and opens ``path`` in JupyterLab."""
    if not hub.startswith(("http://", "https://")):
        raise ValueError(f"hub must be the hub's URL, like https://hub.example.edu; got {hub!r}")
    query = urlencode(
        {
            "repo": repo,
            "branch": branch,
            "targetpath": folder,
            "urlpath": f"lab/tree/{folder}/{path}",
        }
    )
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def course_notebooks(root: Path = ROOT, lang: str = "en") -> list[str]:
    """The section notebooks, then the exercises, as paths in the students' release (which has the
    same notebooks/ and exercises/ as this repository, exercises regenerated); ``lang="zh"``: those
    of the Chinese edition, in zh/."""
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh'; got {lang!r}")
    base = root if lang == "en" else root / "zh"
    return [
        str(p.relative_to(root))
        for folder in ("notebooks", "exercises")
        for p in sorted((base / folder).glob("*.ipynb"))
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", required=True, help="the hub's URL, e.g. https://hub.example.edu")
    parser.add_argument("--repo", required=True, help="the course repository's clone URL")
    parser.add_argument(
        "--branch", default=STUDENT_BRANCH, help="the students' branch or, better, a tag on it"
    )
    parser.add_argument("--folder", default=FOLDER, help="folder in each student's home")
    parser.add_argument(
        "--lang", default="en", choices=("en", "zh"), help="zh: the Chinese notebooks (zh/)"
    )
    args = parser.parse_args(argv)
    if args.branch in ("main", "master"):
        parser.error("links must pull the students' release (make student-release), not main")
    for path in course_notebooks(lang=args.lang):
        print(f"- [{Path(path).stem}]({link(args.hub, args.repo, args.branch, path, args.folder)})")


if __name__ == "__main__":
    main()
